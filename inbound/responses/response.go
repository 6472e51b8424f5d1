package responses

import (
	"encoding/json"
	"strconv"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// response is a Response object.
type response struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	CompletedAt        *int64             `json:"completed_at"`
	Error              *responseError     `json:"error"`
	IncompleteDetails  *incompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int64             `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []any              `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          *reasoningParam    `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        *float64           `json:"temperature"`
	Text               textParam          `json:"text"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              []functionTool     `json:"tools"`
	TopP               *float64           `json:"top_p"`
	Truncation         string             `json:"truncation"`
	// Usage is absent until the response is done.
	Usage    *responseUsage    `json:"usage,omitempty"`
	User     *string           `json:"user,omitempty"`
	Metadata map[string]string `json:"metadata"`
}

// The statuses of a response and of its output items.
const (
	statusInProgress = "in_progress"
	statusCompleted  = "completed"
	statusIncomplete = "incomplete"
	statusFailed     = "failed"
)

// responseError is why a response failed.
type responseError struct {
	// Code is one of the Responses API's: server_error or
	// rate_limit_exceeded for what the gateway reports.
	Code    string `json:"code"`
	Message string `json:"message"`
}

// incompleteDetails says why a response stopped short.
type incompleteDetails struct {
	// Reason is max_output_tokens or content_filter.
	Reason string `json:"reason"`
}

// messageItem is an assistant message of the output.
type messageItem struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Status  string `json:"status"`
	Role    string `json:"role"`
	Content []any  `json:"content"`
}

// outputText is a message's text.
type outputText struct {
	Type        string `json:"type"`
	Annotations []any  `json:"annotations"`
	Logprobs    []any  `json:"logprobs"`
	Text        string `json:"text"`
}

// refusalPart is a message's refusal to answer.
type refusalPart struct {
	Type    string `json:"type"`
	Refusal string `json:"refusal"`
}

