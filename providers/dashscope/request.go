package dashscope

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// chatRequest is the native text and multimodal generation body.
type chatRequest struct {
	Model      string     `json:"model"`
	Input      chatInput  `json:"input"`
	Parameters parameters `json:"parameters"`
}

type chatInput struct {
	Messages []message `json:"messages"`
}

// message is a native message. Content is a string on the text endpoint
// and a list of single-key objects ({"text":...}, {"image":...}) on the
// multimodal one.
type message struct {
	Role             string     `json:"role"`
	Content          any        `json:"content"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCall `json:"tool_calls,omitempty"`
	ToolCallID       string     `json:"tool_call_id,omitempty"`
	Name             string     `json:"name,omitempty"`
}

type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type tool struct {
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Parameters  any    `json:"parameters"`
}

type namedToolChoice struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// parameters holds everything but the model and the messages. Pointers
// keep a client's explicit zero (a temperature of 0 is a real choice).
type parameters struct {
	ResultFormat      string          `json:"result_format"`
	IncrementalOutput bool            `json:"incremental_output,omitempty"`
	Temperature       *float64        `json:"temperature,omitempty"`
	TopP              *float64        `json:"top_p,omitempty"`
	TopK              *int            `json:"top_k,omitempty"`
	MaxTokens         int             `json:"max_tokens,omitempty"`
	Stop              json.RawMessage `json:"stop,omitempty"`
	Seed              *int64          `json:"seed,omitempty"`
	PresencePenalty   *float64        `json:"presence_penalty,omitempty"`
	N                 int             `json:"n,omitempty"`
	Tools             []tool          `json:"tools,omitempty"`
	ToolChoice        any             `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat    json.RawMessage `json:"response_format,omitempty"`
	EnableThinking    *bool           `json:"enable_thinking,omitempty"`
	ThinkingBudget    json.RawMessage `json:"thinking_budget,omitempty"`

	// DashScope's own options, relayed when a client sends them at the
	// top level of its body (as OpenAI SDKs do with extra_body).
	RepetitionPenalty json.RawMessage `json:"repetition_penalty,omitempty"`
	EnableSearch      json.RawMessage `json:"enable_search,omitempty"`
	SearchOptions     json.RawMessage `json:"search_options,omitempty"`
}

// top_p bounds: DashScope's range is (0, 1] and older services refuse 1.0,
// so values are clamped into (0, 0.999999] as higress does.
const (
	minTopP = 0.000001
	maxTopP = 0.999999
)

// maxChoices is the most choices (n) DashScope generates.
const maxChoices = 4

// thinkingBudgets maps reasoning_effort to a thinking budget in tokens.
// DashScope wants a budget together with enable_thinking.
var thinkingBudgets = map[string]int{
	"low":    1024,
	"medium": 4096,
	"high":   16384,
	"xhigh":  32768,
	"max":    32768,
}

// buildChat translates a decoded OpenAI request. It reports whether the
// request needs the multimodal endpoint (it has images).
func buildChat(req *translate.ChatRequest, model string, multimodal bool) (*chatRequest, bool, *providers.Error) {
	if !multimodal {
		multimodal = hasImages(req)
	}
	out := &chatRequest{Model: model, Parameters: parameters{ResultFormat: "message"}}
	var perr *providers.Error
	if out.Input.Messages, perr = buildMessages(req, multimodal); perr != nil {
		return nil, false, perr
	}
	if perr = buildParameters(req, &out.Parameters); perr != nil {
		return nil, false, perr
	}
	return out, multimodal, nil
}

func hasImages(req *translate.ChatRequest) bool {
	for _, m := range req.Messages {
		for _, p := range m.Parts {
			if p.Type == "image_url" {
				return true
			}
		}
	}
	return false
}

// buildMessages puts all system and developer texts into one leading
// system message, as DashScope wants, and converts the rest in order.
func buildMessages(req *translate.ChatRequest, multimodal bool) ([]message, *providers.Error) {
	content := func(text string) any {
		if multimodal {
			if text == "" {
				return []map[string]string{}
			}
			return []map[string]string{{"text": text}}
		}
		return text
	}
	out := make([]message, 0, len(req.Messages)+1)
	if sys := req.SystemText(); sys != "" {
		out = append(out, message{Role: "system", Content: content(sys)})
	}
	toolNames := make(map[string]string)
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "developer":
			continue
		case "user":
			if multimodal && len(m.Parts) > 0 {
				out = append(out, message{Role: "user", Content: multimodalParts(m.Parts)})
			} else {
				out = append(out, message{Role: "user", Content: content(m.Text)})
			}
		case "assistant":
			if hasImageParts(m.Parts) {
				return nil, translate.Unsupported(fmt.Sprintf("messages[%d].content", i), "assistant messages cannot carry images")
			}
			msg := message{Role: "assistant", Content: content(m.Text), ReasoningContent: m.ReasoningContent}
			for _, tc := range m.ToolCalls {
				args := tc.Function.Arguments
				if args == "" {
					args = "{}"
				}
				msg.ToolCalls = append(msg.ToolCalls, toolCall{ID: tc.ID, Type: "function",
					Function: functionCall{Name: tc.Function.Name, Arguments: args}})
				toolNames[tc.ID] = tc.Function.Name
			}
			out = append(out, msg)
		case "tool":
			if m.ToolCallID == "" {
				return nil, translate.Unsupported(fmt.Sprintf("messages[%d].tool_call_id", i), "a tool message needs tool_call_id")
			}
			name := toolNames[m.ToolCallID]
			if name == "" {
				name = m.Name
			}
			out = append(out, message{Role: "tool", Content: content(m.Text), ToolCallID: m.ToolCallID, Name: name})
		}
	}
	return out, nil
}

