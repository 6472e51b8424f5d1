// Package translate holds what every translating provider shares: decoding
// an OpenAI chat request once into go-openai's types (with the fixes those
// types need), and writing OpenAI answers and stream chunks exactly as
// OpenAI's published schemas want them, whatever the provider behind.
package translate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// ChatRequest is an OpenAI chat completion request, decoded once.
//
// go-openai's request type cannot carry everything a client may send
// (`stop` as a string, a `temperature` of 0, `max_completion_tokens` next
// to `max_tokens`, content parts other than text and images), so the
// fields that matter are decoded here with their presence kept.
type ChatRequest struct {
	Model    string
	Messages []Message
	Stream   bool

	// Sampling parameters; nil when the client did not send them.
	Temperature      *float64
	TopP             *float64
	TopK             *int
	PresencePenalty  *float64
	FrequencyPenalty *float64
	Seed             *int64
	N                int // 0 when absent

	// MaxTokens is max_completion_tokens, else max_tokens; 0 when absent.
	MaxTokens int
	Stop      []string
	User      string

	Tools      []openai.Tool
	ToolChoice *ToolChoice
	// ParallelToolCalls is nil when absent.
	ParallelToolCalls *bool

	ResponseFormat  *openai.ChatCompletionResponseFormat
	ReasoningEffort string

	// Raw holds every top-level member, for provider-specific extras.
	Raw map[string]json.RawMessage
}

// ToolChoice is `tool_choice`: a mode (none, auto, required) or one
// function to call.
type ToolChoice struct {
	Mode     string // none, auto or required; empty when Function is set
	Function string
}

// Message is one chat message.
type Message struct {
	Role string
	// Text is the content as text: the string form, or the text parts
	// joined. Empty for a null content.
	Text string
	// Parts is the content when it came as an array of parts.
	Parts []Part
	Name  string
	// ToolCalls are an assistant message's calls; ToolCallID links a
	// tool message to its call.
	ToolCalls  []openai.ToolCall
	ToolCallID string
	// ReasoningContent is an assistant message's reasoning, sent back by
	// clients that keep it in the history.
	ReasoningContent string
}

// Part is one content part.
type Part struct {
	Type string // text or image_url
	Text string
	// ImageURL is an http(s) URL or a data: URL.
	ImageURL string
	Detail   string
}

// ImageData splits a data: URL into its media type and base64 payload.
func (p Part) ImageData() (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(p.ImageURL, "data:")
	if !found {
		return "", "", false
	}
	meta, payload, found := strings.Cut(rest, ",")
	if !found || !strings.HasSuffix(meta, ";base64") {
		return "", "", false
	}
	return strings.TrimSuffix(meta, ";base64"), payload, true
}

type rawMessage struct {
	Role             string            `json:"role"`
	Content          json.RawMessage   `json:"content"`
	Name             string            `json:"name"`
	ToolCalls        []openai.ToolCall `json:"tool_calls"`
	ToolCallID       string            `json:"tool_call_id"`
	ReasoningContent string            `json:"reasoning_content"`
	Reasoning        string            `json:"reasoning"`
}

type rawPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL    string `json:"url"`
		Detail string `json:"detail"`
	} `json:"image_url"`
}

type rawRequest struct {
	Model               string                               `json:"model"`
	Messages            []rawMessage                         `json:"messages"`
	Stream              bool                                 `json:"stream"`
	Temperature         *float64                             `json:"temperature"`
	TopP                *float64                             `json:"top_p"`
	TopK                *int                                 `json:"top_k"`
	PresencePenalty     *float64                             `json:"presence_penalty"`
	FrequencyPenalty    *float64                             `json:"frequency_penalty"`
	Seed                *int64                               `json:"seed"`
	N                   *int                                 `json:"n"`
	MaxTokens           *int                                 `json:"max_tokens"`
	MaxCompletionTokens *int                                 `json:"max_completion_tokens"`
	Stop                json.RawMessage                      `json:"stop"`
	User                string                               `json:"user"`
	Tools               []openai.Tool                        `json:"tools"`
	ToolChoice          json.RawMessage                      `json:"tool_choice"`
	ParallelToolCalls   *bool                                `json:"parallel_tool_calls"`
	ResponseFormat      *openai.ChatCompletionResponseFormat `json:"response_format"`
	ReasoningEffort     string                               `json:"reasoning_effort"`
}

