package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// createRequest is what the door reads of a `POST /v1/responses` body.
// Members it does not know are ignored.
type createRequest struct {
	Model             *string           `json:"model"`
	Input             json.RawMessage   `json:"input"`
	Instructions      *string           `json:"instructions"`
	Tools             []json.RawMessage `json:"tools"`
	ToolChoice        json.RawMessage   `json:"tool_choice"`
	ParallelToolCalls *bool             `json:"parallel_tool_calls"`
	Text              *textParam        `json:"text"`
	Reasoning         *reasoningParam   `json:"reasoning"`
	MaxOutputTokens   *int64            `json:"max_output_tokens"`
	Temperature       *float64          `json:"temperature"`
	TopP              *float64          `json:"top_p"`
	Metadata          map[string]string `json:"metadata"`
	User              *string           `json:"user"`
	Stream            bool              `json:"stream"`
	Store             *bool             `json:"store"`
	Truncation        *string           `json:"truncation"`
	// Passed on as the chat API's members of the same names.
	ServiceTier          *string `json:"service_tier"`
	SafetyIdentifier     *string `json:"safety_identifier"`
	PromptCacheKey       *string `json:"prompt_cache_key"`
	PromptCacheRetention *string `json:"prompt_cache_retention"`

	// Refused when set: a translated call cannot honour them.
	PreviousResponseID *string         `json:"previous_response_id"`
	Background         *bool           `json:"background"`
	Conversation       json.RawMessage `json:"conversation"`
	Prompt             json.RawMessage `json:"prompt"`
	TopLogprobs        *int            `json:"top_logprobs"`
}

// textParam is `text`: the answer's format and verbosity.
type textParam struct {
	Format    *textFormat `json:"format,omitempty"`
	Verbosity *string     `json:"verbosity,omitempty"`
}

// textFormat is `text.format`: text, json_object, or json_schema with the
// schema's members beside `type`.
type textFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// reasoningParam is `reasoning`.
type reasoningParam struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