func hasImageParts(parts []translate.Part) bool {
	for _, p := range parts {
		if p.Type == "image_url" {
			return true
		}
	}
	return false
}

// multimodalParts keeps the parts' order; DashScope takes http(s) and
// data: URLs alike in "image".
func multimodalParts(parts []translate.Part) []map[string]string {
	out := make([]map[string]string, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case "image_url":
			out = append(out, map[string]string{"image": p.ImageURL})
		case "text":
			if p.Text != "" {
				out = append(out, map[string]string{"text": p.Text})
			}
		}
	}
	return out
}

func buildParameters(req *translate.ChatRequest, p *parameters) *providers.Error {
	p.Temperature = req.Temperature
	if req.TopP != nil {
		v := min(max(*req.TopP, minTopP), maxTopP)
		p.TopP = &v
	}
	p.TopK = req.TopK
	p.MaxTokens = req.MaxTokens
	p.Seed = req.Seed
	p.PresencePenalty = req.PresencePenalty
	if len(req.Stop) > 0 {
		// Sent in the form the client used: DashScope takes a string or a list.
		p.Stop = req.Raw["stop"]
	}
	if req.N > maxChoices {
		return translate.Unsupported("n", fmt.Sprintf("DashScope generates at most %d choices (n)", maxChoices))
	}
	if req.N > 1 {
		p.N = req.N
	}
	if raw, ok := req.Raw["logprobs"]; ok && string(raw) == "true" {
		return translate.Unsupported("logprobs", "logprobs are not supported by the dashscope provider")
	}
	if perr := buildTools(req, p); perr != nil {
		return perr
	}
	if perr := buildResponseFormat(req, p); perr != nil {
		return perr
	}
	if perr := buildThinking(req, p); perr != nil {
		return perr
	}
	p.RepetitionPenalty = vendor(req, "repetition_penalty")
	p.EnableSearch = vendor(req, "enable_search")
	p.SearchOptions = vendor(req, "search_options")
	return nil
}

// vendor returns a DashScope-only top-level field as sent, or nil.
func vendor(req *translate.ChatRequest, name string) json.RawMessage {
	raw := req.Raw[name]
	if string(raw) == "null" {
		return nil
	}
	return raw
}

func buildTools(req *translate.ChatRequest, p *parameters) *providers.Error {
	for i, t := range req.Tools {
		if t.Type != "function" || t.Function == nil || t.Function.Name == "" {
			return translate.Unsupported(fmt.Sprintf("tools[%d]", i), "only function tools with a name are supported by the dashscope provider")
		}
		params := t.Function.Parameters
		if params == nil {
			// A function without parameters; DashScope wants a schema anyway.
			params = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		p.Tools = append(p.Tools, tool{Type: "function",
			Function: toolFunction{Name: t.Function.Name, Description: t.Function.Description, Parameters: params}})
	}
	if tc := req.ToolChoice; tc != nil {
		switch {
		case tc.Function != "":
			p.ToolChoice = named(tc.Function)
		case tc.Mode == "required" && len(p.Tools) == 1:
			// Forcing the only tool is what "required" means, in a form
			// every DashScope model knows.
			p.ToolChoice = named(p.Tools[0].Function.Name)
		default:
			p.ToolChoice = tc.Mode
		}
	}
	p.ParallelToolCalls = req.ParallelToolCalls
	return nil
}

func named(function string) namedToolChoice {
	c := namedToolChoice{Type: "function"}
	c.Function.Name = function
	return c
}

func buildResponseFormat(req *translate.ChatRequest, p *parameters) *providers.Error {
	if req.ResponseFormat == nil {
		return nil
	}
	switch req.ResponseFormat.Type {
	case "", "text":
	case "json_object":
		p.ResponseFormat = json.RawMessage(`{"type":"json_object"}`)
	case "json_schema":
		// Newer models take OpenAI's structured-output form as is.
		p.ResponseFormat = req.Raw["response_format"]
	default:
		return translate.Unsupported("response_format", fmt.Sprintf("response_format type %q is not supported by the dashscope provider", req.ResponseFormat.Type))
	}
	return nil
}

// buildThinking maps reasoning_effort to enable_thinking and a budget. A
// client's own enable_thinking / thinking_budget take precedence.
func buildThinking(req *translate.ChatRequest, p *parameters) *providers.Error {
	switch effort := req.ReasoningEffort; effort {
	case "":
	case "none", "minimal":
		off := false
		p.EnableThinking = &off
	default:
		budget, ok := thinkingBudgets[effort]
		if !ok {
			return translate.Unsupported("reasoning_effort", fmt.Sprintf("unknown reasoning_effort %q", effort))
		}
		on := true
		p.EnableThinking = &on
		p.ThinkingBudget = json.RawMessage(fmt.Sprint(budget))
	}
	if raw := vendor(req, "enable_thinking"); raw != nil {
		var on bool
		if json.Unmarshal(raw, &on) != nil {
			return &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invalid_value",
				Param: "enable_thinking", Message: "enable_thinking must be a boolean"}
		}
		p.EnableThinking = &on
		if !on {
			p.ThinkingBudget = nil
		}
	}
	if raw := vendor(req, "thinking_budget"); raw != nil {
		p.ThinkingBudget = raw
		if p.EnableThinking == nil {
			on := true
			p.EnableThinking = &on
		}
	}
	return nil
}

// thinking reports whether the request turns thinking on.
func (p *parameters) thinking() bool { return p.EnableThinking != nil && *p.EnableThinking }
