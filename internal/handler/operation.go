package handler

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/answercache"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// serveOperation serves one chat, completions or embeddings request of
// OpenAI's API.
func (h *Handler) serveOperation(w http.ResponseWriter, r *http.Request, op providers.Operation) {
	h.serve(w, r, op, nil)
}

// serve runs the pipeline: auth, parse, route, limits, call the targets in
// order until one answers, relay. dx is a door's exchange, whose chat body
// the door has read already; nil for OpenAI's own endpoints.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, op providers.Operation, dx *inbound.Exchange) {
	x := &exchange{start: time.Now(), op: op, span: requestSpan(r)}
	if dx != nil {
		x.translator, x.errors = dx.Translator, dx.Translator
	}
	activeRequests.Inc()
	defer func() {
		activeRequests.Dec()
		x.cache.flight.land(answercache.Entry{}, false)
		h.settle(x)
		h.finish(r, x)
	}()

	caller, perr := h.authenticate(r)
	if perr != nil {
		x.fail(w, perr)
		return
	}
	x.caller = caller
	if dx != nil && dx.Authorized != nil {
		if perr := dx.Authorized(caller.ID); perr != nil {
			x.fail(w, perr)
			return
		}
	}
	var body []byte
	if dx != nil {
		body = dx.Chat
	} else if body, perr = readBody(w, r, h.cfg.MaxBody); perr != nil {
		x.fail(w, perr)
		return
	}
	in, perr := parseInbound(body)
	if perr != nil {
		x.fail(w, perr)
		return
	}
	// About four bytes a token: what a token limit reserves for the
	// prompt, and what a stream cut before its usage is charged for.
	x.limits.promptEstimate = int64(len(body))/4 + 1
	if op == providers.Embeddings {
		in.stream, in.includeUsage = false, false
	}
	if !in.modelGiven {
		if h.cfg.DefaultModel == "" {
			// OpenAI's own answer, word for word.
			x.fail(w, providers.NewError(http.StatusBadRequest, "", "you must provide a model parameter"))
			return
		}
		in.model = h.cfg.DefaultModel
	}
	x.model, x.stream = in.model, in.stream
	route, ok := h.routes.resolve(in.model)
	if !ok {
		x.fail(w, modelNotFound(in.model))
		return
	}
	if !caller.allows(in.model) {
		x.fail(w, modelNotAllowed(in.model))
		return
	}
	x.route = route.Name
	// Counted once the request is one the caller may make: a refused
	// model or a malformed body costs none of the caller's requests.
	if perr := h.admitRequest(r.Context(), x, r); perr != nil {
		x.fail(w, perr)
		return
	}
	if h.serveFromCache(w, r, x, route, in, dx) {
		return
	}
	if perr := h.reserveTokens(r.Context(), x, r, in); perr != nil {
		x.fail(w, perr)
		return
	}
	if perr := h.reserveBudget(r.Context(), x, r, route, in); perr != nil {
		x.fail(w, perr)
		return
	}

	// The timeout bounds the wait for the answer to begin; once a stream
	// has its first chunk it runs as long as its upstream keeps sending
	// (stream_idle_timeout). A non-streamed answer stays bounded whole.
	ctx, cancel := context.WithCancelCause(withFailureScope(r.Context()))
	defer cancel(nil)
	deadline := time.Now().Add(h.cfg.Timeout)
	timer := time.AfterFunc(h.cfg.Timeout, func() { cancel(errRequestTimeout) })
	defer timer.Stop()
	var ka *keepalive
	if in.stream && h.cfg.Keepalive > 0 {
		ka = &keepalive{every: h.cfg.Keepalive, w: w, x: x}
		defer ka.stop()
	}
	a, perr := h.call(ctx, deadline, r, x, route, in, op, dx, ka)
	if perr == nil && in.stream && !timer.Stop() {
		// The timeout fired as the first chunk came: it has won.
		a.close()
		a, perr = nil, h.attemptError(r.Context(), ctx, x.provider, context.Cause(ctx))
	}
	ka.stop()
	if perr != nil {
		if x.streamOpen {
			failStream(w, x, perr)
		} else {
			x.fail(w, perr)
		}
		return
	}
	defer a.close()
	switch {
	case x.op != op: // the door's own API, served natively
		meter := dx.Meter(in.stream)
		if in.stream {
			h.relayNativeStream(w, r, x, a, meter)
		} else {
			h.relayBody(w, x, a.resp, meter)
		}
		if dx.Relayed != nil {
			dx.Relayed(x.provider, meter)
		}
	case in.stream:
		h.relayStream(w, r, x, a, in.includeUsage)
	case x.translator != nil:
		h.relayAnswer(w, x, a.resp)
	default:
		h.relayBody(w, x, a.resp, &tailMeter{})
	}
}

