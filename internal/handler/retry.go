package handler

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Defaults of the retry and timeout settings.
const (
	DefaultFirstTokenTimeout = 60 * time.Second
	DefaultStreamIdleTimeout = 5 * time.Minute

	// backoffBase and backoffCap bound the pause between two tries of the
	// same target: a random duration in [0, min(cap, base·2^(n-1))) before
	// its nth retry ("full jitter").
	backoffBase = 100 * time.Millisecond
	backoffCap  = 2 * time.Second
)

// The causes with which the gateway cancels upstream calls, told apart
// from a client that went away.
var (
	errRequestTimeout = errors.New("the request timeout fired")
	errFirstToken     = errors.New("the first-token timeout fired")
	errStreamIdle     = errors.New("the stream idle timeout fired")
)

// backoff is the pause before the retry after a target's tries-th
// consecutive failure in this request.
func backoff(tries int) time.Duration {
	d := backoffCap
	if tries <= 5 { // 100ms·2^5 is past the cap already
		d = min(backoffCap, backoffBase<<(tries-1))
	}
	return rand.N(d)
}

// attempt is the upstream call that answered: its response, the first
// chunk of a stream (nil when the stream ended without one), and the
// context its body is read under, cancelled by cancel.
type attempt struct {
	resp   *providers.Response
	first  []byte
	ctx    context.Context
	cancel context.CancelCauseFunc
	// inFlight is the provider's count of calls under way, which this one
	// leaves when closed.
	inFlight *atomic.Int64
}

// close releases the upstream connection.
func (a *attempt) close() {
	_ = a.resp.Close()
	a.cancel(nil)
	a.inFlight.Add(-1)
}

// attemptError turns a failed upstream call into the client's error,
// naming the gateway's own timeouts. clientCtx is the client request's
// context, ctx the one the call ran under.
func (h *Handler) attemptError(clientCtx, ctx context.Context, provider string, err error) *providers.Error {
	if _, ok := errors.AsType[*providers.Error](err); !ok && clientCtx.Err() == nil {
		var msg string
		switch context.Cause(ctx) {
		case errRequestTimeout:
			msg = "the upstream provider " + provider + " did not answer within the gateway's timeout (" + h.cfg.Timeout.String() + ")"
		case errFirstToken:
			msg = "the upstream provider " + provider + " did not start its answer within " + h.cfg.FirstTokenTimeout.String()
		case errStreamIdle:
			msg = "the upstream provider " + provider + " sent nothing for " + h.cfg.StreamIdleTimeout.String()
		}
		if msg != "" {
			return providers.NewError(http.StatusGatewayTimeout, "upstream_timeout", msg)
		}
	}
	return upstreamError(clientCtx, provider, err)
}

// keepalive writes SSE comment lines to a streamed answer's client while
// no upstream event has come yet, so proxies with an idle timeout keep
// the connection. The first one commits the response: status 200 and the
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

// send writes one keepalive line and arms the next.
func (k *keepalive) send() {
	openStream(k.w, k.x, nil)
	if _, err := k.w.Write(keepaliveLine); err == nil {
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
// the error every target failed with: an OpenAI error event, no [DONE].
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
	out := newEventWriter(w)
	body, _ := e.MarshalJSON()
	if out.event(body) == nil {
		_ = out.flush()
	}
}
