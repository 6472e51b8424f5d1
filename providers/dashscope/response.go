package dashscope

import (
	"encoding/json"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// frame is one native answer: a whole non-streamed body, or one stream
// event's data. An error frame has Code set and no output.
type frame struct {
	Output    output       `json:"output"`
	Usage     *nativeUsage `json:"usage"`
	RequestID string       `json:"request_id"`
	Code      string       `json:"code"`
	Message   string       `json:"message"`
}

type output struct {
	Choices []nativeChoice `json:"choices"`
	// Text and FinishReason are the `result_format: "text"` form, which
	// some models answer with whatever was asked.
	Text         *string `json:"text"`
	FinishReason string  `json:"finish_reason"`
}

type nativeChoice struct {
	Index        *int   `json:"index"`
	FinishReason string `json:"finish_reason"`
	Message      struct {
		Content          json.RawMessage  `json:"content"`
		ReasoningContent string           `json:"reasoning_content"`
		ToolCalls        []nativeToolCall `json:"tool_calls"`
	} `json:"message"`
}

type nativeToolCall struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type nativeUsage struct {
	InputTokens         int            `json:"input_tokens"`
	OutputTokens        int            `json:"output_tokens"`
	PromptTokensDetails *tokenDetails  `json:"prompt_tokens_details"`
	InputTokensDetails  *tokenDetails  `json:"input_tokens_details"`
	OutputTokensDetails *outputDetails `json:"output_tokens_details"`
}

type tokenDetails struct {
	CachedTokens *int `json:"cached_tokens"`
}

type outputDetails struct {
	ReasoningTokens *int `json:"reasoning_tokens"`
}

// plainID reports whether a request id is short and plain enough to
// become part of an answer id.
func plainID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isError reports whether the frame is an error report rather than an
// answer.
func (f *frame) isError() bool {
	return f.Code != "" && len(f.Output.Choices) == 0 && f.Output.Text == nil
}

// choices returns the frame's choices, turning the text form into one.
func (f *frame) choices() []nativeChoice {
	if len(f.Output.Choices) > 0 || f.Output.Text == nil {
		return f.Output.Choices
	}
	c := nativeChoice{FinishReason: f.Output.FinishReason}
	c.Message.Content, _ = json.Marshal(*f.Output.Text)
	return []nativeChoice{c}
}

// usage converts the native usage object.
func (u *nativeUsage) usage() translate.Usage {
	out := translate.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens}
	for _, d := range []*tokenDetails{u.PromptTokensDetails, u.InputTokensDetails} {
		if d != nil && d.CachedTokens != nil {
			out.PromptTokensDetails = &translate.PromptDetails{CachedTokens: *d.CachedTokens}
			break
		}
	}
	if d := u.OutputTokensDetails; d != nil && d.ReasoningTokens != nil {
		out.CompletionTokensDetails = &translate.CompletionDetails{ReasoningTokens: *d.ReasoningTokens}
	}
	return out
}

// contentText reads a message's content: a string on the text endpoint, a
// list of {"text":...} objects on the multimodal one.
func contentText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// argumentsText reads tool-call arguments: a JSON string as documented, or
// an object some models emit, used as its JSON text.
func argumentsText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// outputMode says how a stream's texts relate from event to event.
type outputMode int

const (
	// modeUnknown: no field has had two non-empty values yet.
	modeUnknown outputMode = iota
	// modeIncremental: each event carries only new text (incremental_output).
	modeIncremental
	// modeCumulative: each event repeats the text so far; the gateway
	// sends the new suffix. DashScope does this when incremental output is
	// off or ignored (older services with tools).
	modeCumulative
)

// text is one growing text: content, reasoning or a call's arguments.
type text struct {
	// prev is the last value in cumulative mode, and the text so far
	// while the mode is unknown.
	prev string
	// all is the whole text, kept only to build a non-streamed answer.
	all strings.Builder
	// n counts the bytes delivered.
	n int
}