// DecodeChat decodes and checks an OpenAI chat request. Its errors are
// 400s in OpenAI's shape that name the offending parameter.
func DecodeChat(body []byte) (*ChatRequest, *providers.Error) {
	var raw rawRequest
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, Invalid("", "the request body does not match the chat completions schema: "+err.Error())
	}
	req := &ChatRequest{
		Model: raw.Model, Stream: raw.Stream,
		Temperature: raw.Temperature, TopP: raw.TopP, TopK: raw.TopK,
		PresencePenalty: raw.PresencePenalty, FrequencyPenalty: raw.FrequencyPenalty,
		Seed: raw.Seed, User: raw.User, Tools: raw.Tools, ParallelToolCalls: raw.ParallelToolCalls,
		ResponseFormat: raw.ResponseFormat, ReasoningEffort: raw.ReasoningEffort,
	}
	if err := json.Unmarshal(body, &req.Raw); err != nil {
		return nil, Invalid("", "the request body must be a JSON object")
	}
	if raw.N != nil {
		if *raw.N < 1 {
			return nil, Invalid("n", "n must be at least 1")
		}
		req.N = *raw.N
	}
	switch {
	case raw.MaxCompletionTokens != nil:
		req.MaxTokens = *raw.MaxCompletionTokens
	case raw.MaxTokens != nil:
		req.MaxTokens = *raw.MaxTokens
	}
	if req.MaxTokens < 0 {
		return nil, Invalid("max_tokens", "max_tokens must not be negative")
	}
	var perr *providers.Error
	if req.Stop, perr = DecodeStop(raw.Stop); perr != nil {
		return nil, perr
	}
	if req.ToolChoice, perr = decodeToolChoice(raw.ToolChoice); perr != nil {
		return nil, perr
	}
	if len(raw.Messages) == 0 {
		return nil, Invalid("messages", "messages must be a non-empty array")
	}
	for i, m := range raw.Messages {
		msg, perr := decodeMessage(m)
		if perr != nil {
			perr.Param = fmt.Sprintf("messages[%d]%s", i, perr.Param)
			return nil, perr
		}
		req.Messages = append(req.Messages, msg)
	}
	return req, nil
}

func decodeMessage(m rawMessage) (Message, *providers.Error) {
	msg := Message{Role: m.Role, Name: m.Name, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID, ReasoningContent: m.ReasoningContent}
	if msg.ReasoningContent == "" {
		msg.ReasoningContent = m.Reasoning
	}
	switch m.Role {
	case "system", "developer", "user", "assistant", "tool":
	case "function":
		return msg, Invalid(".role", "the legacy function role is not supported; use tools")
	default:
		return msg, Invalid(".role", fmt.Sprintf("unknown role %q", providers.Clip(m.Role, 64)))
	}
	content := m.Content
	if len(content) == 0 || string(content) == "null" {
		return msg, nil
	}
	if content[0] == '"' {
		if err := json.Unmarshal(content, &msg.Text); err != nil {
			return msg, Invalid(".content", "content must be a string or an array of parts")
		}
		return msg, nil
	}
	var parts []rawPart
	if err := json.Unmarshal(content, &parts); err != nil {
		return msg, Invalid(".content", "content must be a string or an array of parts")
	}
	var text strings.Builder
	for _, p := range parts {
		switch p.Type {
		case "text":
			msg.Parts = append(msg.Parts, Part{Type: "text", Text: p.Text})
			text.WriteString(p.Text)
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return msg, Invalid(".content", "an image_url part needs image_url.url")
			}
			msg.Parts = append(msg.Parts, Part{Type: "image_url", ImageURL: p.ImageURL.URL, Detail: p.ImageURL.Detail})
		default:
			return msg, Invalid(".content", fmt.Sprintf("content parts of type %q are not supported by this provider", providers.Clip(p.Type, 64)))
		}
	}
	msg.Text = text.String()
	return msg, nil
}

// DecodeStop reads `stop`: a string or an array of strings.
func DecodeStop(raw json.RawMessage) ([]string, *providers.Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return nil, Invalid("stop", "stop must be a string or an array of strings")
	}
	return list, nil
}

func decodeToolChoice(raw json.RawMessage) (*ToolChoice, *providers.Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		switch mode {
		case "none", "auto", "required":
			return &ToolChoice{Mode: mode}, nil
		}
		return nil, Invalid("tool_choice", fmt.Sprintf("unknown tool_choice %q", providers.Clip(mode, 64)))
	}
	var named openai.ToolChoice
	if json.Unmarshal(raw, &named) != nil || named.Function.Name == "" {
		return nil, Invalid("tool_choice", `tool_choice must be "none", "auto", "required" or {"type":"function","function":{"name":...}}`)
	}
	return &ToolChoice{Function: named.Function.Name}, nil
}

// SystemText joins the system and developer messages, in order; providers
// with a single system field take it from here.
func (r *ChatRequest) SystemText() string {
	var parts []string
	for _, m := range r.Messages {
		if (m.Role == "system" || m.Role == "developer") && m.Text != "" {
			parts = append(parts, m.Text)
		}
	}
	return strings.Join(parts, "\n\n")
}

// Invalid is the 400 for a request value out of its allowed form or range.
func Invalid(param, msg string) *providers.Error {
	e := providers.NewError(http.StatusBadRequest, "invalid_value", msg)
	e.Param = param
	return e
}

// Unsupported is the 400 for a parameter value a provider cannot honour.
func Unsupported(param, msg string) *providers.Error {
	e := providers.NewError(http.StatusBadRequest, "unsupported_parameter", msg)
	e.Param = param
	return e
}
