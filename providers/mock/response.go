package mock

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"time"
)

// pieces is an answer split into streamable words.
type pieces struct {
	words []string
	cut   bool // the answer was cut at max_tokens
}

func (p pieces) finishReason() string {
	if p.cut {
		return "length"
	}
	return "stop"
}

// answer is everything needed to write one chat or completion answer.
type answer struct {
	id, object, model string
	created           int64
	words             pieces
	promptTokens      int
	chat              bool
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func (a *answer) usage() *usage {
	c := len(a.words.words)
	return &usage{PromptTokens: a.promptTokens, CompletionTokens: c, TotalTokens: a.promptTokens + c}
}

// message is a whole answer's message: OpenAI's schema wants content and
// refusal present, null when empty.
type message struct {
	Role    string  `json:"role"`
	Content *string `json:"content"`
	Refusal *string `json:"refusal"`
}

// delta is a streamed chunk's partial message.
type delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type choice struct {
	Index        int       `json:"index"`
	Message      *message  `json:"message,omitempty"`
	Delta        *delta    `json:"delta,omitempty"`
	Text         *string   `json:"text,omitempty"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type object struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   *usage   `json:"usage,omitempty"`
}

// whole is the non-streamed answer.
func (a *answer) whole() object {
	text := strings.Join(a.words.words, "")
	reason := a.words.finishReason()
	c := choice{FinishReason: &reason}
	if a.chat {
		c.Message = &message{Role: "assistant", Content: &text}
	} else {
		c.Text = &text
	}
	return object{ID: a.id, Object: a.object, Created: a.created, Model: a.model, Choices: []choice{c}, Usage: a.usage()}
}

// chunkObject is the object name of streamed chunks.
func (a *answer) chunkObject() string {
	if a.chat {
		return "chat.completion.chunk"
	}
	return a.object
}

// stream yields the answer as OpenAI chunks: a role chunk (chat only), one
// chunk per word, a finish chunk, and the usage chunk an upstream sends
// when asked for `include_usage`.
type stream struct {
	ctx   context.Context
	a     answer
	delay time.Duration
	step  int
	buf   []byte
}

func (s *stream) Next() ([]byte, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	words := s.a.words.words
	step := s.step
	s.step++
	if !s.a.chat {
		step++ // completions have no role chunk
	}
	c := choice{}
	o := object{ID: s.a.id, Object: s.a.chunkObject(), Created: s.a.created, Model: s.a.model}
	switch {
	case step == 0:
		empty := ""
		c.Delta = &delta{Role: "assistant", Content: &empty}
	case step <= len(words):
		if err := s.wait(); err != nil {
			return nil, err
		}
		w := words[step-1]
		if s.a.chat {
			c.Delta = &delta{Content: &w}
		} else {
			c.Text = &w
		}
	case step == len(words)+1:
		reason := s.a.words.finishReason()
		c.FinishReason = &reason
		if s.a.chat {
			c.Delta = &delta{}
		} else {
			empty := ""
			c.Text = &empty
		}
	case step == len(words)+2:
		o.Choices = []choice{}
		o.Usage = s.a.usage()
	default:
		return nil, io.EOF
	}
	if o.Choices == nil {
		o.Choices = []choice{c}
	}
	var err error
	s.buf, err = json.Marshal(o)
	return s.buf, err
}

func (s *stream) wait() error {
	if s.delay <= 0 {
		return nil
	}
	t := time.NewTimer(s.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *stream) Close() error { return nil }
