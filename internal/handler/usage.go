package handler

import (
	"bytes"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// usage is the token count of one answer; known is false when the answer
// reported none the gateway could read.
type usage struct {
	inbound.ChatUsage
	known bool
}

// parseUsage reads a usage object as json.Unmarshal would, without
// reflection for the shapes upstreams send: every stream ends with one.
func parseUsage(raw []byte) usage {
	c, ok := inbound.ParseChatUsage(raw)
	u := usage{ChatUsage: c, known: ok}
	if u.known && u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	return u
}

var usageKey = []byte(`"usage"`)

// usageFromTail finds the top-level usage object in the tail of a JSON
// body. A `"usage"` that is followed by a colon can only be a key: inside a
// string its quotes would be escaped.
func usageFromTail(tail []byte) usage {
	for end := len(tail); end > 0; {
		i := bytes.LastIndex(tail[:end], usageKey)
		if i < 0 {
			break
		}
		end = i
		rest := bytes.TrimLeft(tail[i+len(usageKey):], " \t\r\n")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		valStart := len(tail) - len(rest) + 1
		valEnd, err := jsonscan.Skip(tail, valStart)
		if err != nil {
			continue
		}
		if u := parseUsage(tail[valStart:valEnd]); u.known {
			return u
		}
	}
	return usage{}
}