// answer rebuilds one DashScope answer from its frames. With emit set it
// writes OpenAI chunks as it goes; without, it keeps everything for one
// non-streamed body.
type answer struct {
	out  translate.Answer
	emit func([]byte)
	// want is the number of choices asked for.
	want      int
	mode      outputMode
	choices   []*choiceState
	byIndex   map[int]*choiceState
	usage     translate.Usage
	requestID string
	emitted   bool
}

type choiceState struct {
	index     int
	content   text
	reasoning text
	calls     []*callState
	byIndex   map[int]*callState
	byID      map[string]*callState
	finish    string // the OpenAI finish reason once finished
}

type callState struct {
	pos      int
	id, name string
	args     text
	started  bool            // the OpenAI delta with id and name went out
	pending  strings.Builder // arguments that arrived before the name
}

func newAnswer(out translate.Answer, want int, emit func([]byte)) *answer {
	return &answer{out: out, emit: emit, want: max(want, 1), byIndex: make(map[int]*choiceState)}
}

func (a *answer) push(chunk []byte) {
	if a.emit != nil {
		a.emit(chunk)
		a.emitted = true
	}
}

// add takes in one frame.
func (a *answer) add(f *frame) {
	if f.RequestID != "" && a.requestID == "" {
		a.requestID = f.RequestID
		if !a.emitted && plainID(f.RequestID) {
			// DashScope has no answer id; its request id serves, as
			// DashScope's own OpenAI-compatible mode does.
			a.out.ID = "chatcmpl-" + f.RequestID
		}
	}
	if f.Usage != nil {
		// Cumulative in every event: the last one is the total.
		a.usage = f.Usage.usage()
	}
	for i, nc := range f.choices() {
		idx := i
		if nc.Index != nil {
			idx = *nc.Index
		}
		c := a.byIndex[idx]
		if c == nil {
			c = &choiceState{index: len(a.choices), byIndex: make(map[int]*callState), byID: make(map[string]*callState)}
			a.byIndex[idx] = c
			a.choices = append(a.choices, c)
			a.push(a.out.RoleChunk(c.index))
		}
		if c.finish != "" {
			continue
		}
		a.addChoice(c, &nc)
	}
}

func (a *answer) addChoice(c *choiceState, nc *nativeChoice) {
	if d := a.delta(&c.reasoning, nc.Message.ReasoningContent); d != "" {
		a.push(a.out.ReasoningChunk(c.index, d))
	}
	if d := a.delta(&c.content, contentText(nc.Message.Content)); d != "" {
		a.push(a.out.TextChunk(c.index, d))
	}
	calls := nc.Message.ToolCalls
	for i := range calls {
		a.addCall(c, a.callFor(c, calls, i), &calls[i])
	}
	if r := nc.FinishReason; r != "" && r != "null" {
		a.finish(c, r)
	}
}

// callFor finds the call a tool-call element continues, or opens one.
// Elements carry DashScope's index when it sends one; later fragments of
// a call may carry an empty id, and some omit the index.
func (a *answer) callFor(c *choiceState, calls []nativeToolCall, i int) *callState {
	el := &calls[i]
	open := func() *callState {
		cs := &callState{pos: len(c.calls)}
		c.calls = append(c.calls, cs)
		return cs
	}
	if el.Index != nil {
		cs := c.byIndex[*el.Index]
		if cs == nil || (el.ID != "" && cs.id != "" && el.ID != cs.id) {
			cs = open()
			c.byIndex[*el.Index] = cs
		}
		return cs
	}
	if el.ID != "" {
		if cs := c.byID[el.ID]; cs != nil {
			return cs
		}
		return open()
	}
	if len(calls) > 1 && i < len(c.calls) {
		return c.calls[i] // a cumulative frame repeating every call in order
	}
	if len(c.calls) > 0 {
		return c.calls[len(c.calls)-1]
	}
	return open()
}

