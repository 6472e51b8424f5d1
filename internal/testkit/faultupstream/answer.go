package faultupstream

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Record is one request as the server saw and answered it.
type Record struct {
	Request
	Fault Fault
	// Status is the status line sent; 0 when the connection was dropped
	// before one.
	Status int
	// Sent is the response body exactly as written.
	Sent []byte
	// Events counts the whole SSE events in Sent, `data: [DONE]` included.
	Events    int
	eventsEnd int
	// Completed says the whole planned answer went out: an error body,
	// a JSON completion, or a stream through `data: [DONE]`.
	Completed bool
	// Cancelled says the answer stopped because the request ended (the
	// gateway cancelled it or closed the connection) before it was done.
	Cancelled bool
}

// EventBytes is the part of Sent made of whole SSE events: what a relay
// can pass on when the stream broke after it.
func (r *Record) EventBytes() []byte { return r.Sent[:r.eventsEnd] }

// GarbageBytes is what a Garbage fault writes: a proxy's HTML error page
// cut short, with binary bytes; no line of it is an SSE field, and it is
// not JSON.
const GarbageBytes = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\x00\xff\xfe{{{not json"

// answer writes one response and records it.
type answer struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	ctx     context.Context
	closing <-chan struct{}
	rec     *Record
	// interrupted: the request ended or a write failed before the end.
	interrupted bool
	// broke: the fault's Break happened.
	broke bool
}

var errClosing = errors.New("the fake upstream is closing")

// wait pauses for d; it fails when the request or the server ends first.
func (a *answer) wait(d time.Duration, forever bool) error {
	var timeout <-chan time.Time
	if !forever {
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return nil
	case <-a.ctx.Done():
		a.interrupted = true
		return a.ctx.Err()
	case <-a.closing:
		return errClosing
	}
}

// write sends b at once and records what was written.
func (a *answer) write(b []byte) error {
	n, err := a.w.Write(b)
	a.rec.Sent = append(a.rec.Sent, b[:n]...)
	if err == nil {
		err = a.rc.Flush()
	}
	if err != nil {
		a.interrupted = true
	}
	return err
}

func (a *answer) writeHeader(status int, contentType string) {
	h := a.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Request-Id", "req_fault_"+strconv.Itoa(a.rec.N))
	a.w.WriteHeader(status)
	a.rec.Status = status
}

// drop closes the connection under the answer.
func (a *answer) drop() {
	a.broke = true
	if conn, _, err := a.rc.Hijack(); err == nil {
		_ = conn.Close()
	}
}

func (a *answer) serve(chunks int, gate *Gate) {
	f := a.rec.Fault
	if a.wait(f.Delay, false) != nil {
		return
	}
	switch {
	case f.Status != 0:
		a.serveError()
	case a.rec.Stream:
		a.serveStream(chunks, gate)
	default:
		a.serveJSON(chunks)
	}
}

// serveError answers with the fault's status and OpenAI's envelope.
func (a *answer) serveError() {
	f := a.rec.Fault
	if f.RetryAfter > 0 {
		a.w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	a.writeHeader(f.Status, "application/json")
	if a.write([]byte(errorBody(f.Status))) == nil {
		a.rec.Completed = true
	}
}

func errorBody(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return `{"error":{"message":"Rate limit reached for requests. Please try again in 1s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
	case http.StatusServiceUnavailable, 529:
		return `{"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":"server_is_overloaded"}}`
	}
	return `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`
}

// serveJSON answers a non-streamed request: one chat.completion whose
// content is the numbers 1 to chunks.
func (a *answer) serveJSON(chunks int) {
	f := a.rec.Fault
	switch f.Break {
	case Drop:
		a.drop()
		return
	case Garbage:
		a.broke = true
		a.writeHeader(http.StatusOK, "application/json")
		_ = a.write([]byte(GarbageBytes))
		return
	}
	a.writeHeader(http.StatusOK, "application/json")
	if f.Break == Stall {
		if a.write(nil) != nil {
			return
		}
		a.broke = true
		if a.wait(f.StallFor, f.StallFor == 0) != nil {
			return
		}
	}
	words := make([]string, chunks)
	for i := range words {
		words[i] = strconv.Itoa(i + 1)
	}
	body := `{"id":"chatcmpl-fault-` + strconv.Itoa(a.rec.N) + `","object":"chat.completion","created":1735689600,"model":` +
		quote(a.rec.Model) + `,"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Join(words, " ") +
		`","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":` + usage(chunks) + `}`
	if a.write([]byte(body)) == nil {
		a.rec.Completed = true
	}
}

// serveStream answers a streamed request event by event: the role chunk,
// content chunks 1 to chunks (chunk i says "i"), the finish chunk, the
// usage chunk when asked for, and `data: [DONE]`.
func (a *answer) serveStream(chunks int, gate *Gate) {
	f := a.rec.Fault
	a.writeHeader(http.StatusOK, "text/event-stream")
	if a.write(nil) != nil {
		return
	}
	events := streamEvents(a.rec, chunks)
	for i, ev := range events {
		if i > 0 && a.wait(f.Interval, false) != nil {
			return
		}
		if i == f.At && f.Break != NoBreak {
			a.broke = true
			switch f.Break {
			case Stall:
				if a.wait(f.StallFor, f.StallFor == 0) != nil {
					return
				}
			case Drop:
				a.drop()
				return
			case Garbage:
				_ = a.write([]byte(GarbageBytes))
				return
			}
		}
		if gate != nil && i == gate.After {
			if err := gate.hold(a.ctx); err != nil {
				a.interrupted = true
				return
			}
		}
		if a.write(ev) != nil {
			return
		}
		a.rec.Events++
		a.rec.eventsEnd = len(a.rec.Sent)
	}
	a.rec.Completed = true
}

// streamEvents are the wire bytes of each event of a stream.
func streamEvents(req *Record, chunks int) [][]byte {
	head := `data: {"id":"chatcmpl-fault-` + strconv.Itoa(req.N) + `","object":"chat.completion.chunk","created":1735689600,"model":` +
		quote(req.Model) + `,"choices":`
	tail := "}\n\n"
	if req.IncludeUsage {
		tail = `,"usage":null}` + "\n\n"
	}
	chunk := func(delta, finish string) []byte {
		return []byte(head + `[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + finish + `}]` + tail)
	}
	events := make([][]byte, 0, chunks+4)
	events = append(events, chunk(`{"role":"assistant","content":"","refusal":null}`, "null"))
	for i := 1; i <= chunks; i++ {
		events = append(events, chunk(`{"content":"`+strconv.Itoa(i)+`"}`, "null"))
	}
	events = append(events, chunk(`{}`, `"stop"`))
	if req.IncludeUsage {
		events = append(events, []byte(head+`[],"usage":`+usage(chunks)+"}\n\n"))
	}
	return append(events, []byte("data: [DONE]\n\n"))
}

func usage(completion int) string {
	return `{"prompt_tokens":1,"completion_tokens":` + strconv.Itoa(completion) + `,"total_tokens":` + strconv.Itoa(completion+1) + `}`
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
