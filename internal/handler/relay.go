package handler

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// relayBody copies a non-streamed answer to the client as it arrives,
// showing meter what passes. A priced answer is read whole first: its
// cost, from its usage, goes in a header.
func (h *Handler) relayBody(w http.ResponseWriter, x *exchange, resp *providers.Response, meter inbound.UsageMeter) {
	if _, priced := h.priceOf(x); priced || x.cache.key != "" {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			x.outcome = "upstream_broke"
			x.fail(w, unreadableAnswer())
			return
		}
		_, _ = meter.Write(body)
		x.usage = usageOf(meter)
		if json.Valid(body) {
			h.storeAnswer(x, body)
		}
		h.writeWhole(w, x, resp.Header, body)
		return
	}
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

	mw := meteredWriter{w: w, meter: meter}
	buf := copyBuffers.Get().(*[]byte)
	_, err := io.CopyBuffer(&mw, resp.Body, *buf)
	copyBuffers.Put(buf)
	switch {
	case mw.err != nil:
		x.status, x.outcome = statusClientClosed, "client_closed"
	case err != nil:
		x.outcome = "upstream_broke"
	}
	x.usage = usageOf(meter)
}

// meteredWriter passes writes on and shows meter what went through.
type meteredWriter struct {
	w     io.Writer
	meter inbound.UsageMeter
	err   error
}

func (m *meteredWriter) Write(p []byte) (int, error) {
	n, err := m.w.Write(p)
	if err != nil {
		m.err = err
		return n, err
	}
	_, _ = m.meter.Write(p)
	return n, nil
}

// usageOf is what meter read, in the pipeline's terms.
func usageOf(meter inbound.UsageMeter) usage {
	u, ok := meter.Usage()
	if !ok {
		return usage{}
	}
	out := usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		TotalTokens: u.PromptTokens + u.CompletionTokens, known: true}
	out.PromptTokensDetails.CachedTokens = u.CachedTokens
	out.PromptTokensDetails.CacheWriteTokens = u.CacheWriteTokens
	return out
}

// tailMeter reads the usage of an OpenAI-shaped body from its last
// tailSize bytes, where such bodies carry it.
type tailMeter struct {
	tail []byte
}

const tailSize = 4 << 10

func (t *tailMeter) Write(p []byte) (int, error) {
	if len(p) >= tailSize {
		t.tail = append(t.tail[:0], p[len(p)-tailSize:]...)
	} else {
		if over := len(t.tail) + len(p) - tailSize; over > 0 {
			t.tail = t.tail[:copy(t.tail, t.tail[over:])]
		}
		t.tail = append(t.tail, p...)
	}
	return len(p), nil
}

func (t *tailMeter) Usage() (inbound.Usage, bool) {
	u := usageFromTail(t.tail)
	return inbound.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		CachedTokens: u.PromptTokensDetails.CachedTokens, CacheWriteTokens: u.PromptTokensDetails.CacheWriteTokens}, u.known
}

// relayAnswer turns a non-streamed chat answer into the door's answer.
// The answer is read whole: the door's is made from all of it.
func (h *Handler) relayAnswer(w http.ResponseWriter, x *exchange, resp *providers.Response) {
	chat, err := io.ReadAll(resp.Body)
	x.usage = usageFromTail(chat[max(0, len(chat)-tailSize):])
	var answer []byte
	if err != nil {
		x.outcome = "upstream_broke"
	} else {
		answer, err = x.translator.Answer(chat, x.model)
	}
	if err != nil {
		x.fail(w, unreadableAnswer())
		return
	}
	h.storeAnswer(x, chat)
	h.writeWhole(w, x, resp.Header, answer)
}

func unreadableAnswer() *providers.Error {
	return providers.NewError(http.StatusBadGateway, "upstream_error", "the upstream's answer could not be read")
}