func modelNotFound(model string) *providers.Error {
	e := providers.NewError(http.StatusNotFound, "model_not_found",
		"The model `"+providers.Clip(model, 256)+"` does not exist or you do not have access to it.")
	e.Param = "model"
	return e
}

func modelNotAllowed(model string) *providers.Error {
	e := providers.NewError(http.StatusForbidden, "model_not_allowed",
		"You are not allowed to use the model `"+providers.Clip(model, 256)+"`.")
	e.Param = "model"
	return e
}

// call sends the request upstream until a target answers: each target
// of the route in the order its policy gives for this request, wrapping
// around, for at most max_attempts calls. A target whose circuit is open,
// or that its upstream rate-limited, is skipped without using a call.
// When every target is out, the one back first takes the request as an
// early trial, one request at a time, so that a route never waits out a
// whole cooldown while its upstream may be back already; while that trial
// runs others get 503 no_healthy_target, and when every target is out for
// its upstream's own 429 the client gets a 429 with the wait. Only failures
// another try may fix (see retryable) lead to another call, and only
// before anything of the answer reached the client. Two tries of the same
// target are apart by a jittered exponential backoff, or by the target's
// Retry-After when it sent one; a target whose next try would come after
// deadline is not tried again. For a stream, the first chunk is read here
// too, so a stream that breaks before its first chunk is retried as well.
// A target that serves the API of dx's door natively is sent the door's
// own body, with x.op set to that API. A pinned exchange goes to its
// provider's targets alone.
func (h *Handler) call(ctx context.Context, deadline time.Time, r *http.Request, x *exchange, route *Route, in *requestBody, op providers.Operation, dx *inbound.Exchange, ka *keepalive) (*attempt, *providers.Error) {
	targets := route.balance.order()
	if dx != nil && dx.Pin != nil {
		if targets = pinned(targets, dx); len(targets) == 0 {
			return nil, dx.Pin.Refusal
		}
	}
	n := len(targets)
	maxAttempts := h.cfg.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = n + 1
	}
	tries := make([]int, n)           // failed tries of each target
	notBefore := make([]time.Time, n) // when each may be tried again
	dropped := make([]bool, n)        // not to be tried again
	var last *providers.Error
	early := -1 // the target given an early trial
	for i, calls := 0, 0; calls < maxAttempts; i++ {
		if i = nextTarget(dropped, i); i < 0 {
			if calls > 0 || early >= 0 {
				break
			}
			j, wait, limited := soonestReady(targets, in.model)
			if limited {
				return nil, allRateLimited(in.model, wait)
			}
			early, i, dropped[j] = j, j, false
		}
		t := targets[i]
		name := t.Provider.Config().Name
		if tries[i] > 0 {
			if ka.wait(ctx, time.Until(notBefore[i])) != nil {
				return nil, h.attemptError(r.Context(), ctx, name, context.Cause(ctx))
			}
		}
		model := t.upstreamModel(in.model)
		callOp := op
		var body []byte
		var err error
		if dx != nil && servesNatively(t.Provider, dx.API) {
			callOp = dx.API
			body, err = setModel(dx.Body, model)
		} else {
			body, err = in.withModel(model)
		}
		if err != nil {
			return nil, invalidBody("the request body must be a JSON object")
		}
		th := t.health.target(model)
		lease, admitted := th.admit(time.Now(), i == early)
		if !admitted {
			upstreamSkipped.WithLabelValues(name).Inc()
			dropped[i] = true
			continue
		}
		calls++
		x.attempts++
		x.provider, x.upstreamModel, x.upstreamHost, x.op = name, model, hostOf(t.Provider), callOp
		call := &providers.Call{Op: callOp, Model: model, ClientModel: in.model, Body: body, Stream: in.stream, RequestHeader: r.Header}
		if t.Provider.Config().UsesCallerKey(h.passthrough) {
			if x.caller.upstreamKey == "" {
				th.endTrial(lease)
				return nil, missingKey()
			}
			call.CallerKey = x.caller.upstreamKey
		}

		callCtx := ctx
		var span trace.Span
		if x.span != nil {
			x.genAIProvider = genAIProvider(t.Provider)
			callCtx, span = x.startAttempt(ctx, t.Provider, call)
		}
		began := time.Now()
		ka.start()
		t.health.inFlight.Add(1)
		a, err := h.try(callCtx, t.Provider, call, ka)
		x.upstreamWait += time.Since(began)
		if err == nil {
			th.endTrial(lease)
			a.inFlight, a.span = &t.health.inFlight, span
			upstreamAttempts.WithLabelValues(name, "success").Inc()
			return a, nil
		}
		t.health.inFlight.Add(-1)

		last = h.attemptError(r.Context(), a.ctx, name, err)
		endAttempt(span, last)
		x.noteCause(err)
		a.cancel(nil)
		if errors.Is(context.Cause(a.ctx), errFirstToken) && last.Status != statusClientClosed {
			// Sends that fail on their own are counted by trackedProvider.
			h.health.recordCall(context.WithoutCancel(ctx), th, last)
		}
		th.endTrial(lease)
		if last.Status == statusClientClosed {
			upstreamAttempts.WithLabelValues(name, "client_closed").Inc()
			return nil, last
		}
		upstreamAttempts.WithLabelValues(name, outcomeOf(last)).Inc()
		if errors.Is(context.Cause(ctx), errRequestTimeout) {
			return nil, last // the request's whole time is spent
		}
		if !retryable(last) {
			return nil, last
		}
		tries[i]++
		wait := backoff(tries[i])
		if last.RetryAfter > 0 {
			wait = last.RetryAfter
		}
		notBefore[i] = time.Now().Add(wait)
		// A longer wait than a backoff belongs to the client: its SDK
		// retries with the Retry-After the gateway passes on, and the
		// gateway should not hold the request that long. A target whose
		// failure opened its circuit is out for this request too.
		if notBefore[i].After(deadline) || last.RetryAfter > backoffCap || t.health.target(model).isDown(time.Now()) {
			dropped[i] = true
		}
		if calls < maxAttempts {
			h.cfg.Logger.Warn("upstream failed, trying again",
				zap.String("model", in.model), zap.String("provider", name), zap.String("upstream_host", x.upstreamHost),
				zap.Int("attempt", x.attempts), zap.Int("status", last.Status), zap.String("error", last.Message),
				zap.String("cause", x.failureCause))
		}
	}
	if last == nil {
		// The early trial went to another request, which is under way.
		return nil, noHealthyTarget(in.model, trialRetryAfter)
	}
	return nil, last
}

