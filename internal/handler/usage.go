package handler

import (
	"bytes"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// usage is the token count of one answer.
type usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		// Parts of PromptTokens, priced apart.
		CachedTokens     int `json:"cached_tokens"`
		CacheWriteTokens int `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
	known bool
}

// parseUsage reads a usage object as json.Unmarshal would, without
// reflection for the shapes upstreams send: every stream ends with one.
func parseUsage(raw []byte) usage {
	c, ok := inbound.ParseChatUsage(raw)
	u := usage{PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens, TotalTokens: c.TotalTokens, known: ok}
	u.PromptTokensDetails.CachedTokens, u.PromptTokensDetails.CacheWriteTokens = c.CachedTokens, c.CacheWriteTokens
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
