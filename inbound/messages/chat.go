package messages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// chatRequest is the OpenAI chat request a Messages request becomes.
type chatRequest struct {
	Model             string          `json:"model,omitempty"`
	Messages          []chatMessage   `json:"messages"`
	MaxTokens         int64           `json:"max_tokens"`
	Stop              []string        `json:"stop,omitempty"`
	Temperature       *float64        `json:"temperature,omitempty"`
	TopP              *float64        `json:"top_p,omitempty"`
	TopK              *int            `json:"top_k,omitempty"`
	Tools             []chatTool      `json:"tools,omitempty"`
	ToolChoice        any             `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	ReasoningEffort   string          `json:"reasoning_effort,omitempty"`
	ResponseFormat    *responseFormat `json:"response_format,omitempty"`
	User              string          `json:"user,omitempty"`
	Stream            bool            `json:"stream,omitempty"`
	StreamOptions     *streamOptions  `json:"stream_options,omitempty"`
}

type chatMessage struct {
	Role string `json:"role"`
	// Content is a string, an array of chatParts, or null for an
	// assistant turn of tool calls alone.
	Content    any            `json:"content"`
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type chatPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL string `json:"url"`
}

type chatToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatTool struct {
	Type     string      `json:"type"`
	Function functionDef `json:"function"`
}

type functionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

type namedTool struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
	} `json:"json_schema"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// toChat translates a Messages request. keepTopK says whether every
// provider the request may reach takes top_k.
func (req *request) toChat(keepTopK bool) (*chatRequest, *providers.Error) {
	if req.MaxTokens == nil {
		return nil, invalid("max_tokens", "Field required")
	}
	if len(req.Messages) == 0 {
		return nil, invalid("messages", "at least one message is required")
	}
	out := &chatRequest{Model: req.Model, MaxTokens: *req.MaxTokens, Stop: req.StopSequences,
		Temperature: req.Temperature, TopP: req.TopP, Stream: req.Stream}
	if keepTopK {
		out.TopK = req.TopK
	}
	if req.Stream {
		// message_delta carries the usage, which chat streams report last.
		out.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	if req.Metadata != nil {
		out.User = req.Metadata.UserID
	}
	if len(req.System) > 0 && string(req.System) != "null" {
		text, perr := systemText(req.System, "system")
		if perr != nil {
			return nil, perr
		}
		if text != "" {
			out.Messages = append(out.Messages, chatMessage{Role: "system", Content: text})
		}
	}
	for i, m := range req.Messages {
		msgs, perr := m.toChat(fmt.Sprintf("messages.%d", i))
		if perr != nil {
			return nil, perr
		}
		out.Messages = append(out.Messages, msgs...)
	}
	if perr := req.translateTools(out); perr != nil {
		return nil, perr
	}
	out.ReasoningEffort = req.reasoningEffort()
	if f := req.OutputConfig; f != nil && f.Format != nil && f.Format.Type == "json_schema" {
		rf := &responseFormat{Type: "json_schema"}
		rf.JSONSchema.Name, rf.JSONSchema.Schema = "output", f.Format.Schema
		out.ResponseFormat = rf
	}
	return out, nil
}

// billingHeader starts the system block in which Claude Code tells
// Anthropic its version, for Anthropic's billing: it means nothing to
// other models and, first in the prompt, would spoil their prompt caches.
const billingHeader = "x-anthropic-billing-header:"

// systemText joins the text of a system prompt, a string or text blocks.
func systemText(content json.RawMessage, param string) (string, *providers.Error) {
	bs, err := blocks(content)
	if err != nil {
		return "", invalid(param, err.Error())
	}
	texts := make([]string, 0, len(bs))
	for j, b := range bs {
		if b.Type != "text" {
			return "", invalid(fmt.Sprintf("%s.%d.type", param, j), "a system prompt holds text blocks only")
		}
		if b.Text != "" && !strings.HasPrefix(b.Text, billingHeader) {
			texts = append(texts, b.Text)
		}
	}
	return strings.Join(texts, "\n\n"), nil
}

// toChat translates one message into the chat messages it becomes: a
// user turn's tool results become tool messages, ahead of the rest of the
// turn, as chat wants them right after the assistant's tool calls.
func (m *message) toChat(param string) ([]chatMessage, *providers.Error) {
	switch m.Role {
	case "system":
		text, perr := systemText(m.Content, param+".content")
		if perr != nil || text == "" {
			return nil, perr
		}
		return []chatMessage{{Role: "system", Content: text}}, nil
	case "user", "assistant":
	default:
		return nil, invalid(param+".role", "Input should be 'user' or 'assistant'")
	}
	bs, err := blocks(m.Content)
	if err != nil {
		return nil, invalid(param+".content", err.Error())
	}
	if m.Role == "assistant" {
		am, perr := assistantMessage(bs, param)
		if perr != nil || am == nil {
			return nil, perr
		}
		return []chatMessage{*am}, nil
	}
	return userMessages(bs, param)
}

// userMessages translates a user turn: tool messages for its tool
// results, then a user message with the rest. Images in tool results go
// to that user message, as chat's tool messages hold text alone.
func userMessages(bs []block, param string) ([]chatMessage, *providers.Error) {
	var out []chatMessage
	var parts []chatPart
	for j, b := range bs {
		bparam := fmt.Sprintf("%s.content.%d", param, j)
		switch b.Type {
		case "tool_result":
			text, images, perr := toolResult(b, bparam)
			if perr != nil {
				return nil, perr
			}
			out = append(out, chatMessage{Role: "tool", ToolCallID: b.ToolUseID, Content: text})
			parts = append(parts, images...)
		default:
			part, perr := userPart(b, bparam)
			if perr != nil {
				return nil, perr
			}
			if part != nil {
				parts = append(parts, *part)
			}
		}
	}
	switch {
	case len(parts) == 1 && parts[0].Type == "text":
		out = append(out, chatMessage{Role: "user", Content: parts[0].Text})
	case len(parts) > 0:
		out = append(out, chatMessage{Role: "user", Content: parts})
	}
	return out, nil
}

// userPart translates a text or image block; thinking blocks are dropped.
func userPart(b block, param string) (*chatPart, *providers.Error) {
	switch b.Type {
	case "text":
		if b.Text == "" {
			return nil, nil
		}
		return &chatPart{Type: "text", Text: b.Text}, nil
	case "image":
		url, perr := b.imageURL(param)
		if perr != nil {
			return nil, perr
		}
		return &chatPart{Type: "image_url", ImageURL: &imageURL{URL: url}}, nil
	case "thinking", "redacted_thinking":
		return nil, nil
	}
	return nil, unsupportedBlock(b.Type, param)
}

// imageURL is an image block's source as chat's image URL: base64 data
// becomes a data: URL.
func (b block) imageURL(param string) (string, *providers.Error) {
	s := b.Source
	switch {
	case s == nil:
		return "", invalid(param+".source", "Field required")
	case s.Type == "base64":
		return "data:" + s.MediaType + ";base64," + s.Data, nil
	case s.Type == "url":
		return s.URL, nil
	}
	return "", invalid(param+".source.type", "an image source must be base64 or url: "+s.Type+" sources are Anthropic's own")
}

// toolResult translates a tool_result's content: its text, and its
// images for the user message that follows. `is_error` has no chat
// equivalent and is dropped; the result's text says what went wrong.
func toolResult(b block, param string) (string, []chatPart, *providers.Error) {
	if len(b.Content) == 0 || string(b.Content) == "null" {
		return "", nil, nil
	}
	bs, err := blocks(b.Content)
	if err != nil {
		return "", nil, invalid(param+".content", err.Error())
	}
	var texts []string
	var images []chatPart
	for j, c := range bs {
		part, perr := userPart(c, fmt.Sprintf("%s.content.%d", param, j))
		switch {
		case perr != nil:
			return "", nil, perr
		case part == nil:
		case part.Type == "text":
			texts = append(texts, part.Text)
		default:
			images = append(images, *part)
		}
	}
	return strings.Join(texts, "\n\n"), images, nil
}

// assistantMessage translates an assistant turn: its text, and its
// tool_use blocks as tool calls; thinking blocks are dropped, as no chat
// API takes them back. nil when nothing is left.
func assistantMessage(bs []block, param string) (*chatMessage, *providers.Error) {
	var texts []string
	var calls []chatToolCall
	for j, b := range bs {
		switch b.Type {
		case "text":
			if b.Text != "" {
				texts = append(texts, b.Text)
			}
		case "tool_use":
			args, err := compactInput(b.Input)
			if err != nil {
				return nil, invalid(fmt.Sprintf("%s.content.%d.input", param, j), "a tool_use input must be a JSON object")
			}
			calls = append(calls, chatToolCall{ID: b.ID, Type: "function", Function: chatFunction{Name: b.Name, Arguments: args}})
		case "thinking", "redacted_thinking":
		default:
			return nil, unsupportedBlock(b.Type, fmt.Sprintf("%s.content.%d", param, j))
		}
	}
	if len(texts) == 0 && len(calls) == 0 {
		return nil, nil
	}
	m := &chatMessage{Role: "assistant", ToolCalls: calls}
	if len(texts) > 0 {
		m.Content = strings.Join(texts, "\n\n")
	}
	return m, nil
}

// compactInput is a tool_use input as chat's arguments string; a missing
// input is an empty object.
func compactInput(input json.RawMessage) (string, error) {
	if len(input) == 0 {
		return "{}", nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, input); err != nil {
		return "", err
	}
	if buf.Bytes()[0] != '{' {
		return "", fmt.Errorf("not an object")
	}
	return buf.String(), nil
}

func unsupportedBlock(typ, param string) *providers.Error {
	return invalid(param+".type", "the content block type "+typ+" cannot be sent to this model: only text, image, tool_use, tool_result and thinking blocks translate to other providers")
}

// translateTools sets the chat tools and tool choice.
func (req *request) translateTools(out *chatRequest) *providers.Error {
	for i, t := range req.Tools {
		if t.Type != "" && t.Type != "custom" {
			return invalid(fmt.Sprintf("tools.%d.type", i), "the tool type "+t.Type+" is run by Anthropic and cannot be offered to this model")
		}
		out.Tools = append(out.Tools, chatTool{Type: "function",
			Function: functionDef{Name: t.Name, Description: t.Description, Parameters: t.InputSchema}})
	}
	tc := req.ToolChoice
	if tc == nil {
		return nil
	}
	var choice any
	switch tc.Type {
	case "auto":
		choice = "auto"
	case "any":
		choice = "required"
	case "none":
		choice = "none"
	case "tool":
		if tc.Name == "" {
			return invalid("tool_choice.name", "Field required")
		}
		named := namedTool{Type: "function"}
		named.Function.Name = tc.Name
		choice = named
	default:
		return invalid("tool_choice.type", "Input should be 'auto', 'any', 'tool' or 'none'")
	}
	if len(out.Tools) == 0 { // chat APIs refuse a tool choice without tools
		return nil
	}
	out.ToolChoice = choice
	if tc.DisableParallelToolUse {
		no := false
		out.ParallelToolCalls = &no
	}
	return nil
}

// reasoningEffort is the chat reasoning effort of the request's thinking:
// an enabled thinking budget maps to the effort whose budget the
// gateway's anthropic provider gives it (1024 low, 4096 medium, 16384
// high); adaptive thinking lets the model choose, at the effort of
// `output_config.effort`, else OpenAI's default, medium. Disabled
// thinking leaves the model's default.
func (req *request) reasoningEffort() string {
	if req.Thinking == nil {
		return ""
	}
	switch req.Thinking.Type {
	case "enabled":
		switch b := req.Thinking.BudgetTokens; {
		case b < 4096:
			return "low"
		case b < 16384:
			return "medium"
		}
		return "high"
	case "adaptive":
		if req.OutputConfig != nil {
			switch e := req.OutputConfig.Effort; e {
			case "low", "medium", "high", "xhigh":
				return e
			case "max":
				return "xhigh"
			}
		}
		return "medium"
	}
	return ""
}
