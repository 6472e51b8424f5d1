package ollama

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// chatRequest is the body of POST /api/chat.
type chatRequest struct {
	Model    string          `json:"model"`
	Messages []message       `json:"messages"`
	Stream   bool            `json:"stream"` // always written: Ollama defaults to true
	Format   json.RawMessage `json:"format,omitempty"`
	Tools    []tool          `json:"tools,omitempty"`
	// Think is false, true or a level string; nil leaves the model's
	// default.
	Think     json.RawMessage `json:"think,omitempty"`
	KeepAlive json.RawMessage `json:"keep_alive,omitempty"`
	Options   *options        `json:"options,omitempty"`
}

type message struct {
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	Thinking  string     `json:"thinking,omitempty"`
	Images    []string   `json:"images,omitempty"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
	ToolName  string     `json:"tool_name,omitempty"`
}

// toolCall is a complete call; arguments are a JSON object, not a string.
type toolCall struct {
	ID       string       `json:"id,omitempty"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Index     *int            `json:"index,omitempty"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

type tool struct {
	Type     string         `json:"type"`
	Function toolDefinition `json:"function"`
}

type toolDefinition struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Parameters  any    `json:"parameters"`
}

// options are Ollama's sampling and runtime options. Pointers keep a
// client's explicit 0 (temperature 0 is greedy decoding, not "unset").
type options struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"top_p,omitempty"`
	TopK             *int     `json:"top_k,omitempty"`
	NumPredict       *int     `json:"num_predict,omitempty"`
	Stop             []string `json:"stop,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	NumCtx           *int     `json:"num_ctx,omitempty"`
}

// empty reports whether no option is set, so that `options` can be left
// out.
func (o *options) empty() bool {
	return o.Temperature == nil && o.TopP == nil && o.TopK == nil && o.NumPredict == nil && len(o.Stop) == 0 &&
		o.Seed == nil && o.PresencePenalty == nil && o.FrequencyPenalty == nil && o.NumCtx == nil
}

// sampling builds the options shared by chat and generate.
func (o *Ollama) sampling(temperature, topP *float64, topK *int, maxTokens int, stop []string,
	seed *int64, presence, frequency *float64) *options {
	opts := &options{Temperature: temperature, TopP: topP, TopK: topK, Stop: stop, Seed: seed,
		PresencePenalty: presence, FrequencyPenalty: frequency}
	if maxTokens > 0 {
		opts.NumPredict = &maxTokens
	}
	if o.NumCtx > 0 {
		n := o.NumCtx
		opts.NumCtx = &n
	}
	if opts.empty() {
		return nil
	}
	return opts
}

// emptyParameters stands in for a tool declared without parameters:
// Ollama's tool templates expect an object schema.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// chatBody translates an OpenAI chat request into Ollama's. Everything it
// cannot honour is a 400 before any upstream call.
func (o *Ollama) chatBody(call *providers.Call) ([]byte, *providers.Error) {
	req, perr := translate.DecodeChat(call.Body)
	if perr != nil {
		return nil, perr
	}
	if req.N > 1 {
		return nil, translate.Unsupported("n", "ollama returns one choice per request; n must be 1")
	}
	if raw, ok := req.Raw["logprobs"]; ok && string(raw) == "true" {
		return nil, translate.Unsupported("logprobs", "the ollama provider does not return logprobs")
	}
	out := chatRequest{Model: call.Model, Stream: call.Stream, KeepAlive: o.keepAlive,
		Options: o.sampling(req.Temperature, req.TopP, req.TopK, req.MaxTokens, req.Stop, req.Seed,
			req.PresencePenalty, req.FrequencyPenalty)}
	if out.Format, perr = format(req); perr != nil {
		return nil, perr
	}
	if out.Think, perr = o.think(req.ReasoningEffort); perr != nil {
		return nil, perr
	}
	if out.Tools, perr = tools(req); perr != nil {
		return nil, perr
	}
	if out.Messages, perr = messages(req.Messages); perr != nil {
		return nil, perr
	}
	body, err := providers.MarshalJSON(out)
	if err != nil {
		return nil, providers.NewError(http.StatusBadRequest, "invalid_value", "encoding the ollama request: "+err.Error())
	}
	return body, nil
}

// format maps response_format: json_object to "json", json_schema to the
// schema itself.
func format(req *translate.ChatRequest) (json.RawMessage, *providers.Error) {
	rf := req.ResponseFormat
	if rf == nil {
		return nil, nil
	}
	switch rf.Type {
	case "", "text":
		return nil, nil
	case "json_object":
		return json.RawMessage(`"json"`), nil
	case "json_schema":
		if rf.JSONSchema == nil || rf.JSONSchema.Schema == nil {
			return nil, translate.Invalid("response_format", "response_format json_schema needs json_schema.schema")
		}
		schema, err := json.Marshal(rf.JSONSchema.Schema)
		if err != nil || !bytes.HasPrefix(bytes.TrimSpace(schema), []byte("{")) {
			return nil, translate.Invalid("response_format", "json_schema.schema must be a JSON object")
		}
		return schema, nil
	}
	return nil, translate.Unsupported("response_format", fmt.Sprintf("response_format type %q is not supported by ollama", rf.Type))
}

// think maps reasoning_effort: none and minimal turn thinking off; low,
// medium and high are sent as Ollama's levels (or as true with
// think_boolean); xhigh and max ask for Ollama's highest level.
func (o *Ollama) think(effort string) (json.RawMessage, *providers.Error) {
	level := effort
	switch effort {
	case "":
		return nil, nil
	case "none", "minimal":
		return json.RawMessage(`false`), nil
	case "low", "medium", "high":
	case "xhigh", "max":
		level = "high"
	default:
		return nil, translate.Invalid("reasoning_effort", fmt.Sprintf("unknown reasoning_effort %q", effort))
	}
	if o.ThinkBoolean {
		return json.RawMessage(`true`), nil
	}
	return json.RawMessage(`"` + level + `"`), nil
}

// tools maps function tools and tool_choice. Ollama always lets the model
// choose: tool_choice none is honoured by sending no tools, while a forced
// call (required, or a named function) cannot be honoured.
func tools(req *translate.ChatRequest) ([]tool, *providers.Error) {
	if tc := req.ToolChoice; tc != nil {
		switch {
		case tc.Mode == "none":
			return nil, nil
		case tc.Mode == "required" || tc.Function != "":
			return nil, translate.Unsupported("tool_choice", "ollama cannot force a tool call; use tool_choice auto or none")
		}
	}
	var out []tool
	for i, t := range req.Tools {
		if t.Type != "function" || t.Function == nil || t.Function.Name == "" {
			return nil, translate.Unsupported(fmt.Sprintf("tools[%d]", i), "ollama supports only function tools with a name")
		}
		def := toolDefinition{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters}
		if def.Parameters == nil {
			def.Parameters = emptyParameters
		}
		out = append(out, tool{Type: "function", Function: def})
	}
	return out, nil
}

// messages maps the history. Developer messages become system ones;
// images go as bare base64; assistant tool calls carry their arguments as
// objects; tool results carry the called function's name, looked up from
// the assistant message that made the call.
func messages(in []translate.Message) ([]message, *providers.Error) {
	out := make([]message, 0, len(in))
	names := make(map[string]string) // tool call id -> function name
	for i, m := range in {
		msg := message{Role: m.Role, Content: m.Text}
		switch m.Role {
		case "developer":
			msg.Role = "system"
		case "assistant":
			msg.Thinking = m.ReasoningContent
			for j, tc := range m.ToolCalls {
				args, perr := arguments(tc.Function.Arguments)
				if perr != nil {
					perr.Param = fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j)
					return nil, perr
				}
				if tc.ID != "" {
					names[tc.ID] = tc.Function.Name
				}
				msg.ToolCalls = append(msg.ToolCalls, toolCall{Function: toolFunction{Name: tc.Function.Name, Arguments: args}})
			}
		case "tool":
			msg.ToolName = names[m.ToolCallID]
			if msg.ToolName == "" {
				msg.ToolName = m.Name
			}
		}
		for _, p := range m.Parts {
			if p.Type != "image_url" {
				continue
			}
			_, data, ok := p.ImageData()
			if !ok {
				return nil, translate.Invalid(fmt.Sprintf("messages[%d].content", i),
					"ollama needs images as base64 data: URLs (data:image/png;base64,...); it cannot fetch image URLs")
			}
			msg.Images = append(msg.Images, data)
		}
		out = append(out, msg)
	}
	return out, nil
}

// arguments parses an OpenAI arguments string into the object Ollama
// wants; an empty string is a call without arguments.
func arguments(s string) (json.RawMessage, *providers.Error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return json.RawMessage(`{}`), nil
	}
	if !json.Valid([]byte(s)) || s[0] != '{' {
		return nil, translate.Invalid("", "tool call arguments must be a JSON object")
	}
	return json.RawMessage(s), nil
}
