package dashscope

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/internal/sse"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// source yields the data of native events one at a time, and io.EOF at the
// end of the input.
type source interface {
	next() (name, data []byte, err error)
	// ready reports whether next returns without waiting on the upstream.
	ready() bool
}

// sseSource reads DashScope's event stream: `id:`, `event:result` or
// `event:error`, a `:HTTP_STATUS/200` comment and `data:{...}`.
type sseSource struct{ r *sse.Reader }

func (s sseSource) next() ([]byte, []byte, error) {
	ev, err := s.r.Next()
	return ev.Name, ev.Data, err
}

func (s sseSource) ready() bool { return s.r.Ready() }

// bodySource yields a whole JSON body once: DashScope answers a streamed
// request that way when it did not take the SSE header.
type bodySource struct {
	body []byte
	done bool
}

func (s *bodySource) ready() bool { return true } // read whole already

func (s *bodySource) next() ([]byte, []byte, error) {
	if s.done {
		return nil, nil, io.EOF
	}
	s.done = true
	return nil, s.body, nil
}

// newSource picks the reader for a 2xx answer to a streamed request.
func (d *DashScope) newSource(resp *http.Response) (source, error) {
	if isJSON(resp.Header) {
		body, err := d.ReadBody(resp)
		if err != nil {
			return nil, err
		}
		return &bodySource{body: body}, nil
	}
	return sseSource{sse.NewReader(resp.Body, providers.MaxEvent)}, nil
}

func isJSON(h http.Header) bool {
	return bytes.HasPrefix(bytes.TrimSpace([]byte(h.Get("Content-Type"))), []byte("application/json"))
}

// reader turns native events into an answer, one event per step.
type reader struct {
	src  source
	ans  *answer
	done bool
}

// doneMarker is not DashScope's, but a proxy in front of it may add one.
var doneMarker = []byte("[DONE]")

// step reads one native event. It returns io.EOF once the answer is
// complete: at the event where every choice has a real finish reason, or
// when the input ends after it. Input that ends before gives
// providers.ErrTruncated; an error event, its *providers.Error.
func (r *reader) step() error {
	if r.done {
		return io.EOF
	}
	name, data, err := r.src.next()
	if err != nil {
		r.done = true
		switch {
		case errors.Is(err, io.EOF):
			if r.ans.complete(true) {
				r.end()
				return io.EOF
			}
			return providers.ErrTruncated
		case errors.Is(err, sse.ErrEventTooLarge):
			return providers.NewError(http.StatusBadGateway, "upstream_error", "dashscope sent a stream event larger than the gateway accepts")
		}
		return err
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	if bytes.Equal(data, doneMarker) {
		return r.stepEnd()
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		r.done = true
		return providers.NewError(http.StatusBadGateway, "upstream_error", "dashscope sent a stream event that is not valid JSON")
	}
	if string(name) == "error" || f.isError() {
		r.done = true
		return frameError(&f)
	}
	r.ans.add(&f)
	if r.ans.complete(false) {
		r.done = true
		r.end()
		return io.EOF
	}
	return nil
}

func (r *reader) stepEnd() error {
	r.done = true
	if r.ans.complete(true) {
		r.end()
		return io.EOF
	}
	return providers.ErrTruncated
}

// end writes the usage chunk; the handler drops it for clients that did
// not ask for usage.
func (r *reader) end() {
	r.ans.push(r.ans.out.UsageChunk(r.ans.usage))
}