// pinned is the targets of dx's pinned provider that serve its API
// natively, in their order.
func pinned(targets []Target, dx *inbound.Exchange) []Target {
	var kept []Target
	for _, t := range targets {
		if t.Provider.Config().Name == dx.Pin.Provider && servesNatively(t.Provider, dx.API) {
			kept = append(kept, t)
		}
	}
	return kept
}

// soonestReady is the index of the target that may be called again
// first, how long until then, and whether that wait is its upstream's
// rate limit rather than an open circuit.
func soonestReady(targets []Target, model string) (index int, wait time.Duration, limited bool) {
	now := time.Now()
	for i, t := range targets {
		w, l := t.health.target(t.upstreamModel(model)).readyIn(now)
		if i == 0 || w < wait {
			index, wait, limited = i, w, l
		}
	}
	return index, wait, limited
}

// nextTarget is the first target from i on (wrapping around) that may
// still be tried, or -1.
func nextTarget(dropped []bool, i int) int {
	for j := range dropped {
		if k := (i + j) % len(dropped); !dropped[k] {
			return k
		}
	}
	return -1
}

// try makes one upstream call under its own context, bounded by the
// first-token timeout until the answer begins: the response headers of a
// non-streamed answer, the first chunk of a stream. The returned attempt
// is never nil; its context tells a timeout's cause.
func (h *Handler) try(ctx context.Context, p providers.Provider, call *providers.Call, ka *keepalive) (*attempt, error) {
	a := &attempt{}
	actx, cancel := context.WithCancelCause(providers.WithReadWatcher(ctx, &a.idle))
	a.ctx, a.cancel = actx, cancel
	timer := time.AfterFunc(h.cfg.FirstTokenTimeout, func() { cancel(errFirstToken) })
	var err error
	if ka.c() == nil {
		a.resp, a.first, err = send(actx, p, call)
	} else {
		// The call runs aside while this goroutine writes the keepalives:
		// only one goroutine writes to the client.
		type result struct {
			resp  *providers.Response
			first []byte
			err   error
		}
		done := make(chan result, 1)
		go func() {
			var res result
			res.resp, res.first, res.err = send(actx, p, call)
			done <- res
		}()
		for wait := true; wait; {
			select {
			case res := <-done:
				a.resp, a.first, err = res.resp, res.first, res.err
				wait = false
			case <-ka.c():
				ka.send()
			}
		}
	}
	if !timer.Stop() && err == nil {
		// The timeout fired as the answer came; its body is cut already.
		_ = a.resp.Close()
		a.resp, a.first, err = nil, nil, errFirstToken
	}
	return a, err
}