// chatRequest is the chat completion request a Responses request becomes.
type chatRequest struct {
	Model                string            `json:"model,omitempty"`
	Messages             []chatMessage     `json:"messages"`
	Tools                []chatTool        `json:"tools,omitempty"`
	ToolChoice           any               `json:"tool_choice,omitempty"`
	ParallelToolCalls    *bool             `json:"parallel_tool_calls,omitempty"`
	ResponseFormat       any               `json:"response_format,omitempty"`
	ReasoningEffort      *string           `json:"reasoning_effort,omitempty"`
	Verbosity            *string           `json:"verbosity,omitempty"`
	MaxCompletionTokens  *int64            `json:"max_completion_tokens,omitempty"`
	Temperature          *float64          `json:"temperature,omitempty"`
	TopP                 *float64          `json:"top_p,omitempty"`
	Metadata             map[string]string `json:"metadata,omitempty"`
	User                 *string           `json:"user,omitempty"`
	ServiceTier          *string           `json:"service_tier,omitempty"`
	SafetyIdentifier     *string           `json:"safety_identifier,omitempty"`
	PromptCacheKey       *string           `json:"prompt_cache_key,omitempty"`
	PromptCacheRetention *string           `json:"prompt_cache_retention,omitempty"`
	Stream               bool              `json:"stream,omitempty"`
	StreamOptions        *streamOptions    `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// serveCreate answers POST /v1/responses. The request is checked and
// translated before it runs through the pipeline; one that continues an
// earlier response is translated again once its caller is known, with the
// earlier conversation before its input.
func (d *Door) serveCreate(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	body, perr := hub.ReadBody(w, r)
	var req *createRequest
	if perr == nil {
		req, perr = parseCreate(body, d.Store != nil)
	}
	var input []json.RawMessage
	if perr == nil {
		input, perr = inputItems(req.Input)
	}
	var chat []byte
	var tools *toolSet
	if perr == nil {
		chat, tools, perr = req.chatBody(input, nil)
	}
	if perr != nil {
		hub.Refuse(w, r, perr, inbound.OpenAIErrors{})
		return
	}
	if len(tools.left) > 0 {
		hub.Logger().Info("built-in tools the provider cannot run left out of the translated call",
			zap.String("request_id", w.Header().Get("X-Request-Id")), zap.Strings("tools", tools.left))
	}
	t := newTranslator(req, tools, input)
	if req.storing() {
		t.store = d.Store
	}
	x := &inbound.Exchange{Chat: chat, Translator: t}
	d.relayNatively(x, req, body, t)
	x.Authorized = func(caller string) *providers.Error {
		t.caller = caller
		if req.PreviousResponseID == nil {
			return nil
		}
		prev, err := d.Store.get(caller, *req.PreviousResponseID)
		if err != nil {
			return storeFailed(hub, w, err)
		}
		if prev == nil {
			return previousNotFound(*req.PreviousResponseID)
		}
		if perr := continueNatively(x, req, prev); perr != nil || prev.holder != "" {
			return perr
		}
		t.history = prev.conversation()
		chat, _, perr := req.chatBody(input, t.history)
		x.Chat = chat
		return perr
	}
	hub.Serve(w, r, x)
}

// previousNotFound is OpenAI's answer to a previous_response_id it does
// not have, or the caller may not see.
func previousNotFound(id string) *providers.Error {
	e := providers.NewError(http.StatusNotFound, "previous_response_not_found",
		"Previous response with id '"+providers.Clip(id, 256)+"' not found.")
	e.Param = "previous_response_id"
	return e
}

// storing reports whether the response is to be kept: `store` is true
// unless the request says otherwise.
func (req *createRequest) storing() bool { return req.Store == nil || *req.Store }

// parseCreate decodes a Responses request and refuses what a translated
// call cannot honour; kept tells whether the gateway keeps responses.
func parseCreate(body []byte, kept bool) (*createRequest, *providers.Error) {
	var req createRequest
	if err := json.Unmarshal(body, &req); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return nil, translate.Invalid(te.Field, fmt.Sprintf("invalid type for `%s`: got a JSON %s", te.Field, te.Value))
		}
		return nil, translate.Invalid("", "the request body is not a valid JSON object")
	}
	if req.PreviousResponseID != nil && *req.PreviousResponseID == "" {
		req.PreviousResponseID = nil
	}
	switch {
	case req.Background != nil && *req.Background:
		return nil, translate.Unsupported("background", "background responses are not supported by the gateway; send the request without `background`")
	case req.PreviousResponseID != nil && !kept:
		return nil, translate.Unsupported("previous_response_id", "this gateway keeps no responses (response_store off): send the whole conversation in `input` instead of `previous_response_id`")
	case len(req.Conversation) > 0 && !isNull(req.Conversation):
		return nil, translate.Unsupported("conversation", "conversations are not supported by the gateway; send the whole conversation in `input`")
	case len(req.Prompt) > 0 && !isNull(req.Prompt):
		return nil, translate.Unsupported("prompt", "prompt templates kept by OpenAI cannot be used through the gateway; send the prompt in `input`")
	case req.TopLogprobs != nil && *req.TopLogprobs > 0:
		return nil, translate.Unsupported("top_logprobs", "log probabilities are not supported on this model through the gateway")
	case req.MaxOutputTokens != nil && *req.MaxOutputTokens < 1:
		return nil, translate.Invalid("max_output_tokens", "max_output_tokens must be at least 1")
	}
	return &req, nil
}

// chatBody is the chat completion request req becomes, its input items
// after history, the items of the responses it continues; and the tools
// it offers the model.
func (req *createRequest) chatBody(input, history []json.RawMessage) ([]byte, *toolSet, *providers.Error) {
	tools, perr := readTools(req.Tools)
	if perr != nil {
		return nil, nil, perr
	}
	chat := chatRequest{
		ParallelToolCalls: req.ParallelToolCalls, MaxCompletionTokens: req.MaxOutputTokens,
		Temperature: req.Temperature, TopP: req.TopP, Metadata: req.Metadata, User: req.User,
		ServiceTier: req.ServiceTier, SafetyIdentifier: req.SafetyIdentifier,
		PromptCacheKey: req.PromptCacheKey, PromptCacheRetention: req.PromptCacheRetention,
		Stream: req.Stream,
	}
	if req.Model != nil {
		chat.Model = *req.Model
	}
	if req.Stream {
		// response.completed carries the usage.
		chat.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	if chat.ToolChoice, perr = tools.choose(req.ToolChoice); perr != nil {
		return nil, nil, perr
	}
	if chat.Tools = tools.chatTools(); len(chat.Tools) == 0 {
		// The chat API refuses these without tools.
		chat.ToolChoice, chat.ParallelToolCalls = nil, nil
	}
	if req.Text != nil {
		chat.Verbosity = req.Text.Verbosity
		if chat.ResponseFormat, perr = req.Text.Format.chatFormat(); perr != nil {
			return nil, nil, perr
		}
	}
	if req.Reasoning != nil {
		chat.ReasoningEffort = req.Reasoning.Effort
	}
	if req.Instructions != nil && *req.Instructions != "" {
		chat.Messages = append(chat.Messages, chatMessage{Role: "system", Content: *req.Instructions})
	}
	if text, ok := jsonscan.String(req.Input); ok && len(history) == 0 {
		// What readItems makes of the one item of a string input.
		chat.Messages = append(chat.Messages, chatMessage{Role: "user", Content: text})
	} else {
		messages, perr := readItems(append(slices.Clip(history), input...), len(history))
		if perr != nil {
			return nil, nil, perr
		}
		chat.Messages = append(chat.Messages, messages...)
	}
	if len(chat.Messages) == 0 {
		return nil, nil, translate.Invalid("input", "input must be a non-empty string or array of items")
	}
	body, err := providers.MarshalJSON(chat)
	if err != nil {
		return nil, nil, translate.Invalid("", "the request cannot be translated: "+err.Error())
	}
	return body, tools, nil
}

// chatFormat is the chat API's response_format for a `text.format`; nil
// for plain text.
func (f *textFormat) chatFormat() (any, *providers.Error) {
	if f == nil {
		return nil, nil
	}
	switch f.Type {
	case "", "text":
		return nil, nil
	case "json_object":
		return map[string]string{"type": "json_object"}, nil
	case "json_schema":
		if len(f.Schema) == 0 || f.Name == "" {
			return nil, translate.Invalid("text.format", "text.format of type json_schema needs a `name` and a `schema`")
		}
		type jsonSchema struct {
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Schema      json.RawMessage `json:"schema"`
			Strict      *bool           `json:"strict,omitempty"`
		}
		return struct {
			Type       string     `json:"type"`
			JSONSchema jsonSchema `json:"json_schema"`
		}{"json_schema", jsonSchema{f.Name, f.Description, f.Schema, f.Strict}}, nil
	}
	return nil, translate.Invalid("text.format.type", fmt.Sprintf("unknown text.format type %q: want text, json_object or json_schema", f.Type))
}

// isNull reports whether raw is the JSON null.
func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}
