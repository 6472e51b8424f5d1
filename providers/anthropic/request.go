package anthropic

import (
	"encoding/json"
	"fmt"

	openai "github.com/sashabaranov/go-openai"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// messagesRequest is the body of POST /v1/messages.
type messagesRequest struct {
	Model         string      `json:"model"`
	MaxTokens     int         `json:"max_tokens"`
	System        string      `json:"system,omitempty"`
	Messages      []message   `json:"messages"`
	Tools         []tool      `json:"tools,omitempty"`
	ToolChoice    *toolChoice `json:"tool_choice,omitempty"`
	Temperature   *float64    `json:"temperature,omitempty"`
	TopP          *float64    `json:"top_p,omitempty"`
	TopK          *int        `json:"top_k,omitempty"`
	StopSequences []string    `json:"stop_sequences,omitempty"`
	Metadata      *metadata   `json:"metadata,omitempty"`
	Thinking      *thinking   `json:"thinking,omitempty"`
	Stream        bool        `json:"stream,omitempty"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens"`
}

// thinkingBudgets maps reasoning_effort to a thinking budget; efforts
// without an entry (none, minimal) leave thinking off.
var thinkingBudgets = map[string]int{
	"low":    1024,
	"medium": 4096,
	"high":   16384,
	"xhigh":  32768,
	"max":    32768,
}

// emptySchema stands in for a function without parameters: Anthropic
// requires an object schema on every tool.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// buildRequest translates a decoded OpenAI chat request. jsonTool is the
// name of the tool that carries a response_format answer, or empty.
func (a *Anthropic) buildRequest(call *providers.Call, chat *translate.ChatRequest) (_ *messagesRequest, jsonTool string, _ *providers.Error) {
	if chat.N > 1 {
		return nil, "", translate.Unsupported("n", "Anthropic models answer with one choice: n must be 1")
	}
	if string(chat.Raw["logprobs"]) == "true" {
		return nil, "", translate.Unsupported("logprobs", "Anthropic models do not return log probabilities")
	}
	out := &messagesRequest{Model: call.Model, System: chat.SystemText(), Stream: call.Stream,
		TopP: chat.TopP, TopK: chat.TopK}
	if t := chat.Temperature; t != nil {
		if *t < 0 || *t > 1 {
			return nil, "", translate.Invalid("temperature", fmt.Sprintf("temperature %g is out of range: Anthropic models accept 0 to 1", *t))
		}
		out.Temperature = t
	}
	for _, s := range chat.Stop {
		if s != "" { // Anthropic refuses empty stop sequences
			out.StopSequences = append(out.StopSequences, s)
		}
	}
	if chat.User != "" {
		out.Metadata = &metadata{UserID: chat.User}
	}
	var perr *providers.Error
	if out.Messages, perr = convertMessages(chat); perr != nil {
		return nil, "", perr
	}
	if len(out.Messages) == 0 {
		return nil, "", translate.Invalid("messages", "messages needs at least one user or assistant message with content besides the system messages")
	}
	if out.Tools, perr = convertTools(chat.Tools); perr != nil {
		return nil, "", perr
	}
	if len(out.Tools) > 0 {
		out.ToolChoice = convertToolChoice(chat.ToolChoice, chat.ParallelToolCalls)
	}
	budget, perr := thinkingBudget(chat.ReasoningEffort)
	if perr != nil {
		return nil, "", perr
	}
	if budget > 0 && openToolTurn(out.Messages) {
		// The client cannot send back the signed thinking block Anthropic
		// demands at the start of an unfinished tool-use turn; without
		// thinking the same history is valid.
		budget = 0
	}
	if jsonTool, perr = applyResponseFormat(out, chat, budget); perr != nil {
		return nil, "", perr
	}
	out.MaxTokens = chat.MaxTokens
	switch {
	case out.MaxTokens == 0:
		out.MaxTokens = a.MaxTokens + budget
	case budget > 0 && out.MaxTokens <= budget:
		// Raising the client's limit would spend more than it allowed (and
		// than the gateway reserved for it): refuse instead.
		return nil, "", translate.Invalid("max_tokens", fmt.Sprintf(
			"max_tokens %d must be larger than the thinking budget of %d tokens that reasoning_effort %q selects on Anthropic models; raise max_tokens or lower reasoning_effort",
			out.MaxTokens, budget, chat.ReasoningEffort))
	}
	if budget > 0 {
		out.Thinking = &thinking{Type: "enabled", BudgetTokens: budget}
	}
	return out, jsonTool, nil
}

// thinkingBudget returns the thinking budget for a reasoning_effort.
func thinkingBudget(effort string) (int, *providers.Error) {
	switch effort {
	case "", "none", "minimal":
		return 0, nil
	}
	budget, ok := thinkingBudgets[effort]
	if !ok {
		return 0, translate.Invalid("reasoning_effort", fmt.Sprintf("unknown reasoning_effort %q: want none, minimal, low, medium, high, xhigh or max", effort))
	}
	return budget, nil
}

// convertTools turns OpenAI function tools into Anthropic tools.
func convertTools(tools []openai.Tool) ([]tool, *providers.Error) {
	out := make([]tool, 0, len(tools))
	for i, t := range tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "" && t.Type != openai.ToolTypeFunction {
			return nil, translate.Unsupported(param+".type", fmt.Sprintf("tools of type %q are not supported by Anthropic models; use function tools", t.Type))
		}
		if t.Function == nil || t.Function.Name == "" {
			return nil, translate.Invalid(param+".function.name", "a function tool needs function.name")
		}
		schema, err := inputSchema(t.Function.Parameters)
		if err != nil {
			return nil, translate.Invalid(param+".function.parameters", "function.parameters must be a JSON Schema object")
		}
		out = append(out, tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	return out, nil
}

// inputSchema encodes a function's parameters, which Anthropic requires to
// be an object schema with a type.
func inputSchema(params any) (json.RawMessage, error) {
	switch p := params.(type) {
	case nil:
		return emptySchema, nil
	case map[string]any:
		if len(p) == 0 {
			return emptySchema, nil
		}
		if _, ok := p["type"]; !ok {
			withType := make(map[string]any, len(p)+1)
			for k, v := range p {
				withType[k] = v
			}
			withType["type"] = "object"
			p = withType
		}
		return providers.MarshalJSON(p)
	default:
		return nil, fmt.Errorf("parameters of type %T", params)
	}
}

// convertToolChoice maps tool_choice and parallel_tool_calls; nil leaves
// Anthropic's default (auto, parallel calls allowed).
func convertToolChoice(choice *translate.ToolChoice, parallel *bool) *toolChoice {
	noParallel := parallel != nil && !*parallel
	var out *toolChoice
	switch {
	case choice == nil:
		if noParallel {
			out = &toolChoice{Type: "auto"}
		}
	case choice.Function != "":
		out = &toolChoice{Type: "tool", Name: choice.Function}
	case choice.Mode == "required":
		out = &toolChoice{Type: "any"}
	case choice.Mode == "none":
		// disable_parallel_tool_use is not allowed on none.
		return &toolChoice{Type: "none"}
	default:
		out = &toolChoice{Type: "auto"}
	}
	if out != nil {
		out.DisableParallelToolUse = noParallel
	}
	return out
}
