package providertest

import (
	"io"
	"net/http"
	"strings"
)

// A Reply is a scripted answer: a status, headers and a body. A whole
// answer is written at once; a stream is written piece by piece (event by
// event, or line by line) with a flush after each, as upstreams stream, so
// that a reader that waits for more than one piece shows in the tests.
type Reply struct {
	Status int
	Header http.Header
	Body   string

	// pieces cuts Body into what is written and flushed one at a time;
	// nil writes it whole.
	pieces func(string) []string
	// release, when set, holds the answer after pauseAfter pieces until
	// it is closed or the client leaves.
	release    <-chan struct{}
	pauseAfter int
	// cut drops the connection after the body, without the end a
	// chunked answer needs: the client reads a broken answer.
	cut bool
}

// A Script answers each request with the Reply it picks for it; the
// request's body may be read.
type Script func(r *http.Request) Reply

// ServeHTTP writes the reply picked for r.
func (s Script) ServeHTTP(w http.ResponseWriter, r *http.Request) { s(r).ServeHTTP(w, r) }

// With returns the reply with a header added.
func (rp Reply) With(key, value string) Reply {
	rp.Header = rp.Header.Clone()
	if rp.Header == nil {
		rp.Header = http.Header{}
	}
	rp.Header.Add(key, value)
	return rp
}

// PauseAfter returns the reply holding its answer after n pieces until
// release is closed (or the client leaves), to show what a reader does
// while the upstream still has more to say.
func (rp Reply) PauseAfter(n int, release <-chan struct{}) Reply {
	rp.pauseAfter, rp.release = n, release
	return rp
}

// Cut returns the reply dropping the connection after its body, as an
// upstream that fails mid-stream does.
func (rp Reply) Cut() Reply {
	rp.cut = true
	return rp
}

// ServeHTTP writes the reply.
func (rp Reply) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range rp.Header {
		w.Header()[k] = v
	}
	status := rp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	if rp.pieces == nil {
		_, _ = io.WriteString(w, rp.Body)
	} else {
		for i, piece := range rp.pieces(rp.Body) {
			if i == rp.pauseAfter {
				rp.wait(r)
			}
			_, _ = io.WriteString(w, piece)
			_ = rc.Flush()
		}
	}
	rp.wait(r)
	if rp.cut {
		_ = rc.Flush()
		if conn, _, err := rc.Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

// wait holds the answer until release is closed or the client leaves; it
// waits once, however often it is called.
func (rp *Reply) wait(r *http.Request) {
	if rp.release == nil {
		return
	}
	select {
	case <-rp.release:
	case <-r.Context().Done():
	}
	rp.release = nil
}

// sseEvents cuts a Server-Sent Events body after each blank line, LF or
// CRLF framed; a cut-off last event is a piece of its own.
func sseEvents(body string) []string {
	var events []string
	for body != "" {
		end := len(body)
		if i := strings.Index(body, "\n\n"); i >= 0 {
			end = i + 2
		}
		if i := strings.Index(body, "\n\r\n"); i >= 0 && i+3 < end {
			end = i + 3
		}
		events = append(events, body[:end])
		body = body[end:]
	}
	return events
}

// ndjsonLines cuts a newline-delimited JSON body after each newline.
func ndjsonLines(body string) []string {
	lines := strings.SplitAfter(body, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
