package translate

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Usage is OpenAI's usage object. Providers fill what they know; the
// totals are computed.
type Usage struct {
	PromptTokens            int                `json:"prompt_tokens"`
	CompletionTokens        int                `json:"completion_tokens"`
	TotalTokens             int                `json:"total_tokens"`
	PromptTokensDetails     *PromptDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionDetails `json:"completion_tokens_details,omitempty"`
}

// PromptDetails breaks prompt tokens down.
type PromptDetails struct {
	CachedTokens int `json:"cached_tokens"`
	// CacheWriteTokens is OpenAI's name for the prompt tokens written to
	// the provider's cache, which cost more than the others.
	CacheWriteTokens int `json:"cache_write_tokens,omitempty"`
}

// CompletionDetails breaks completion tokens down.
type CompletionDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

func (u Usage) withTotal() *Usage {
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return &u
}

// ToolCall is a complete tool call of a non-streamed answer.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // JSON text
}

// Choice is one choice of a non-streamed answer.
type Choice struct {
	// Text is the answer's text; with no text and tool calls, the
	// message's content is null.
	Text             string
	ReasoningContent string
	ToolCalls        []ToolCall
	FinishReason     string
}

// Answer identifies one answer: the same id, model and creation time go
// into the non-streamed body or into every chunk of the stream.
type Answer struct {
	ID      string
	Model   string
	Created int64
}

// NewAnswer starts an answer for the model the client asked for.
func NewAnswer(model string) Answer {
	return Answer{ID: NewID("chatcmpl-"), Model: model, Created: time.Now().Unix()}
}

// NewID returns prefix followed by 24 random hex digits.
func NewID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

type completion struct {
	ID      string      `json:"id"`
	Object  string      `json:"object"`
	Created int64       `json:"created"`
	Model   string      `json:"model"`
	Choices []choiceOut `json:"choices"`
	Usage   *Usage      `json:"usage"`
}

type choiceOut struct {
	Index        int        `json:"index"`
	Message      messageOut `json:"message"`
	Logprobs     *struct{}  `json:"logprobs"`
	FinishReason string     `json:"finish_reason"`
}

// messageOut always has content and refusal, null when empty, as
// OpenAI's schema requires.
type messageOut struct {
	Role             string        `json:"role"`
	Content          *string       `json:"content"`
	Refusal          *string       `json:"refusal"`
	ReasoningContent string        `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCallOut `json:"tool_calls,omitempty"`
}

type toolCallOut struct {
	ID       string      `json:"id"`
	Type     string      `json:"type"`
	Function functionOut `json:"function"`
}

type functionOut struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Completion writes a non-streamed `chat.completion` body.
func (a Answer) Completion(choices []Choice, usage Usage) []byte {
	out := completion{ID: a.ID, Object: "chat.completion", Created: a.Created, Model: a.Model,
		Choices: make([]choiceOut, len(choices)), Usage: usage.withTotal()}
	for i, c := range choices {
		msg := messageOut{Role: "assistant", ReasoningContent: c.ReasoningContent}
		if c.Text != "" || len(c.ToolCalls) == 0 {
			text := c.Text
			msg.Content = &text
		}
		for _, tc := range c.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, toolCallOut{ID: tc.ID, Type: "function", Function: functionOut{Name: tc.Name, Arguments: tc.Arguments}})
		}
		out.Choices[i] = choiceOut{Index: i, Message: msg, FinishReason: c.FinishReason}
	}
	body, _ := json.Marshal(out) // plain strings and numbers: cannot fail
	return body
}

type chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *Usage        `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        delta     `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type delta struct {
	Role             string      `json:"role,omitempty"`
	Content          *string     `json:"content,omitempty"`
	ReasoningContent string      `json:"reasoning_content,omitempty"`
	ToolCalls        []toolDelta `json:"tool_calls,omitempty"`
}

// toolDelta always carries its index; id, type and name only on a call's
// first delta.
type toolDelta struct {
	Index    int           `json:"index"`
	ID       string        `json:"id,omitempty"`
	Type     string        `json:"type,omitempty"`
	Function functionDelta `json:"function"`
}

type functionDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

func (a Answer) chunk(choice int, d delta, finish *string) []byte {
	body, _ := json.Marshal(chunk{ID: a.ID, Object: "chat.completion.chunk", Created: a.Created, Model: a.Model,
		Choices: []chunkChoice{{Index: choice, Delta: d, FinishReason: finish}}})
	return body
}

// RoleChunk is a choice's first chunk: the assistant role and empty content.
func (a Answer) RoleChunk(choice int) []byte {
	empty := ""
	return a.chunk(choice, delta{Role: "assistant", Content: &empty}, nil)
}

// TextChunk carries a piece of the answer's text.
func (a Answer) TextChunk(choice int, text string) []byte {
	return a.deltaChunk(choice, "content", text, 0)
}

// ReasoningChunk carries a piece of the model's reasoning.
func (a Answer) ReasoningChunk(choice int, text string) []byte {
	if text == "" { // omitted from the delta, as encoding/json would
		return a.chunk(choice, delta{}, nil)
	}
	return a.deltaChunk(choice, "reasoning_content", text, 0)
}

// ToolCallStart opens tool call number tool (0, 1, 2... within the
// choice's tool_calls) with its id and name, and the first arguments.
func (a Answer) ToolCallStart(choice, tool int, id, name, arguments string) []byte {
	return a.chunk(choice, delta{ToolCalls: []toolDelta{{Index: tool, ID: id, Type: "function",
		Function: functionDelta{Name: name, Arguments: arguments}}}}, nil)
}

// ToolCallArguments carries a fragment of tool call number tool's
// arguments.
func (a Answer) ToolCallArguments(choice, tool int, fragment string) []byte {
	return a.deltaChunk(choice, "arguments", fragment, tool)
}

// FinishChunk ends a choice: an empty delta and the finish reason.
func (a Answer) FinishChunk(choice int, reason string) []byte {
	return a.chunk(choice, delta{}, &reason)
}

// UsageChunk is the final chunk with empty choices and the usage; the
// gateway removes it for clients that did not ask for usage.
func (a Answer) UsageChunk(usage Usage) []byte {
	body, _ := json.Marshal(chunk{ID: a.ID, Object: "chat.completion.chunk", Created: a.Created, Model: a.Model,
		Choices: []chunkChoice{}, Usage: usage.withTotal()})
	return body
}
