package handler

import (
	"net/http"
	"sync"
)

var eventBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// eventWriter writes Server-Sent Events to the client, one write and one
// flush per event, so every event leaves the gateway as soon as it exists.
type eventWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf *[]byte
}

func newEventWriter(w http.ResponseWriter) *eventWriter {
	return &eventWriter{w: w, rc: http.NewResponseController(w), buf: eventBuffers.Get().(*[]byte)}
}

var doneEvent = []byte("data: [DONE]\n\n")

// event writes `data: <payload>` and flushes.
func (e *eventWriter) event(payload []byte) error {
	b := append((*e.buf)[:0], "data: "...)
	b = append(b, payload...)
	b = append(b, '\n', '\n')
	*e.buf = b
	return e.write(b)
}

// done writes the stream's terminal `data: [DONE]`.
func (e *eventWriter) done() error { return e.write(doneEvent) }

func (e *eventWriter) write(b []byte) error {
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	return e.rc.Flush()
}

func (e *eventWriter) release() {
	if cap(*e.buf) <= 64<<10 { // don't keep a rare huge event's buffer alive
		eventBuffers.Put(e.buf)
	}
}
