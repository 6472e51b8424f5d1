package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// message is one Anthropic message; roles are user and assistant only.
type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is a content block of a request message. A block built from a
// client's signed thinking block is sent as the client wrote it.
type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Source    *imageSource    `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   string          `json:"content,omitempty"`

	raw json.RawMessage
}

// MarshalJSON writes a passed-through block verbatim: its signature only
// verifies on the exact content.
func (b block) MarshalJSON() ([]byte, error) {
	if b.raw != nil {
		return b.raw, nil
	}
	type plain block
	return json.Marshal(plain(b))
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// convertMessages turns the chat history into Anthropic messages: system
// and developer messages leave it (they become the top-level system),
// tool results become user messages, consecutive messages of one role are
// merged, and tool results lead the user message they are in.
func convertMessages(chat *translate.ChatRequest) ([]message, *providers.Error) {
	signed := signedThinking(chat.Raw["messages"], len(chat.Messages))
	var out []message
	add := func(role string, blocks []block) {
		if len(blocks) == 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			return
		}
		out = append(out, message{Role: role, Content: blocks})
	}
	for i, m := range chat.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "user":
			blocks, perr := userBlocks(m, param)
			if perr != nil {
				return nil, perr
			}
			add("user", blocks)
		case "assistant":
			blocks, perr := assistantBlocks(m, signed[i], param)
			if perr != nil {
				return nil, perr
			}
			add("assistant", blocks)
		case "tool":
			if m.ToolCallID == "" {
				return nil, translate.Invalid(param+".tool_call_id", "a tool message needs tool_call_id")
			}
			add("user", []block{{Type: "tool_result", ToolUseID: toolID(m.ToolCallID), Content: m.Text}})
		}
	}
	for _, m := range out {
		if m.Role == "user" {
			resultsFirst(m.Content)
		}
	}
	return out, nil
}

// userBlocks converts a user message's content; empty texts are skipped,
// as Anthropic refuses empty text blocks.
func userBlocks(m translate.Message, param string) ([]block, *providers.Error) {
	if m.Parts == nil {
		if m.Text == "" {
			return nil, nil
		}
		return []block{{Type: "text", Text: m.Text}}, nil
	}
	blocks := make([]block, 0, len(m.Parts))
	for j, p := range m.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				blocks = append(blocks, block{Type: "text", Text: p.Text})
			}
		case "image_url":
			src, ok := imageFrom(p)
			if !ok {
				return nil, translate.Invalid(fmt.Sprintf("%s.content[%d].image_url.url", param, j),
					"an image must be a base64 data: URL or an http(s) URL")
			}
			blocks = append(blocks, block{Type: "image", Source: src})
		}
	}
	return blocks, nil
}

func imageFrom(p translate.Part) (*imageSource, bool) {
	if mediaType, data, ok := p.ImageData(); ok {
		return &imageSource{Type: "base64", MediaType: mediaType, Data: data}, true
	}
	if strings.HasPrefix(p.ImageURL, "https://") || strings.HasPrefix(p.ImageURL, "http://") {
		return &imageSource{Type: "url", URL: p.ImageURL}, true
	}
	return nil, false
}

// assistantBlocks converts an assistant message: its signed thinking
// blocks, its text, then one tool_use block per tool call.
func assistantBlocks(m translate.Message, signed []json.RawMessage, param string) ([]block, *providers.Error) {
	blocks := make([]block, 0, len(signed)+1+len(m.ToolCalls))
	for _, raw := range signed {
		blocks = append(blocks, block{raw: raw})
	}
	if m.Text != "" {
		blocks = append(blocks, block{Type: "text", Text: m.Text})
	}
	for j, tc := range m.ToolCalls {
		input, err := toolInput(tc.Function.Arguments)
		if err != nil {
			return nil, translate.Invalid(fmt.Sprintf("%s.tool_calls[%d].function.arguments", param, j),
				"tool call arguments must be a JSON object: "+err.Error())
		}
		blocks = append(blocks, block{Type: "tool_use", ID: toolID(tc.ID), Name: tc.Function.Name, Input: input})
	}
	return blocks, nil
}

// toolInput parses a tool call's arguments into the object Anthropic wants
// as input; no arguments at all are an empty object.
func toolInput(args string) (json.RawMessage, error) {
	args = strings.TrimSpace(args)
	if args == "" {
		return json.RawMessage("{}"), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(args)); err != nil {
		return nil, err
	}
	if buf.Bytes()[0] != '{' {
		return nil, fmt.Errorf("got %.20s", buf.String())
	}
	return buf.Bytes(), nil
}

// toolID makes a client's tool-call id acceptable to Anthropic, which
// allows only letters, digits, _ and - (ids from other providers may
// hold dots or colons). The same id always maps to the same result, so
// tool_use and tool_result stay linked.
func toolID(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, id)
}

// resultsFirst moves tool_result blocks to the front, keeping order
// otherwise: Anthropic wants them before any other content.
func resultsFirst(blocks []block) {
	var results, others []block
	for _, b := range blocks {
		if b.Type == "tool_result" {
			results = append(results, b)
		} else {
			others = append(others, b)
		}
	}
	if len(results) == 0 || len(others) == 0 {
		return
	}
	copy(blocks, results)
	copy(blocks[len(results):], others)
}

// signedThinking reads the `thinking_blocks` that some clients keep on
// assistant messages (LiteLLM's extension of OpenAI's format): Anthropic
// thinking blocks with their signatures, which alone let reasoning go back
// upstream. Plain reasoning_content has no signature and is not sent.
// The result has one entry per message.
func signedThinking(messages json.RawMessage, n int) [][]json.RawMessage {
	out := make([][]json.RawMessage, n)
	if !bytes.Contains(messages, []byte(`"thinking_blocks"`)) {
		return out
	}
	var raw []struct {
		ThinkingBlocks []json.RawMessage `json:"thinking_blocks"`
	}
	if json.Unmarshal(messages, &raw) != nil || len(raw) != n {
		return out
	}
	for i, m := range raw {
		for _, b := range m.ThinkingBlocks {
			var head struct {
				Type      string `json:"type"`
				Signature string `json:"signature"`
				Data      string `json:"data"`
			}
			if json.Unmarshal(b, &head) != nil {
				continue
			}
			if (head.Type == "thinking" && head.Signature != "") || (head.Type == "redacted_thinking" && head.Data != "") {
				var buf bytes.Buffer
				if json.Compact(&buf, b) == nil {
					out[i] = append(out[i], buf.Bytes())
				}
			}
		}
	}
	return out
}

// openToolTurn reports whether the history ends inside a tool-use turn
// whose thinking block is missing: the last assistant message called
// tools and does not start with a thinking block.
func openToolTurn(messages []message) bool {
	for i := len(messages) - 1; i >= 0; i-- {
		m := messages[i]
		if m.Role != "assistant" {
			continue
		}
		if m.Content[0].raw != nil {
			return false
		}
		for _, b := range m.Content {
			if b.Type == "tool_use" {
				return true
			}
		}
		return false
	}
	return false
}
