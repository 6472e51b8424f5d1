package handler

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// backoffBase and backoffCap bound the pause between two tries of the
// same target: a random duration in [0, min(cap, base·2^(n-1))) before
// its nth retry ("full jitter").
const (
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
	// span is the attempt's trace span, ended with it; nil when tracing
	// is off.
	span trace.Span
	// idle watches the stream's waits on its upstream once it has begun;
	// its body marks its reads from the call on.
	idle idleWatch
}

// close releases the upstream connection.
func (a *attempt) close() {
	_ = a.resp.Close()
	a.cancel(nil)
	a.inFlight.Add(-1)
	endAttempt(a.span, nil)
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
