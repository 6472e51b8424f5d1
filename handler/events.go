package handler

import (
	"net/http"
	"sync"
)

// eventBuffers hold one event while it is written. A buffer goes back to
// the pool as soon as its event is written: a stream that waits on its
// upstream, as most open streams do, holds none.
var eventBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// eventWriter writes Server-Sent Events to the client. Each event is
// flushed as soon as no other event is at hand to go with it, so an event
// never waits in a buffer for one that has not arrived.
type eventWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	pending bool // written but not flushed
}

func newEventWriter(w http.ResponseWriter) *eventWriter {
	return &eventWriter{w: w, rc: http.NewResponseController(w)}
}

var doneEvent = []byte("data: [DONE]\n\n")

// event writes `data: <payload>`; flush sends it.
func (e *eventWriter) event(payload []byte) error {
	buf := eventBuffers.Get().(*[]byte)
	b := append((*buf)[:0], "data: "...)
	b = append(b, payload...)
	b = append(b, '\n', '\n')
	e.pending = true
	_, err := e.w.Write(b)
	if cap(b) <= 64<<10 { // don't keep a rare huge event's buffer alive
		*buf = b
		eventBuffers.Put(buf)
	}
	return err
}

// flush sends what was written.
func (e *eventWriter) flush() error {
	if !e.pending {
		return nil
	}
	e.pending = false
	return e.rc.Flush()
}

// done writes the stream's terminal `data: [DONE]` and flushes.
func (e *eventWriter) done() error {
	e.pending = true
	if _, err := e.w.Write(doneEvent); err != nil {
		return err
	}
	return e.flush()
}
