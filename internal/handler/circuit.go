package handler

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

const (
	// reportDownAfter is the number of consecutive failures after which
	// /health reports a provider down while circuit breaking is off,
	// though it is still called: the module's default fail_threshold.
	reportDownAfter = 3

	// trialLeaseMargin is added to the first-token timeout, which bounds
	// the time until a trial call's outcome is known, to give the lease
	// of a half-open trial: a trial that never reports back (its client
	// left, its key was missing) frees the slot when the lease ends.
	trialLeaseMargin = time.Second
	// trialRetryAfter is the wait a refused client is told while a trial
	// is under way: its outcome is due soon.
	trialRetryAfter = time.Second
)

// The states of a provider's circuit, as /health shows them.
const (
	statusUp       = "up"        // closed: every request may call it
	statusDown     = "down"      // open: not called until its cooldown ends
	statusHalfOpen = "half_open" // cooldown over: one trial request may call it
)

// breaker is a handler's circuit-breaking settings.
type breaker struct {
	threshold int           // consecutive failures that open a circuit; 0: never
	cooldown  time.Duration // how long a circuit stays open
	lease     time.Duration // how long a half-open trial holds its slot at most
}

// failureScope is the providers that already failed in one request.
type failureScope struct {
	mu     sync.Mutex
	failed map[string]bool
}

type failureScopeKey struct{}

// withFailureScope makes the failures of calls under ctx count once per
// provider: a request retried three times on a provider that is down says
// no more about it than one call.
func withFailureScope(ctx context.Context) context.Context {
	return context.WithValue(ctx, failureScopeKey{}, &failureScope{})
}

// firstFailure reports whether name has not failed yet in ctx's scope, and
// marks it failed.
func firstFailure(ctx context.Context, name string) bool {
	s, ok := ctx.Value(failureScopeKey{}).(*failureScope)
	if !ok {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed[name] {
		return false
	}
	if s.failed == nil {
		s.failed = make(map[string]bool)
	}
	s.failed[name] = true
	return true
}

// healthBook tracks the upstream outcomes of every provider a handler
// routes to, and keeps the circuit of each: a provider that keeps failing
// is skipped for a cooldown (see breaker).
type healthBook struct {
	states  map[string]*providerHealth // by name; fixed once New returns
	order   []*providerHealth          // in the order first routed to
	start   time.Time
	breaker breaker
	logger  *zap.Logger
}

// providerHealth is one provider's record and circuit.
type providerHealth struct {
	name     string
	provider providers.Provider // as configured, for probes
	breaker  *breaker
	// inFlight counts the provider's upstream calls from their start
	// until their answer is closed, for least_busy and /health.
	inFlight atomic.Int64

	mu          sync.Mutex
	failures    int // consecutive
	lastError   time.Time
	lastSuccess time.Time
	openUntil   time.Time // zero while the circuit is closed
	trial       uint64    // the lease of the half-open trial under way; 0: none
	trialUntil  time.Time // when that lease runs out
	leases      uint64    // leases handed out, for the next one's number
}

func newHealthBook(b breaker, logger *zap.Logger) *healthBook {
	return &healthBook{states: make(map[string]*providerHealth), start: time.Now(), breaker: b, logger: logger}
}

// track wraps p so its calls are recorded, and returns its record. A
// provider routed to twice is recorded once, by name.
func (b *healthBook) track(p providers.Provider) (providers.Provider, *providerHealth) {
	name := p.Config().Name
	s, ok := b.states[name]
	if !ok {
		s = &providerHealth{name: name, provider: unwrap(p), breaker: &b.breaker}
		b.states[name] = s
		b.order = append(b.order, s)
	}
	if _, ok := p.(tracked); ok {
		return p, s
	}
	t := &trackedProvider{Provider: p, book: b, name: name}
	// models.go asks targets for ModelLister: keep it visible.
	if l, ok := p.(providers.ModelLister); ok {
		return &trackedLister{trackedProvider: t, ModelLister: l}, s
	}
	return t, s
}

// record notes the outcome of one call. Only failures that say something
// about the upstream count (see retryable): a client's bad request, its
// own departure or a refusal for max_concurrent does not.
func (b *healthBook) record(ctx context.Context, name string, err error) {
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	if e, ok := errors.AsType[*providers.Error](err); ok && (!retryable(e) || e.Code == providers.CodeBusy) {
		return
	}
	s, ok := b.states[name]
	if !ok {
		return
	}
	now := time.Now()
	if err == nil {
		if s.succeeded(now) {
			b.logger.Info("provider recovered: circuit closed", zap.String("provider", name))
		}
		return
	}
	if s.failed(now, firstFailure(ctx, name)) {
		// The client's form of the error: a transport error's own text
		// can hold the upstream URL, and a key in its query.
		b.logger.Warn("provider failing: circuit open, skipped for the cooldown",
			zap.String("provider", name), zap.Duration("cooldown", b.breaker.cooldown),
			zap.String("error", upstreamError(ctx, name, err).Message))
	}
}

// tracked marks wrapped providers.
type tracked interface {
	unwrapProvider() providers.Provider
}

// trackedProvider records the outcome of each Send.
type trackedProvider struct {
	providers.Provider
	book *healthBook
	name string
}

// Send calls the provider and records the outcome.
func (t *trackedProvider) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	resp, err := t.Provider.Send(ctx, call)
	t.book.record(ctx, t.name, err)
	return resp, err
}

