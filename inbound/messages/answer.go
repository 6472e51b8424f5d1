package messages

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"slices"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// chatAnswer is what the door reads of an OpenAI chat completion.
type chatAnswer struct {
	Choices []answerChoice `json:"choices"`
	Usage   *chatUsage     `json:"usage"`
}

type answerChoice struct {
	Message      answerMessage `json:"message"`
	FinishReason string        `json:"finish_reason"`
	// StopReason is the stop sequence that ended the answer, where
	// the upstream says (vLLM does); a token id otherwise.
	StopReason json.RawMessage `json:"stop_reason"`
}

type answerMessage struct {
	Content          *string `json:"content"`
	ReasoningContent string  `json:"reasoning_content"`
	ToolCalls        []struct {
		ID       string       `json:"id"`
		Function chatFunction `json:"function"`
	} `json:"tool_calls"`
}

// readAnswer reads a chat completion as json.Unmarshal does, without
// reflection for the completions of nearly every answer.
func readAnswer(body []byte) (*chatAnswer, error) {
	raw, ok := inbound.ReadCompletion(body)
	a := &chatAnswer{Choices: make([]answerChoice, 1)}
	c := &a.Choices[0]
	if ok && raw.Usage != nil {
		a.Usage, ok = readUsage(raw.Usage)
	}
	if ok && raw.ToolCalls != nil {
		ok = json.Unmarshal(raw.ToolCalls, &c.Message.ToolCalls) == nil
	}
	if !ok {
		a = &chatAnswer{}
		return a, json.Unmarshal(body, a)
	}
	if raw.Content != nil {
		content, _ := jsonscan.String(raw.Content)
		c.Message.Content = &content
	}
	c.Message.ReasoningContent, _ = jsonscan.String(raw.ReasoningContent)
	c.FinishReason, _ = jsonscan.String(raw.FinishReason)
	c.StopReason = raw.StopReason
	return a, nil
}

type chatUsage struct {
	PromptTokens        int           `json:"prompt_tokens"`
	CompletionTokens    int           `json:"completion_tokens"`
	PromptTokensDetails *cachedTokens `json:"prompt_tokens_details"`
}

type cachedTokens struct {
	CachedTokens     int `json:"cached_tokens"`
	CacheWriteTokens int `json:"cache_write_tokens"`
}

// usage is Anthropic's usage object.
type usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// toUsage splits chat's prompt tokens as Anthropic does: input_tokens
// are those neither read from the cache nor written to it.
func (u *chatUsage) toUsage() usage {
	if u == nil {
		return usage{}
	}
	var cached, written int
	if d := u.PromptTokensDetails; d != nil {
		cached, written = d.CachedTokens, d.CacheWriteTokens
	}
	return usage{InputTokens: max(0, u.PromptTokens-cached-written), OutputTokens: u.CompletionTokens,
		CacheReadInputTokens: cached, CacheCreationInputTokens: written}
}

// messageAnswer is a Message, the answer of POST /v1/messages.
type messageAnswer struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Role         string         `json:"role"`
	Model        string         `json:"model"`
	Content      []contentBlock `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        usage          `json:"usage"`
}

// contentBlock is a block of an answer; in a stream's
// content_block_start, its text, thinking or input is still empty.
type contentBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature *string         `json:"signature,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
}

func textBlock(text string) contentBlock { return contentBlock{Type: "text", Text: &text} }

// thinkingBlock has an empty signature: the reasoning of a chat answer
// is not signed, and translated requests drop thinking blocks anyway.
func thinkingBlock(text string) contentBlock {
	var signature string
	return contentBlock{Type: "thinking", Thinking: &text, Signature: &signature}
}

func toolUseBlock(id, name string, input json.RawMessage) contentBlock {
	if id == "" {
		id = "toolu_" + rand.Text()
	}
	return contentBlock{Type: "tool_use", ID: id, Name: name, Input: input}
}

func newMessageID() string { return "msg_" + rand.Text() }

// emptyInput is a tool call's input when it has no arguments, or
// arguments that are no JSON object: the client's tool then reports the
// missing parameters, which a model can recover from.
var emptyInput = json.RawMessage("{}")

// toolInput is a tool call's arguments as an input object.
func toolInput(args string) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(args)) != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return emptyInput
	}
	return buf.Bytes()
}

// stopReason maps a chat finish reason to Anthropic's stop reason, and
// the stop sequence that ended the answer when the upstream named one of
// the request's. toolCalls says the answer called tools, which some
// upstreams finish with "stop".
func stopReason(finish string, matched json.RawMessage, stops []string, toolCalls bool) (reason string, sequence *string) {
	switch finish {
	case "length":
		return "max_tokens", nil
	case "tool_calls", "function_call":
		return "tool_use", nil
	case "content_filter":
		return "refusal", nil
	}
	if toolCalls {
		return "tool_use", nil
	}
	var seq string
	if len(matched) > 0 && matched[0] == '"' && json.Unmarshal(matched, &seq) == nil && slices.Contains(stops, seq) {
		return "stop_sequence", &seq
	}
	return "end_turn", nil
}

// answer turns a chat completion into a Message.
func answer(chat []byte, model string, stops []string) ([]byte, error) {
	a, err := readAnswer(chat)
	if err != nil {
		return nil, err
	}
	msg := messageAnswer{ID: newMessageID(), Type: "message", Role: "assistant", Model: model,
		Content: []contentBlock{}, Usage: a.Usage.toUsage()}
	reason := "end_turn"
	if len(a.Choices) > 0 {
		c := a.Choices[0]
		m := c.Message
		if m.ReasoningContent != "" {
			msg.Content = append(msg.Content, thinkingBlock(m.ReasoningContent))
		}
		if m.Content != nil && *m.Content != "" {
			msg.Content = append(msg.Content, textBlock(*m.Content))
		}
		for _, tc := range m.ToolCalls {
			msg.Content = append(msg.Content, toolUseBlock(tc.ID, tc.Function.Name, toolInput(tc.Function.Arguments)))
		}
		reason, msg.StopSequence = stopReason(c.FinishReason, c.StopReason, stops, len(m.ToolCalls) > 0)
	}
	msg.StopReason = &reason
	return providers.MarshalJSON(msg)
}
