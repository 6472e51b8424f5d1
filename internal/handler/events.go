package handler

import (
	"net/http"
	"sync"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// eventBuffers gather the events of one burst, which go to the client in
// one Write: each Write through Caddy's response writers costs about as
// much as a small event itself (a write deadline is reset on each). A
// buffer goes back to the pool when its burst is flushed, so a stream that
// waits on its upstream, as most open streams do, holds none. A buffer is
// made with room for a whole burst and the event that ends it: one grown
// by appends is allocated four times (4, 8, 16 and 32 KiB), and under load,
// when the collector empties the pool often, that growth cost a stream at
// 64 clients about 8% of its CPU. (Starting small and moving a burst that
// outgrows it to a large buffer, once, measured in between.) A stream
// whose client stops reading keeps its buffer while its write waits, next
// to the socket buffers the kernel keeps for it.
var eventBuffers = sync.Pool{New: func() any { b := make([]byte, 0, burstLimit+4<<10); return &b }}

// burstLimit is the most a burst gathers before it is written out (not
// yet flushed): about what Caddy's reverse_proxy copies at once.
const burstLimit = 32 << 10

// eventWriter writes a stream's Server-Sent Events to the client, as its
// encoder renders them. Events are gathered until flush, which the relay
// calls as soon as no other event is at hand to go with them, so an event
// never waits for one that has not arrived.
type eventWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	enc inbound.StreamEncoder
	// chat is set when enc is chatEncoder, whose events chunk writes
	// itself: the stream nearly every client asks for, and the one call
	// per event it saves.
	chat bool
	buf  *[]byte // events not yet written; nil between bursts
	// pending is set once something was written but not flushed.
	pending bool
}

func newEventWriter(w http.ResponseWriter, enc inbound.StreamEncoder) *eventWriter {
	_, chat := enc.(chatEncoder)
	return &eventWriter{w: w, rc: http.NewResponseController(w), enc: enc, chat: chat}
}

// chunk adds the events of one chat chunk to the burst; flush sends it.
func (e *eventWriter) chunk(payload []byte) error {
	if e.chat {
		*e.take() = inbound.AppendData(*e.buf, payload)
	} else {
		*e.take() = e.enc.Chunk(*e.buf, payload)
	}
	if len(*e.buf) >= burstLimit {
		return e.write()
	}
	return nil
}

// events adds events already in the client's form to the burst: written
// as they are when nothing is gathered, so that a run of them is not
// copied, and after what is gathered otherwise.
func (e *eventWriter) events(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if e.buf != nil {
		*e.buf = append(*e.buf, b...)
		if len(*e.buf) >= burstLimit {
			return e.write()
		}
		return nil
	}
	e.pending = true
	_, err := e.w.Write(b)
	return err
}

// end sends the events that close a complete stream, with what is
// gathered.
func (e *eventWriter) end() error {
	*e.take() = e.enc.End(*e.buf)
	return e.flush()
}

// fail sends the events that end a stream cut by err, with what is
// gathered.
func (e *eventWriter) fail(err *providers.Error) error {
	*e.take() = e.enc.Fail(*e.buf, err)
	return e.flush()
}

// take returns the burst's buffer, taken from the pool for its first
// event.
func (e *eventWriter) take() *[]byte {
	if e.buf == nil {
		e.buf = eventBuffers.Get().(*[]byte)
	}
	return e.buf
}

// write hands the gathered events to the response writer.
func (e *eventWriter) write() error {
	if e.buf == nil {
		return nil
	}
	b := *e.buf
	var err error
	if len(b) > 0 { // an encoder may have had nothing to say
		e.pending = true
		_, err = e.w.Write(b)
	}
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

// chatEncoder renders OpenAI's own chat stream: each chunk as it is,
// `data: [DONE]` at the end, and OpenAI's error object as the last event
// of a stream cut short, with no [DONE].
type chatEncoder struct{}

var doneEvent = []byte("data: [DONE]\n\n")

func (chatEncoder) Chunk(buf, chunk []byte) []byte { return inbound.AppendData(buf, chunk) }

func (chatEncoder) End(buf []byte) []byte { return append(buf, doneEvent...) }

func (chatEncoder) Fail(buf []byte, e *providers.Error) []byte {
	body, _ := e.MarshalJSON()
	return inbound.AppendData(buf, body)
}

// streamEncoder renders x's stream: in its door's shape, else OpenAI's.
func (x *exchange) streamEncoder() inbound.StreamEncoder {
	if x.translator == nil {
		return chatEncoder{}
	}
	return x.translator.Stream(x.model)
}

// Interface guards
var _ inbound.StreamEncoder = chatEncoder{}