// servesNatively reports whether p serves api itself.
func servesNatively(p providers.Provider, api providers.Operation) bool {
	n, ok := unwrap(p).(providers.NativeAPIs)
	return ok && api != "" && n.ServesNatively(api)
}

// send calls the provider and, for a stream, reads its first chunk: for a
// natively served API, whose raw stream is in Body, its first bytes.
func send(ctx context.Context, p providers.Provider, call *providers.Call) (*providers.Response, []byte, error) {
	resp, err := p.Send(ctx, call)
	if err != nil || !call.Stream {
		return resp, nil, err
	}
	if resp.Stream == nil {
		first, err := readFirst(resp.Body)
		if err != nil {
			_ = resp.Close()
			return nil, nil, err
		}
		return resp, first, nil
	}
	first, err := resp.Stream.Next()
	switch {
	case errors.Is(err, io.EOF):
		return resp, nil, nil
	case err != nil:
		_ = resp.Close()
		return nil, nil, err
	}
	return resp, first, nil
}

// readFirst reads the first bytes of a raw stream into a buffer of
// copyBuffers, which the relay goes on reading into; nil when the stream
// ended before its first byte.
func readFirst(body io.Reader) ([]byte, error) {
	buf := copyBuffers.Get().(*[]byte)
	for {
		n, err := body.Read(*buf)
		switch {
		case n > 0:
			return (*buf)[:n], nil
		case errors.Is(err, io.EOF):
			copyBuffers.Put(buf)
			return nil, nil
		case err != nil:
			copyBuffers.Put(buf)
			return nil, err
		}
	}
}

// outcomeOf is the upstream_attempts_total outcome label of a failure.
func outcomeOf(e *providers.Error) string {
	switch {
	case e.Code == providers.CodeBusy:
		return "busy"
	case e.Status == http.StatusGatewayTimeout:
		return "timeout"
	case e.Code == "upstream_error":
		return "error"
	default:
		return strconv.Itoa(e.Status)
	}
}
