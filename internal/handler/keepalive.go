package handler

import (
	"context"
	"net/http"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// keepalive writes SSE comment lines (or the door's own keepalive event)
// to a streamed answer's client while no upstream event has come yet, so
// proxies with an idle timeout keep the connection. The first one commits the response: status 200 and the
// stream's headers go out, so a later failure can only reach the client
// as an error event.
type keepalive struct {
	every time.Duration
	timer *time.Timer // nil until started; nil always when off
	w     http.ResponseWriter
	x     *exchange
}

var keepaliveLine = []byte(": keepalive\n\n")

// start arms the first keepalive, one interval from now. It does nothing
// when keepalives are off or already started.
func (k *keepalive) start() {
	if k == nil || k.every <= 0 || k.timer != nil {
		return
	}
	k.timer = time.NewTimer(k.every)
}

// c fires when a keepalive is due; nil (never) when none is.
func (k *keepalive) c() <-chan time.Time {
	if k == nil || k.timer == nil {
		return nil
	}
	return k.timer.C
}

// send writes one keepalive, in the door's shape when it has one, and
// arms the next.
func (k *keepalive) send() {
	openStream(k.w, k.x, nil)
	line := keepaliveLine
	if door, ok := k.x.translator.(inbound.Keepaliver); ok {
		line = door.Keepalive()
	}
	if _, err := k.w.Write(line); err == nil {
		_ = http.NewResponseController(k.w).Flush()
	}
	k.x.keepalives++
	k.timer.Reset(k.every)
}

// stop disarms the keepalives: the answer has begun.
func (k *keepalive) stop() {
	if k != nil && k.timer != nil {
		k.timer.Stop()
	}
}

// wait pauses for d, sending keepalives when due. It returns the context's
// error when ctx ends first.
func (k *keepalive) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-k.c():
			k.send()
		}
	}
}

// openStream sends the headers of a streamed answer, once; upstream holds
// the upstream's headers worth relaying, when known by then.
func openStream(w http.ResponseWriter, x *exchange, upstream http.Header) {
	if x.streamOpen {
		return
	}
	x.streamOpen = true
	hdr := w.Header()
	for k, v := range upstream {
		hdr[k] = v
	}
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	x.writeOverhead(hdr)
	w.WriteHeader(http.StatusOK)
	x.status = http.StatusOK
}

// failStream ends a stream whose headers are out (after a keepalive) with
// the error every target failed with: an error event, no [DONE].
func failStream(w http.ResponseWriter, x *exchange, e *providers.Error) {
	x.status = http.StatusOK
	if e.Status == statusClientClosed {
		x.status, x.outcome = statusClientClosed, "client_closed"
		return
	}
	x.outcome = e.Code
	if x.outcome == "" {
		x.outcome = e.Type
	}
	x.streamError = e.Message
	_ = newEventWriter(w, x.streamEncoder()).fail(e)
}