func (a *answer) addCall(c *choiceState, cs *callState, el *nativeToolCall) {
	// Later fragments repeat id and name as "": they must not erase them.
	if cs.id == "" && el.ID != "" {
		cs.id = el.ID
		if c.byID[el.ID] == nil {
			c.byID[el.ID] = cs
		}
	}
	if cs.name == "" && el.Function.Name != "" {
		cs.name = el.Function.Name
	}
	d := a.delta(&cs.args, argumentsText(el.Function.Arguments))
	switch {
	case cs.started:
		if d != "" {
			a.push(a.out.ToolCallArguments(c.index, cs.pos, d))
		}
	case cs.name != "":
		cs.pending.WriteString(d)
		a.startCall(c, cs, cs.pending.String())
	default:
		cs.pending.WriteString(d)
	}
}

func (a *answer) startCall(c *choiceState, cs *callState, args string) {
	cs.started = true
	cs.pending.Reset()
	if cs.id == "" {
		cs.id = translate.NewID("call_")
	}
	a.push(a.out.ToolCallStart(c.index, cs.pos, cs.id, cs.name, args))
}

// finish ends a choice: calls still unopened go out now, and a call that
// got no argument text gets "{}" so clients can parse it.
func (a *answer) finish(c *choiceState, reason string) {
	for _, cs := range c.calls {
		switch {
		case !cs.started && cs.args.n == 0:
			a.startCall(c, cs, "{}")
			a.record(&cs.args, "{}")
		case !cs.started:
			a.startCall(c, cs, cs.pending.String())
		case cs.args.n == 0:
			a.push(a.out.ToolCallArguments(c.index, cs.pos, "{}"))
			a.record(&cs.args, "{}")
		}
	}
	c.finish = finishReason(reason, len(c.calls) > 0)
	a.push(a.out.FinishChunk(c.index, c.finish))
}

// delta returns what v adds to t, telling incremental from cumulative
// output at the first field that gets a second value.
func (a *answer) delta(t *text, v string) string {
	if v == "" {
		return ""
	}
	if a.mode == modeUnknown && t.n > 0 {
		if strings.HasPrefix(v, t.prev) {
			a.mode = modeCumulative
		} else {
			a.mode = modeIncremental
		}
	}
	var d string
	switch a.mode {
	case modeCumulative:
		if len(v) > len(t.prev) {
			d = v[len(t.prev):]
		}
		t.prev = v
	case modeIncremental:
		d, t.prev = v, ""
	default:
		// Until the mode is known, a field has had one value at most.
		d = v
		t.prev += v
	}
	a.record(t, d)
	return d
}

// record counts text delivered, and keeps it for a non-streamed answer.
func (a *answer) record(t *text, d string) {
	t.n += len(d)
	if a.emit == nil {
		t.all.WriteString(d)
	}
}

// finishReason maps DashScope's finish reason; an answer that ended with
// tool calls reports tool_calls as OpenAI does.
func finishReason(r string, calls bool) string {
	switch r {
	case "length":
		return "length"
	case "content_filter", "sensitive":
		return "content_filter"
	case "tool_calls", "function_call":
		return "tool_calls"
	}
	if calls {
		return "tool_calls"
	}
	return "stop"
}

// complete reports whether every choice has finished. At the end of the
// input, fewer choices than asked for are accepted (models without n
// answer with one).
func (a *answer) complete(atEnd bool) bool {
	if len(a.choices) == 0 || (!atEnd && len(a.choices) < a.want) {
		return false
	}
	for _, c := range a.choices {
		if c.finish == "" {
			return false
		}
	}
	return true
}

// result returns the choices of a non-streamed answer.
func (a *answer) result() []translate.Choice {
	out := make([]translate.Choice, len(a.choices))
	for i, c := range a.choices {
		ch := translate.Choice{Text: c.content.all.String(), ReasoningContent: c.reasoning.all.String(), FinishReason: c.finish}
		for _, cs := range c.calls {
			ch.ToolCalls = append(ch.ToolCalls, translate.ToolCall{ID: cs.id, Name: cs.name, Arguments: cs.args.all.String()})
		}
		out[i] = ch
	}
	return out
}
