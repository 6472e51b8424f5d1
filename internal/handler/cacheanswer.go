package handler

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// The cache keeps every answer as the non-streamed answer of its
// operation: a chat completion, a text completion or an embedding list,
// as the upstream's JSON when it came whole, else rebuilt from the
// stream's chunks. A hit is served as that JSON, or replayed as a stream
// of a few chunks: a streamed and a non-streamed ask share one entry.

// cachedAnswer is a chat or text completion, as far as the cache reads it.
type cachedAnswer struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	SystemFingerprint *string         `json:"system_fingerprint,omitempty"`
	Choices           []answerChoice  `json:"choices"`
	Usage             json.RawMessage `json:"usage,omitempty"`
}

type answerChoice struct {
	Index int `json:"index"`
	// Message is a chat completion's, Text a text completion's.
	Message      *answerMessage  `json:"message,omitempty"`
	Text         *string         `json:"text,omitempty"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type answerMessage struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	Refusal   *string    `json:"refusal"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
}

type toolCall struct {
	// Index is set in stream chunks only.
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// answerChunk is a stream chunk of a chat or text completion.
type answerChunk struct {
	ID                string              `json:"id"`
	Object            string              `json:"object"`
	Created           int64               `json:"created"`
	Model             string              `json:"model"`
	SystemFingerprint *string             `json:"system_fingerprint,omitempty"`
	Choices           []answerChunkChoice `json:"choices"`
	Usage             json.RawMessage     `json:"usage,omitempty"`
}

type answerChunkChoice struct {
	Index        int             `json:"index"`
	Delta        *answerDelta    `json:"delta,omitempty"`
	Text         *string         `json:"text,omitempty"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type answerDelta struct {
	Role      string     `json:"role,omitempty"`
	Content   *string    `json:"content,omitempty"`
	Refusal   *string    `json:"refusal,omitempty"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
}

// The objects of the two completions and their chunks.
const (
	chatObject      = "chat.completion"
	chatChunkObject = "chat.completion.chunk"
	textObject      = "text_completion"
)

// errUncacheable marks a stream the cache does not keep.
var errUncacheable = errors.New("the stream cannot be kept")

// streamRecorder rebuilds a stream's answer from its chunks. A stream
// with logprobs is not kept: its chunks' logprobs are not merged.
type streamRecorder struct {
	a   cachedAnswer
	err error
}

// add reads one chunk as the upstream sent it.
func (s *streamRecorder) add(raw []byte) {
	if s.err != nil {
		return
	}
	var c answerChunk
	if s.err = json.Unmarshal(raw, &c); s.err != nil {
		return
	}
	if s.a.ID == "" && c.ID != "" {
		s.a.ID, s.a.Created, s.a.Model, s.a.SystemFingerprint = c.ID, c.Created, c.Model, c.SystemFingerprint
		s.a.Object = textObject
		if c.Object == chatChunkObject {
			s.a.Object = chatObject
		}
	}
	if len(c.Usage) > 0 && string(c.Usage) != "null" {
		s.a.Usage = c.Usage
	}
	for _, cc := range c.Choices {
		if len(cc.Logprobs) > 0 && string(cc.Logprobs) != "null" {
			s.err = errUncacheable
			return
		}
		ch := s.choice(cc.Index)
		if cc.FinishReason != nil {
			ch.FinishReason = cc.FinishReason
		}
		if cc.Text != nil {
			ch.Text = appendText(ch.Text, *cc.Text)
		}
		if d := cc.Delta; d != nil {
			if ch.Message == nil {
				ch.Message = &answerMessage{Role: "assistant"}
			}
			m := ch.Message
			if d.Role != "" {
				m.Role = d.Role
			}
			if d.Content != nil {
				m.Content = appendText(m.Content, *d.Content)
			}
			if d.Refusal != nil {
				m.Refusal = appendText(m.Refusal, *d.Refusal)
			}
			for _, tc := range d.ToolCalls {
				m.addToolCall(tc)
			}
		}
	}
}

// choice is the answer's choice of index, added when new.
func (s *streamRecorder) choice(index int) *answerChoice {
	for i := range s.a.Choices {
		if s.a.Choices[i].Index == index {
			return &s.a.Choices[i]
		}
	}
	s.a.Choices = append(s.a.Choices, answerChoice{Index: index})
	return &s.a.Choices[len(s.a.Choices)-1]
}

// addToolCall merges a tool call's delta: its first names the call, the
// others add to its arguments.
func (m *answerMessage) addToolCall(tc toolCall) {
	i := len(m.ToolCalls) - 1
	if tc.Index != nil {
		i = *tc.Index
	}
	for len(m.ToolCalls) <= i {
		m.ToolCalls = append(m.ToolCalls, toolCall{})
	}
	t := &m.ToolCalls[i]
	if tc.ID != "" {
		t.ID = tc.ID
	}
	if tc.Type != "" {
		t.Type = tc.Type
	}
	if tc.Function.Name != "" {
		t.Function.Name = tc.Function.Name
	}
	t.Function.Arguments += tc.Function.Arguments
}

func appendText(s *string, more string) *string {
	if s == nil {
		return &more
	}
	joined := *s + more
	return &joined
}

// answer is the stream's answer as JSON, once every choice has finished;
// a nil recorder has none.
func (s *streamRecorder) answer() ([]byte, bool) {
	if s == nil || s.err != nil || len(s.a.Choices) == 0 {
		return nil, false
	}
	for _, c := range s.a.Choices {
		if c.FinishReason == nil || *c.FinishReason == "" {
			return nil, false
		}
		if m := c.Message; m != nil && m.Content == nil && len(m.ToolCalls) == 0 && m.Refusal == nil {
			empty := ""
			m.Content = &empty
		}
	}
	b, err := json.Marshal(&s.a)
	return b, err == nil
}

// replayStream writes a cached answer as a stream, in x's shape: for each
// choice its role, its content, refusal or tool calls, and its finish;
// then the usage when the client asked for it; then the stream's end.
func replayStream(w http.ResponseWriter, x *exchange, cached []byte, includeUsage bool) error {
	var a cachedAnswer
	if err := json.Unmarshal(cached, &a); err != nil {
		return err
	}
	openStream(w, x, nil)
	out := newEventWriter(w, x.streamEncoder())
	object := chatChunkObject
	if a.Object == textObject {
		object = textObject
	}
	emit := func(c answerChunkChoice) error {
		b, err := json.Marshal(answerChunk{ID: a.ID, Object: object, Created: a.Created, Model: a.Model,
			SystemFingerprint: a.SystemFingerprint, Choices: []answerChunkChoice{c}})
		if err != nil {
			return err
		}
		x.chunks++
		return out.chunk(b)
	}
	for _, c := range a.Choices {
		var err error
		if object == textObject {
			err = emit(answerChunkChoice{Index: c.Index, Text: c.Text, Logprobs: c.Logprobs, FinishReason: c.FinishReason})
		} else {
			err = replayMessage(c, emit)
		}
		if err != nil {
			return err
		}
	}
	if includeUsage && len(a.Usage) > 0 {
		b, err := json.Marshal(answerChunk{ID: a.ID, Object: object, Created: a.Created, Model: a.Model,
			SystemFingerprint: a.SystemFingerprint, Choices: []answerChunkChoice{}, Usage: a.Usage})
		if err != nil {
			return err
		}
		if err := out.chunk(b); err != nil {
			return err
		}
	}
	x.firstByte = time.Since(x.start)
	return out.end()
}

// replayMessage emits a chat choice's chunks.
func replayMessage(c answerChoice, emit func(answerChunkChoice) error) error {
	m := c.Message
	if m == nil {
		m = &answerMessage{Role: "assistant"}
	}
	empty := ""
	steps := []answerChunkChoice{{Index: c.Index, Delta: &answerDelta{Role: m.Role, Content: &empty}}}
	if m.Content != nil && *m.Content != "" {
		steps = append(steps, answerChunkChoice{Index: c.Index, Delta: &answerDelta{Content: m.Content}, Logprobs: c.Logprobs})
	}
	if m.Refusal != nil {
		steps = append(steps, answerChunkChoice{Index: c.Index, Delta: &answerDelta{Refusal: m.Refusal}})
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]toolCall, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			calls[i] = tc
			calls[i].Index = &i
		}
		steps = append(steps, answerChunkChoice{Index: c.Index, Delta: &answerDelta{ToolCalls: calls}})
	}
	steps = append(steps, answerChunkChoice{Index: c.Index, Delta: &answerDelta{}, FinishReason: c.FinishReason})
	for _, s := range steps {
		if err := emit(s); err != nil {
			return err
		}
	}
	return nil
}
