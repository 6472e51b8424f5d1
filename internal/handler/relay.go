package handler

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// relayBody copies a non-streamed answer to the client as it arrives,
// keeping only its tail, where OpenAI-shaped bodies carry `usage`.
func (h *Handler) relayBody(w http.ResponseWriter, x *exchange, resp *providers.Response) {
	hdr := w.Header()
	for k, v := range resp.Header {
		hdr[k] = v
	}
	hdr.Set("Content-Type", "application/json")
	if resp.Length >= 0 {
		hdr.Set("Content-Length", strconv.FormatInt(resp.Length, 10))
	}
	x.writeOverhead(hdr)
	w.WriteHeader(http.StatusOK)
	x.status = http.StatusOK
	x.firstByte = time.Since(x.start)

	tw := tailWriter{w: w}
	buf := copyBuffers.Get().(*[]byte)
	_, err := io.CopyBuffer(&tw, resp.Body, *buf)
	copyBuffers.Put(buf)
	switch {
	case tw.err != nil:
		x.status, x.outcome = statusClientClosed, "client_closed"
	case err != nil:
		x.outcome = "upstream_broke"
	}
	x.usage = usageFromTail(tw.tail)
}

// tailWriter passes writes on and keeps the last tailSize bytes.
type tailWriter struct {
	w    io.Writer
	tail []byte
	err  error
}

const tailSize = 4 << 10

func (t *tailWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		t.err = err
		return n, err
	}
	if len(p) >= tailSize {
		t.tail = append(t.tail[:0], p[len(p)-tailSize:]...)
	} else {
		if over := len(t.tail) + len(p) - tailSize; over > 0 {
			t.tail = t.tail[:copy(t.tail, t.tail[over:])]
		}
		t.tail = append(t.tail, p...)
	}
	return n, nil
}

// relayStream writes a streamed answer as Server-Sent Events, flushing
// the first chunk at once and then once per burst: whenever no further
// event is at hand. a.first is the chunk call already read. A silence of
// the upstream longer than stream_idle_timeout ends the stream with an
// upstream_timeout error event.
func (h *Handler) relayStream(w http.ResponseWriter, r *http.Request, x *exchange, a *attempt, includeUsage bool) {
	resp := a.resp
	openStream(w, x, resp.Header)
	idle := newIdleWatch(h.cfg.StreamIdleTimeout, func() { a.cancel(errStreamIdle) })
	defer idle.stop()

	out := newEventWriter(w)
	burst, _ := resp.Stream.(providers.Bursting)
	// Ready reads what is at hand, and the rest of an event whose start
	// it saw: it may wait, rarely and briefly, so it is watched too.
	more := func() bool {
		if burst == nil {
			return false
		}
		idle.wait()
		defer idle.done()
		return burst.Ready()
	}
	f := chunkFilter{includeUsage: includeUsage}
	chunk := a.first
	for done := chunk == nil; ; {
		if chunk != nil {
			if payload, keep := f.apply(chunk); keep {
				if err := out.event(payload); err != nil {
					x.status, x.outcome = statusClientClosed, "client_closed"
					break
				}
				x.chunks++
			}
			// The first chunk goes out at once, whatever follows it:
			// time to first token is what a caller waits on.
			if x.firstByte == 0 || !more() {
				if err := out.flush(); err != nil {
					x.status, x.outcome = statusClientClosed, "client_closed"
					break
				}
				if x.firstByte == 0 && x.chunks > 0 {
					x.firstByte = time.Since(x.start)
				}
			}
		}
		if done {
			if usage := f.missingUsageChunk(); usage != nil {
				_ = out.event(usage)
			}
			// Settled before [DONE], so the client's next request sees it.
			x.usage = f.usage
			h.settleTokens(x)
			_ = out.done()
			break
		}
		var err error
		idle.wait()
		chunk, err = resp.Stream.Next()
		idle.done()
		if err != nil {
			chunk, done = nil, true
			if !errors.Is(err, io.EOF) {
				x.noteCause(err)
				h.endWithError(out, r, x, h.attemptError(r.Context(), a.ctx, x.provider, err))
				break
			}
		}
	}
	x.usage = f.usage
}

// endWithError ends a stream whose upstream failed after the client got
// its first bytes: an OpenAI error event, then a clean close, no [DONE].
func (h *Handler) endWithError(out *eventWriter, r *http.Request, x *exchange, e *providers.Error) {
	if e.Status == statusClientClosed {
		x.status, x.outcome = statusClientClosed, "client_closed"
		return
	}
	x.outcome = "upstream_broke"
	x.streamError = e.Message
	body, _ := e.MarshalJSON()
	if out.event(body) == nil {
		_ = out.flush()
	}
}