func (t *trackedProvider) unwrapProvider() providers.Provider { return t.Provider }

// trackedLister is a trackedProvider whose provider lists its models.
type trackedLister struct {
	*trackedProvider
	providers.ModelLister
}

// unwrap returns the provider behind the health tracking, for optional
// interfaces the tracker does not pass on.
func unwrap(p providers.Provider) providers.Provider {
	if t, ok := p.(tracked); ok {
		return t.unwrapProvider()
	}
	return p
}

// circuitState is the state of s at now; s.mu is held.
func (s *providerHealth) circuitState(now time.Time) string {
	switch {
	case s.openUntil.IsZero():
		return statusUp
	case now.Before(s.openUntil):
		return statusDown
	default:
		return statusHalfOpen
	}
}

// admit reports whether a request may call the provider at now. When the
// circuit is half-open the first request admitted holds the trial: it
// gets a lease, to give back with endTrial once its call is over;
// everyone else is refused until the trial's outcome closes or re-opens
// the circuit, or its lease runs out.
func (s *providerHealth) admit(now time.Time) (lease uint64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.circuitState(now) {
	case statusUp:
		return 0, true
	case statusDown:
		return 0, false
	}
	if s.trial != 0 && now.Before(s.trialUntil) {
		return 0, false
	}
	s.leases++
	s.trial, s.trialUntil = s.leases, now.Add(s.breaker.lease)
	return s.trial, true
}

// endTrial frees the trial slot of lease when the trial's call ended
// without an outcome that closed or re-opened the circuit (a client
// error, a client that left): the next request is the trial then.
func (s *providerHealth) endTrial(lease uint64) {
	if lease == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trial == lease {
		s.trial = 0
	}
}

// succeeded records a successful call, which closes the circuit. It
// reports whether the circuit was open or half-open.
func (s *providerHealth) succeeded(now time.Time) (closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	closed = !s.openUntil.IsZero()
	s.failures, s.lastSuccess = 0, now
	s.openUntil, s.trial = time.Time{}, 0
	return closed
}

// failed records a failed call; counted is false for a second failure
// within one request. It reports whether the failure opened the circuit:
// the threshold was reached, or a half-open trial failed. A failure while
// open is a late answer of a call made before, and changes nothing.
func (s *providerHealth) failed(now time.Time, counted bool) (opened bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastError = now
	if counted {
		s.failures++
	}
	if s.breaker.threshold == 0 {
		return false
	}
	switch s.circuitState(now) {
	case statusDown:
		return false
	case statusUp:
		if s.failures < s.breaker.threshold {
			return false
		}
	}
	s.openUntil, s.trial = now.Add(s.breaker.cooldown), 0
	return true
}

// isOpen reports whether the provider is refused at now, without taking
// a trial.
func (s *providerHealth) isOpen(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.circuitState(now) == statusDown
}

// readyIn is how long from now until the provider may be called again.
func (s *providerHealth) readyIn(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.circuitState(now) {
	case statusDown:
		return s.openUntil.Sub(now)
	case statusHalfOpen:
		if s.trial != 0 && now.Before(s.trialUntil) {
			return min(trialRetryAfter, s.trialUntil.Sub(now))
		}
	}
	return 0
}

// status is the provider's entry in /health at now. With circuit
// breaking off it is down after reportDownAfter failures in a row,
// though still called.
func (s *providerHealth) status(now time.Time) providerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := providerStatus{Name: s.name, Status: s.circuitState(now), ConsecutiveFailures: s.failures,
		InFlight: s.inFlight.Load()}
	if s.breaker.threshold == 0 && s.failures >= reportDownAfter {
		ps.Status = statusDown
	}
	if ps.Status == statusDown && !s.openUntil.IsZero() {
		t := s.openUntil.UTC()
		ps.OpenUntil = &t
	}
	if !s.lastError.IsZero() {
		t := s.lastError.UTC()
		ps.LastErrorAt = &t
	}
	if !s.lastSuccess.IsZero() {
		t := s.lastSuccess.UTC()
		ps.LastSuccessAt = &t
	}
	return ps
}

// snapshot returns every provider's status and how many are not down.
func (b *healthBook) snapshot() ([]providerStatus, int) {
	now := time.Now()
	out := make([]providerStatus, 0, len(b.order))
	up := 0
	for _, s := range b.order {
		ps := s.status(now)
		if ps.Status != statusDown {
			up++
		}
		out = append(out, ps)
	}
	return out, up
}

// noHealthyTarget is the answer when every target of a route is open:
// the request is not sent, and the client is told when to come back.
func noHealthyTarget(model string, wait time.Duration) *providers.Error {
	e := providers.NewError(http.StatusServiceUnavailable, "no_healthy_target",
		"no healthy target for model `"+providers.Clip(model, 256)+"`: every provider behind it failed repeatedly and is paused (circuit open); retry in "+
			strconv.Itoa(int(max(1, (wait+time.Second-1)/time.Second)))+"s")
	e.RetryAfter = wait
	return e
}