// writeWhole answers with a whole JSON body, the upstream's headers and
// the gateway's own, its cost among them.
func (h *Handler) writeWhole(w http.ResponseWriter, x *exchange, upstream http.Header, body []byte) {
	hdr := w.Header()
	for k, v := range upstream {
		hdr[k] = v
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	x.writeOverhead(hdr)
	h.writeCost(hdr, x)
	w.WriteHeader(http.StatusOK)
	x.status = http.StatusOK
	x.firstByte = time.Since(x.start)
	if _, err := w.Write(body); err != nil {
		x.status, x.outcome = statusClientClosed, "client_closed"
	}
}

// relayStream writes a streamed answer as Server-Sent Events, flushing
// the first chunk at once and then once per burst: whenever no further
// event is at hand. a.first is the chunk call already read. A silence of
// the upstream longer than stream_idle_timeout ends the stream with an
// upstream_timeout error event.
func (h *Handler) relayStream(w http.ResponseWriter, r *http.Request, x *exchange, a *attempt, includeUsage bool) {
	resp := a.resp
	openStream(w, x, resp.Header)
	idle := &a.idle
	idle.start(h.cfg.StreamIdleTimeout, func() { a.cancel(errStreamIdle) })
	defer idle.stop()

	out := newEventWriter(w, x.streamEncoder())
	burst, _ := resp.Stream.(providers.Bursting)
	// Lent events go to the client in the upstream's own form, so only
	// a chat stream takes them; and the relay marks no wait of theirs,
	// so only one whose body marks its reads.
	lend, _ := resp.Stream.(providers.Lending)
	if !out.chat || burst == nil || !idle.bodyMarks.Load() {
		lend = nil
	}
	f := chunkFilter{includeUsage: includeUsage}
	var rec *streamRecorder
	if x.cache.key != "" {
		rec = &streamRecorder{}
	}
	chunk := a.first
	for done := chunk == nil; ; {
		sent := false
		if chunk != nil {
			if rec != nil {
				rec.add(chunk) // before apply, which may shorten the chunk
			}
			if payload, keep := f.apply(chunk); keep {
				if err := out.chunk(payload); err != nil {
					x.status, x.outcome = statusClientClosed, "client_closed"
					break
				}
				x.chunks++
			}
			sent = true
		} else if lend != nil && !done {
			took, err := passLent(out, lend, &f, rec, x)
			if err != nil {
				x.status, x.outcome = statusClientClosed, "client_closed"
				break
			}
			sent = took
		}
		if sent {
			// From here to the next chunk the relay may wait on the
			// upstream: Ready reads what is at hand, and the rest of an
			// event whose start it saw, so it may wait too, rarely and
			// briefly. Only a flush, which waits on the client, is not
			// counted.
			idle.wait()
			// The first chunk goes out at once, whatever follows it:
			// time to first token is what a caller waits on.
			if x.firstByte == 0 || burst == nil || !burst.Ready() {
				idle.done()
				if err := out.flush(); err != nil {
					x.status, x.outcome = statusClientClosed, "client_closed"
					break
				}
				if x.firstByte == 0 && x.chunks > 0 {
					x.firstByte = time.Since(x.start)
				}
				idle.wait()
			}
			if lend != nil {
				// Lent events, if any are at hand, before Next.
				chunk = nil
				idle.done()
				continue
			}
		}
		if done {
			if usage := f.missingUsageChunk(); usage != nil {
				_ = out.chunk(usage)
			}
			// Settled before the stream's end, so the client's next
			// request sees it.
			x.usage = f.usage
			if answer, ok := rec.answer(); ok {
				h.storeAnswer(x, answer)
			}
			h.settle(x)
			_ = out.end()
			break
		}
		var err error
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
// its first bytes: an error event, then a clean close.
func (h *Handler) endWithError(out *eventWriter, r *http.Request, x *exchange, e *providers.Error) {
	if e.Status == statusClientClosed {
		x.status, x.outcome = statusClientClosed, "client_closed"
		return
	}
	x.outcome = "upstream_broke"
	x.streamError = e.Message
	_ = out.fail(e)
}

// relayNativeStream relays the raw event stream of an API the provider
// serves natively, flushing each read as reverse_proxy does. a.first is
// what call already read. The stream is not parsed: meter reads its
// usage, and an upstream that breaks midway leaves the client a cut
// stream, as it would have without the gateway.
func (h *Handler) relayNativeStream(w http.ResponseWriter, r *http.Request, x *exchange, a *attempt, meter inbound.UsageMeter) {
	openStream(w, x, a.resp.Header)
	idle := &a.idle
	idle.start(h.cfg.StreamIdleTimeout, func() { a.cancel(errStreamIdle) })
	defer idle.stop()
	rc := http.NewResponseController(w)
	read, readErr := a.first, error(nil)
	if read == nil { // the stream ended before its first byte
		readErr = io.EOF
	}
	buf := read[:cap(read)]
	for {
		if len(read) > 0 {
			_, err := w.Write(read)
			if err == nil {
				err = rc.Flush()
			}
			if err != nil {
				x.status, x.outcome = statusClientClosed, "client_closed"
				break
			}
			_, _ = meter.Write(read)
			x.chunks++
			if x.firstByte == 0 {
				x.firstByte = time.Since(x.start)
			}
		}
		if readErr != nil {
			if !errors.Is(readErr, io.EOF) {
				x.noteCause(readErr)
				e := h.attemptError(r.Context(), a.ctx, x.provider, readErr)
				if e.Status == statusClientClosed {
					x.status, x.outcome = statusClientClosed, "client_closed"
				} else {
					x.outcome, x.streamError = "upstream_broke", e.Message
				}
			}
			break
		}
		idle.wait()
		var n int
		n, readErr = a.resp.Body.Read(buf)
		idle.done()
		read = buf[:n]
	}
	if cap(buf) > 0 {
		copyBuffers.Put(&buf)
	}
	x.usage = usageOf(meter)
}
