package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// translator turns the chat answers of one Responses request into
// Responses; echo holds what every Response to it repeats of the request.
// A response it answers goes to store, when set, for caller, with the
// conversation it continues (history) and its input.
type translator struct {
	inbound.OpenAIErrors
	echo response

	store   *Store
	caller  string
	history []json.RawMessage
	input   []json.RawMessage
}

func newTranslator(req *createRequest, tools *toolSet, input []json.RawMessage) *translator {
	echo := response{
		ID: translate.NewID("resp_"), Object: "response", CreatedAt: time.Now().Unix(), Status: statusInProgress,
		Instructions: req.Instructions, MaxOutputTokens: req.MaxOutputTokens, ParallelToolCalls: true,
		Reasoning: req.Reasoning, Temperature: req.Temperature, TopP: req.TopP, ToolChoice: tools.choice,
		Tools: tools.echoed(), Truncation: "disabled", User: req.User, Metadata: req.Metadata,
		Output: []any{}, Text: textParam{Format: &textFormat{Type: "text"}},
		PreviousResponseID: req.PreviousResponseID,
	}
	if req.ParallelToolCalls != nil {
		echo.ParallelToolCalls = *req.ParallelToolCalls
	}
	if req.Text != nil {
		echo.Text.Verbosity = req.Text.Verbosity
		if req.Text.Format != nil {
			echo.Text.Format = req.Text.Format
		}
	}
	if req.Truncation != nil {
		echo.Truncation = *req.Truncation
	}
	if echo.Metadata == nil {
		echo.Metadata = map[string]string{}
	}
	return &translator{echo: echo, input: input}
}

// start is a new Response to the request, answered by the public model.
func (t *translator) start(model string) *response {
	r := t.echo
	r.Model, r.Store = model, t.store != nil
	r.Output = []any{}
	return &r
}

// keep stores a copy of the answered response id, encoded as body with
// its output items, when the request is to be kept.
func (t *translator) keep(id string, body []byte, output []json.RawMessage) {
	if t.store == nil {
		return
	}
	t.store.put(&stored{id: id, caller: t.caller, response: bytes.Clone(body), inputCount: len(t.input),
		context: append(slices.Clip(t.history), t.input...), output: output})
}

// chatCompletion is what the door reads of a chat completion.
type chatCompletion struct {
	Choices []completionChoice `json:"choices"`
	Usage   *chatUsage         `json:"usage"`
}

type completionChoice struct {
	Message      completionMessage `json:"message"`
	FinishReason string            `json:"finish_reason"`
}

type completionMessage struct {
	Content          *string              `json:"content"`
	Refusal          *string              `json:"refusal"`
	ReasoningContent string               `json:"reasoning_content"`
	ToolCalls        []completionToolCall `json:"tool_calls"`
}

type completionToolCall struct {
	ID       string       `json:"id"`
	Function chatFunction `json:"function"`
}

// readCompletion reads a chat completion as json.Unmarshal does, without
// reflection for the completions of nearly every answer.
func readCompletion(body []byte) (*chatCompletion, error) {
	raw, ok := inbound.ReadCompletion(body)
	c := &chatCompletion{Choices: make([]completionChoice, 1)}
	m := &c.Choices[0].Message
	if ok && raw.Usage != nil {
		c.Usage, ok = readUsage(raw.Usage)
	}
	if ok && raw.ToolCalls != nil {
		ok = json.Unmarshal(raw.ToolCalls, &m.ToolCalls) == nil
	}
	if !ok {
		c = &chatCompletion{}
		return c, json.Unmarshal(body, c)
	}
	m.Content, m.Refusal = stringOrNil(raw.Content), stringOrNil(raw.Refusal)
	m.ReasoningContent, _ = jsonscan.String(raw.ReasoningContent)
	c.Choices[0].FinishReason, _ = jsonscan.String(raw.FinishReason)
	return c, nil
}

// stringOrNil decodes the JSON string raw; nil for no string.
func stringOrNil(raw []byte) *string {
	if raw == nil {
		return nil
	}
	s, _ := jsonscan.String(raw)
	return &s
}

// errNoChoice is a chat completion without an answer.
var errNoChoice = errors.New("the chat completion has no choices")

// Answer turns a chat completion into a Response: the reasoning, then the
// message, then the function calls, as OpenAI orders them.
func (t *translator) Answer(chat []byte, model string) ([]byte, error) {
	c, err := readCompletion(chat)
	if err != nil {
		return nil, err
	}
	if len(c.Choices) == 0 {
		return nil, errNoChoice
	}
	choice := &c.Choices[0]
	m := &choice.Message
	r := t.start(model)
	r.finish(choice.FinishReason, time.Now().Unix())
	if m.ReasoningContent != "" {
		r.Output = append(r.Output, &reasoningItem{ID: translate.NewID("rs_"), Type: "reasoning",
			Summary: []summaryText{{Type: "summary_text", Text: m.ReasoningContent}}})
	}
	switch {
	case m.Refusal != nil && *m.Refusal != "":
		r.Output = append(r.Output, newMessage(r.Status, &refusalPart{Type: "refusal", Refusal: *m.Refusal}))
	case (m.Content != nil && *m.Content != "") || len(m.ToolCalls) == 0:
		var text string
		if m.Content != nil {
			text = *m.Content
		}
		r.Output = append(r.Output, newMessage(r.Status, newText(text)))
	}
	for _, tc := range m.ToolCalls {
		r.Output = append(r.Output, &functionCallItem{ID: translate.NewID("fc_"), Type: "function_call", Status: statusCompleted,
			Arguments: tc.Function.Arguments, CallID: tc.ID, Name: tc.Function.Name})
	}
	if c.Usage != nil {
		r.Usage = c.Usage.responseUsage()
	}
	output := r.encodeOutput()
	body := r.appendJSON(nil, output)
	t.keep(r.ID, body, output)
	return body, nil
}

// newMessage is an assistant message of the given status and content.
func newMessage(status string, content ...any) *messageItem {
	m := newMessageWithID(translate.NewID("msg_"), content...)
	if status == statusIncomplete {
		m.Status = status
	}
	return m
}

// newMessageWithID is a completed assistant message.
func newMessageWithID(id string, content ...any) *messageItem {
	return &messageItem{ID: id, Type: "message", Status: statusCompleted, Role: "assistant", Content: content}
}

// newText is an output_text part.
func newText(text string) *outputText {
	return &outputText{Type: "output_text", Annotations: []any{}, Logprobs: []any{}, Text: text}
}

// Stream returns the encoder of a streamed answer.
func (t *translator) Stream(model string) inbound.StreamEncoder {
	return &events{r: t.start(model), t: t}
}

// Interface guards
var _ inbound.Translator = (*translator)(nil)
