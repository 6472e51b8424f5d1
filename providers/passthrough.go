package providers

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/llmgateway/caddy-llm-gateway/internal/sse"
)

// MaxEvent bounds the size of one upstream stream event.
const MaxEvent = 8 << 20

// OpenAIResponse wraps a 2xx answer from an upstream that already speaks
// OpenAI's format. Streamed answers are read event by event; their payloads
// are handed on untouched.
func OpenAIResponse(resp *http.Response, stream bool) *Response {
	out := &Response{Header: RelayHeader(resp.Header)}
	if stream {
		out.Stream = &openAIStream{body: resp.Body, events: eventReader(resp.Body)}
	} else {
		out.Body, out.Length = resp.Body, resp.ContentLength
	}
	return out
}

type openAIStream struct {
	body   io.ReadCloser
	events *sse.Reader
	done   bool
}

var (
	doneMarker  = []byte("[DONE]")
	errorPrefix = []byte(`{"error"`)
)

func (s *openAIStream) Next() ([]byte, error) {
	if s.done {
		return nil, io.EOF
	}
	data, ok := s.events.NextPlain()
	var name []byte
	if !ok {
		ev, err := s.events.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, ErrTruncated
			}
			return nil, err
		}
		data, name = ev.Data, ev.Name
	}
	if len(data) == 0 || data[0] != '{' || data[len(data)-1] != '}' {
		// Nearly every event is one JSON object, written without
		// surrounding space.
		data = bytes.TrimSpace(data)
	}
	switch {
	case bytes.Equal(data, doneMarker):
		s.done = true
		return nil, io.EOF
	case string(name) == "error" || bytes.HasPrefix(data, errorPrefix):
		// OpenAI and vLLM send `data: {"error":...}`, llama.cpp an `error:`
		// field; both end the answer.
		s.done = true
		e := ParseError(http.StatusBadGateway, nil, data)
		// vLLM and llama.cpp put the HTTP status in the code; it decides
		// whether another target may succeed when no byte was sent yet.
		if status, err := strconv.Atoi(e.Code); err == nil && status >= 400 && status <= 599 {
			e.Status = status
		}
		return nil, e
	}
	return data, nil
}

// Ready reports whether the next event is already buffered.
func (s *openAIStream) Ready() bool { return !s.done && s.events.Ready() }

func (s *openAIStream) Lend() []byte {
	if s.done {
		return nil
	}
	return s.events.Buffered()
}

func (s *openAIStream) CutChunk(buf []byte) ([]byte, int) {
	data, size := s.events.CutPlain(buf)
	// Only what Next returns untrimmed and as a chunk: a bare JSON
	// object that is not an error.
	if size == 0 || len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' || bytes.HasPrefix(data, errorPrefix) {
		return nil, 0
	}
	return data, size
}

func (s *openAIStream) Consumed(n int) { s.events.Skip(n) }

func (s *openAIStream) Close() error {
	s.done = true
	if s.events != nil {
		eventReaders.Put(s.events)
		s.events = nil
	}
	return s.body.Close()
}

// eventReaders keeps the readers of ended streams, with their buffers, for
// the streams that follow: a reader and its read buffer are the largest
// part of what a relayed stream allocates.
var eventReaders sync.Pool

// eventReader returns a reader of r's events, from eventReaders when one
// is there.
func eventReader(r io.Reader) *sse.Reader {
	if er, ok := eventReaders.Get().(*sse.Reader); ok {
		er.Reset(r)
		return er
	}
	return sse.NewReader(r, MaxEvent)
}

// Interface guards
var (
	_ EventStream = (*openAIStream)(nil)
	_ Bursting    = (*openAIStream)(nil)
	_ Lending     = (*openAIStream)(nil)
)
