package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/internal/sse"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// streamReader turns the events of `streamGenerateContent?alt=sse` into
// OpenAI chunks. Each event is a whole GenerateContentResponse holding only
// the new parts; a functionCall part always arrives complete. Gemini sends
// no end marker: the stream is complete when every candidate it opened has
// a finishReason by the time the connection closes.
type streamReader struct {
	events  *sse.Reader
	answer  translate.Answer
	choices map[int]*choiceState
	usage   translate.Usage
}

// choiceState follows one candidate of the stream.
type choiceState struct {
	tools    int // tool calls sent so far: the next call's index
	finished bool
}

// newStream reads Gemini's events from body.
func newStream(body io.ReadCloser, model string) *translate.Stream {
	r := &streamReader{
		events:  sse.NewReader(body, providers.MaxEvent),
		answer:  translate.NewAnswer(model),
		choices: make(map[int]*choiceState),
		usage:   new(usageMetadata).usage(), // zero until Gemini counts
	}
	s := translate.NewStream(r.pull, body)
	s.SetSourceReady(r.events.Ready)
	return s
}

// pull reads one event and pushes the chunks it makes.
func (r *streamReader) pull(s *translate.Stream) error {
	ev, err := r.events.Next()
	if err != nil {
		return r.end(s, err)
	}
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return nil
	}
	var resp generateResponse
	if data[0] == '[' {
		// Vertex AI wraps errors in an array.
		var list []generateResponse
		if json.Unmarshal(data, &list) == nil && len(list) > 0 && list[0].Error != nil {
			return list[0].Error.toError(0, nil)
		}
		return badEvent()
	}
	if json.Unmarshal(data, &resp) != nil {
		return badEvent()
	}
	if resp.Error != nil {
		return resp.Error.toError(0, nil)
	}
	if resp.UsageMetadata != nil {
		// A running total: the last one counts.
		r.usage = resp.UsageMetadata.usage()
	}
	if len(resp.Candidates) == 0 && len(r.choices) == 0 && resp.PromptFeedback != nil && resp.PromptFeedback.BlockReason != "" {
		return blocked(resp.PromptFeedback)
	}
	for pos, c := range resp.Candidates {
		r.candidate(s, indexOf(c, pos), c)
	}
	return nil
}

// candidate pushes the chunks of one candidate's new parts.
func (r *streamReader) candidate(s *translate.Stream, idx int, c candidate) {
	st := r.choices[idx]
	if st == nil {
		st = new(choiceState)
		r.choices[idx] = st
		s.Push(r.answer.RoleChunk(idx))
	}
	if st.finished {
		return
	}
	if c.Content != nil {
		for _, p := range c.Content.Parts {
			switch {
			case p.FunctionCall != nil:
				s.Push(r.answer.ToolCallStart(idx, st.tools, callID(p.ThoughtSignature), p.FunctionCall.Name, argumentsText(p.FunctionCall.Args)))
				st.tools++
			case p.Text == "":
			case p.Thought:
				s.Push(r.answer.ReasoningChunk(idx, p.Text))
			default:
				s.Push(r.answer.TextChunk(idx, p.Text))
			}
		}
	}
	if c.FinishReason != "" {
		s.Push(r.answer.FinishChunk(idx, finishReason(c.FinishReason, st.tools > 0)))
		st.finished = true
	}
}

// end handles the end of the upstream's body. Gemini has no end marker:
// the answer is complete when every candidate it opened has finished,
// even if the connection then broke instead of closing cleanly.
func (r *streamReader) end(s *translate.Stream, err error) error {
	switch {
	case errors.Is(err, sse.ErrEventTooLarge):
		return providers.NewError(http.StatusBadGateway, "upstream_error",
			fmt.Sprintf("the upstream sent a stream event larger than %d MiB", providers.MaxEvent>>20))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case !r.complete():
		if errors.Is(err, io.EOF) {
			return providers.ErrTruncated
		}
		return fmt.Errorf("%w: %w", providers.ErrTruncated, err)
	}
	s.Push(r.answer.UsageChunk(r.usage))
	return io.EOF
}

// complete reports whether at least one candidate arrived and all of
// them finished.
func (r *streamReader) complete() bool {
	if len(r.choices) == 0 {
		return false
	}
	for _, st := range r.choices {
		if !st.finished {
			return false
		}
	}
	return true
}

func badEvent() *providers.Error {
	return providers.NewError(http.StatusBadGateway, "upstream_error", "the upstream sent a stream event that is not a Gemini response")
}