// functionCallItem is a call of one of the request's function tools.
type functionCallItem struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Arguments string `json:"arguments"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
}

// reasoningItem is the model's reasoning, as a summary.
type reasoningItem struct {
	ID      string        `json:"id"`
	Type    string        `json:"type"`
	Summary []summaryText `json:"summary"`
}

type summaryText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// responseUsage is a Response's token usage.
type responseUsage struct {
	InputTokens         int                 `json:"input_tokens"`
	InputTokensDetails  inputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int                 `json:"output_tokens"`
	OutputTokensDetails outputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int                 `json:"total_tokens"`
}

type inputTokensDetails struct {
	CachedTokens     int `json:"cached_tokens"`
	CacheWriteTokens int `json:"cache_write_tokens"`
}

type outputTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// chatUsage is the chat API's usage object.
type chatUsage struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *promptTokensDetails     `json:"prompt_tokens_details"`
	CompletionTokensDetails *completionTokensDetails `json:"completion_tokens_details"`
}

type promptTokensDetails struct {
	CachedTokens     int `json:"cached_tokens"`
	CacheWriteTokens int `json:"cache_write_tokens"`
}

type completionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// readUsage reads a chat usage object; ok is false when it cannot.
func readUsage(raw []byte) (_ *chatUsage, ok bool) {
	read, ok := inbound.ParseChatUsage(raw)
	u := &chatUsage{PromptTokens: read.PromptTokens, CompletionTokens: read.CompletionTokens, TotalTokens: read.TotalTokens}
	if read.CachedTokens != 0 || read.CacheWriteTokens != 0 {
		u.PromptTokensDetails = &promptTokensDetails{read.CachedTokens, read.CacheWriteTokens}
	}
	if read.ReasoningTokens != 0 {
		u.CompletionTokensDetails = &completionTokensDetails{read.ReasoningTokens}
	}
	return u, ok
}

// responseUsage is u in the Responses API's terms.
func (u *chatUsage) responseUsage() *responseUsage {
	out := &responseUsage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	if out.TotalTokens == 0 {
		out.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	if d := u.PromptTokensDetails; d != nil {
		out.InputTokensDetails = inputTokensDetails{d.CachedTokens, d.CacheWriteTokens}
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.OutputTokensDetails.ReasoningTokens = d.ReasoningTokens
	}
	return out
}

// finish sets the status a chat finish reason gives the response.
func (r *response) finish(finishReason string, completedAt int64) {
	r.Status = statusCompleted
	switch finishReason {
	case "length":
		r.Status, r.IncompleteDetails = statusIncomplete, &incompleteDetails{Reason: "max_output_tokens"}
	case "content_filter":
		r.Status, r.IncompleteDetails = statusIncomplete, &incompleteDetails{Reason: "content_filter"}
	}
	r.CompletedAt = &completedAt
}

// The output items and their parts are written by hand, the same JSON
// providers.MarshalJSON makes of them: a streamed item goes out in its
// events, the final response and the store, encoded once.

// appendOutputItem appends an output item.
func appendOutputItem(b []byte, item any) []byte {
	switch it := item.(type) {
	case *messageItem:
		return it.appendJSON(b)
	case *functionCallItem:
		return it.appendJSON(b)
	case *reasoningItem:
		return it.appendJSON(b)
	}
	return appendMarshaled(b, item)
}

func (m *messageItem) appendJSON(b []byte) []byte {
	b = appendMember(b, `{"id":`, m.ID)
	b = appendMember(b, `,"type":`, m.Type)
	b = appendMember(b, `,"status":`, m.Status)
	b = appendMember(b, `,"role":`, m.Role)
	b = append(b, `,"content":`...)
	if m.Content == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, part := range m.Content {
			if i > 0 {
				b = append(b, ',')
			}
			switch p := part.(type) {
			case *outputText:
				b = p.appendJSON(b)
			case *refusalPart:
				b = p.appendJSON(b)
			default:
				b = appendMarshaled(b, p)
			}
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (t *outputText) appendJSON(b []byte) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	b = appendMember(b, `{"type":`, t.Type)
	b = appendEmptyList(b, `,"annotations":`, t.Annotations)
	b = appendEmptyList(b, `,"logprobs":`, t.Logprobs)
	b = appendMember(b, `,"text":`, t.Text)
	return append(b, '}')
}

func (p *refusalPart) appendJSON(b []byte) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	b = appendMember(b, `{"type":`, p.Type)
	b = appendMember(b, `,"refusal":`, p.Refusal)
	return append(b, '}')
}

func (c *functionCallItem) appendJSON(b []byte) []byte {
	b = appendMember(b, `{"id":`, c.ID)
	b = appendMember(b, `,"type":`, c.Type)
	b = appendMember(b, `,"status":`, c.Status)
	b = appendMember(b, `,"arguments":`, c.Arguments)
	b = appendMember(b, `,"call_id":`, c.CallID)
	b = appendMember(b, `,"name":`, c.Name)
	return append(b, '}')
}

func (r *reasoningItem) appendJSON(b []byte) []byte {
	b = appendMember(b, `{"id":`, r.ID)
	b = appendMember(b, `,"type":`, r.Type)
	b = append(b, `,"summary":`...)
	if r.Summary == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range r.Summary {
			if i > 0 {
				b = append(b, ',')
			}
			b = s.appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (s summaryText) appendJSON(b []byte) []byte {
	b = appendMember(b, `{"type":`, s.Type)
	b = appendMember(b, `,"text":`, s.Text)
	return append(b, '}')
}

// appendMember appends head, the JSON up to a string member's value, and
// the value s.
func appendMember(b []byte, head, s string) []byte {
	return translate.AppendJSONStringKeepHTML(append(b, head...), s)
}

// appendEmptyList appends head and list, which holds nothing but may be
// nil.
func appendEmptyList(b []byte, head string, list []any) []byte {
	b = append(b, head...)
	switch {
	case list == nil:
		return append(b, "null"...)
	case len(list) == 0:
		return append(b, "[]"...)
	}
	return appendMarshaled(b, list)
}

// appendMarshaled appends v as providers.MarshalJSON writes it, for the
// values the hand-written encoders leave to it.
func appendMarshaled(b []byte, v any) []byte {
	body, err := providers.MarshalJSON(v)
	if err != nil { // cannot happen for the door's types
		return append(b, "null"...)
	}
	return append(b, body...)
}

// appendJSON appends r, with its output items encoded as output: the
// JSON providers.MarshalJSON makes of it, written by hand, as a stream
// writes its response three times. The members a request rarely sets are
// left to encoding/json when it does.
func (r *response) appendJSON(b []byte, output []json.RawMessage) []byte {
	b = appendMember(b, `{"id":`, r.ID)
	b = appendMember(b, `,"object":`, r.Object)
	b = strconv.AppendInt(append(b, `,"created_at":`...), r.CreatedAt, 10)
	b = appendMember(b, `,"status":`, r.Status)
	b = strconv.AppendBool(append(b, `,"background":`...), r.Background)
	b = appendNullableInt(append(b, `,"completed_at":`...), r.CompletedAt)
	b = append(b, `,"error":`...)
	if e := r.Error; e != nil {
		b = appendMember(b, `{"code":`, e.Code)
		b = append(appendMember(b, `,"message":`, e.Message), '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"incomplete_details":`...)
	if d := r.IncompleteDetails; d != nil {
		b = append(appendMember(b, `{"reason":`, d.Reason), '}')
	} else {
		b = append(b, "null"...)
	}
	b = appendNullableString(append(b, `,"instructions":`...), r.Instructions)
	b = appendNullableInt(append(b, `,"max_output_tokens":`...), r.MaxOutputTokens)
	b = appendMember(b, `,"model":`, r.Model)
	b = append(b, `,"output":`...)
	if r.Output == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, item := range output {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, item...)
		}
		b = append(b, ']')
	}
	b = strconv.AppendBool(append(b, `,"parallel_tool_calls":`...), r.ParallelToolCalls)
	b = appendNullableString(append(b, `,"previous_response_id":`...), r.PreviousResponseID)
	b = appendMarshaledOr(append(b, `,"reasoning":`...), r.Reasoning == nil, "null", r.Reasoning)
	b = strconv.AppendBool(append(b, `,"store":`...), r.Store)
	b = appendMarshaledOr(append(b, `,"temperature":`...), r.Temperature == nil, "null", r.Temperature)
	f := r.Text.Format
	plainText := f != nil && f.Type == "text" && f.Name == "" && f.Description == "" && f.Schema == nil && f.Strict == nil && r.Text.Verbosity == nil
	b = appendMarshaledOr(append(b, `,"text":`...), plainText, `{"format":{"type":"text"}}`, &r.Text)
	b = appendMarshaledOr(append(b, `,"tool_choice":`...), string(r.ToolChoice) == `"auto"`, `"auto"`, &r.ToolChoice)
	b = appendMarshaledOr(append(b, `,"tools":`...), r.Tools != nil && len(r.Tools) == 0, "[]", &r.Tools)
	b = appendMarshaledOr(append(b, `,"top_p":`...), r.TopP == nil, "null", r.TopP)
	b = appendMember(b, `,"truncation":`, r.Truncation)
	if r.Usage != nil {
		b = r.Usage.appendJSON(append(b, `,"usage":`...))
	}
	if r.User != nil {
		b = appendMember(b, `,"user":`, *r.User)
	}
	b = appendMarshaledOr(append(b, `,"metadata":`...), r.Metadata != nil && len(r.Metadata) == 0, "{}", r.Metadata)
	return append(b, '}')
}

// appendMarshaledOr appends literal when usual is set, else v as
// providers.MarshalJSON writes it.
func appendMarshaledOr(b []byte, usual bool, literal string, v any) []byte {
	if usual {
		return append(b, literal...)
	}
	return appendMarshaled(b, v)
}

func appendNullableString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return translate.AppendJSONStringKeepHTML(b, *s)
}

// encodeOutput encodes each of r's output items.
func (r *response) encodeOutput() []json.RawMessage {
	out := make([]json.RawMessage, len(r.Output))
	for i, item := range r.Output {
		out[i] = appendOutputItem(nil, item)
	}
	return out
}

func (u *responseUsage) appendJSON(b []byte) []byte {
	if u == nil {
		return append(b, "null"...)
	}
	b = strconv.AppendInt(append(b, `{"input_tokens":`...), int64(u.InputTokens), 10)
	b = strconv.AppendInt(append(b, `,"input_tokens_details":{"cached_tokens":`...), int64(u.InputTokensDetails.CachedTokens), 10)
	b = strconv.AppendInt(append(b, `,"cache_write_tokens":`...), int64(u.InputTokensDetails.CacheWriteTokens), 10)
	b = strconv.AppendInt(append(b, `},"output_tokens":`...), int64(u.OutputTokens), 10)
	b = strconv.AppendInt(append(b, `,"output_tokens_details":{"reasoning_tokens":`...), int64(u.OutputTokensDetails.ReasoningTokens), 10)
	b = strconv.AppendInt(append(b, `},"total_tokens":`...), int64(u.TotalTokens), 10)
	return append(b, '}')
}

func appendNullableInt(b []byte, n *int64) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *n, 10)
}
