package messages

import (
	"encoding/json"
	"fmt"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// request is the body of POST /v1/messages, as far as a translated
// request reads it. Fields it does not name are dropped on the way to a
// chat request: `cache_control` on blocks and tools (chat has no cache
// breakpoints; providers that cache do it on their own), `service_tier`,
// `context_management` (Anthropic's server-side editing of the history,
// which no chat API does), `container` and `mcp_servers` (Anthropic runs
// them).
type request struct {
	Model string `json:"model"`
	// MaxTokens is required, as Anthropic requires it.
	MaxTokens     *int64          `json:"max_tokens"`
	System        json.RawMessage `json:"system"`
	Messages      []message       `json:"messages"`
	Tools         []tool          `json:"tools"`
	ToolChoice    *toolChoice     `json:"tool_choice"`
	StopSequences []string        `json:"stop_sequences"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	TopK          *int            `json:"top_k"`
	Thinking      *thinking       `json:"thinking"`
	OutputConfig  *outputConfig   `json:"output_config"`
	Metadata      *struct {
		UserID string `json:"user_id"`
	} `json:"metadata"`
	Stream bool `json:"stream"`
}

// message is one turn: user or assistant, or a system message in the
// middle of the history, which Claude Code sends.
type message struct {
	Role string `json:"role"`
	// Content is a string or an array of blocks.
	Content json.RawMessage `json:"content"`
}

// block is a content block of any type the translation reads.
type block struct {
	Type   string       `json:"type"`
	Text   string       `json:"text"`
	Source *imageSource `json:"source"`
	// ID, Name and Input are a tool_use block's.
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
	// ToolUseID and Content are a tool_result block's; its content is a
	// string or an array of text and image blocks.
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
	URL       string `json:"url"`
}

type tool struct {
	// Type is empty or "custom" for a tool the client runs; Anthropic's
	// own tools (web_search_20250305, bash_20250124, …) have a dated type
	// and no input_schema.
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens"`
}

// outputConfig is Anthropic's `output_config`: a structured answer's
// schema and the effort the model spends.
type outputConfig struct {
	Format *struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema"`
	} `json:"format"`
	Effort string `json:"effort"`
}

// blocks reads content that is a string (one text block) or an array of
// blocks.
func blocks(content json.RawMessage) ([]block, error) {
	if len(content) > 0 && content[0] == '"' {
		text, ok := jsonscan.String(content)
		if !ok {
			if err := json.Unmarshal(content, &text); err != nil {
				return nil, err
			}
		}
		return []block{{Type: "text", Text: text}}, nil
	}
	var out []block
	if err := json.Unmarshal(content, &out); err != nil {
		return nil, fmt.Errorf("content must be a string or an array of content blocks")
	}
	return out, nil
}
