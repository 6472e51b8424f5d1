package handler

import (
	"net/http"
	"sync"
)

// eventBuffers gather the events of one burst, which go to the client in
// one Write: each Write through Caddy's response writers costs about as
// much as a small event itself (a write deadline is reset on each). A
// buffer goes back to the pool when its burst is flushed, so a stream that
// waits on its upstream, as most open streams do, holds none.
var eventBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// burstLimit is the most a burst gathers before it is written out (not
// yet flushed): about what Caddy's reverse_proxy copies at once.
const burstLimit = 32 << 10

// eventWriter writes Server-Sent Events to the client. Events are gathered
// until flush, which the relay calls as soon as no other event is at hand
// to go with them, so an event never waits for one that has not arrived.
type eventWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf *[]byte // events not yet written; nil between bursts
	// pending is set once something was written but not flushed.
	pending bool
}

func newEventWriter(w http.ResponseWriter) *eventWriter {
	return &eventWriter{w: w, rc: http.NewResponseController(w)}
}

var doneEvent = []byte("data: [DONE]\n\n")

// event adds `data: <payload>` to the burst; flush sends it.
func (e *eventWriter) event(payload []byte) error {
	e.gather("data: ", payload, "\n\n")
	if len(*e.buf) >= burstLimit {
		return e.write()
	}
	return nil
}

// write hands the gathered events to the response writer.
func (e *eventWriter) write() error {
	if e.buf == nil {
		return nil
	}
	b := *e.buf
	e.pending = true
	_, err := e.w.Write(b)
	if cap(b) <= 4*burstLimit { // don't keep a rare huge event's buffer alive
		*e.buf = b[:0]
		eventBuffers.Put(e.buf)
	}
	e.buf = nil
	return err
}

// flush sends what was gathered and written.
func (e *eventWriter) flush() error {
	if err := e.write(); err != nil {
		return err
	}
	if !e.pending {
		return nil
	}
	e.pending = false
	return e.rc.Flush()
}

// done sends the stream's terminal `data: [DONE]` with what is gathered.
func (e *eventWriter) done() error {
	e.gather("", doneEvent, "")
	return e.flush()
}

// gather appends prefix, p and suffix to the burst, taking a buffer from
// the pool for a burst's first event.
func (e *eventWriter) gather(prefix string, p []byte, suffix string) {
	if e.buf == nil {
		e.buf = eventBuffers.Get().(*[]byte)
	}
	b := append(*e.buf, prefix...)
	b = append(b, p...)
	*e.buf = append(b, suffix...)
}
