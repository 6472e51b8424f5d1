package handler

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// maxTrackedModels bounds the targets a provider keeps a circuit for when
// the model names come from clients (a `model *` or prefix route without
// a target model): past it, the names not seen yet share one circuit.
const maxTrackedModels = 256

// otherModels names the circuit those extra names share in /health.
const otherModels = "(other models)"

// failureScope is the targets that already failed in one request.
type failureScope struct {
	mu     sync.Mutex
	failed map[*circuit]bool
}

type failureScopeKey struct{}

// withFailureScope makes the failures of calls under ctx count once per
// circuit: a request retried three times on a target that is down says no
// more about it than one call.
func withFailureScope(ctx context.Context) context.Context {
	return context.WithValue(ctx, failureScopeKey{}, &failureScope{})
}

// firstFailure reports whether c has not failed yet in ctx's scope, and
// marks it failed.
func firstFailure(ctx context.Context, c *circuit) bool {
	s, ok := ctx.Value(failureScopeKey{}).(*failureScope)
	if !ok {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed[c] {
		return false
	}
	if s.failed == nil {
		s.failed = make(map[*circuit]bool)
	}
	s.failed[c] = true
	return true
}

// healthBook tracks the upstream outcomes of every provider a handler
// routes to, and keeps a circuit for each of its targets (a provider and
// an upstream model, so one model's outage or rate limit never pauses the
// provider's others) and one for the provider itself, which only its
// probes and failures to connect at all can open.
type healthBook struct {
	states  map[string]*providerHealth // by name; fixed once New returns
	order   []*providerHealth          // in the order first routed to
	start   time.Time
	breaker breaker
	logger  *zap.Logger
}

// providerHealth is one provider's record.
type providerHealth struct {
	name     string
	provider providers.Provider // as configured, for probes
	// inFlight counts the provider's upstream calls from their start
	// until their answer is closed, for least_busy and /health.
	inFlight atomic.Int64
	// own is the provider's circuit: open, it keeps every target out.
	own circuit

	// targets, by upstream model, is read by every request and written
	// only when a model is met for the first time: a new map replaces it.
	targets atomic.Pointer[map[string]*targetHealth]

	mu      sync.Mutex      // serialises changes of targets and the fields below
	order   []*targetHealth // configured first, then as first called
	other   *targetHealth   // the names past maxTrackedModels
	dynamic int             // targets added for clients' names
}

// targetHealth is one target's record: a provider and an upstream model.
type targetHealth struct {
	provider *providerHealth
	model    string
	// configured targets were named in the configuration: they have
	// metric series, and show in /health before their first call.
	configured bool
	circuit
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
		s = &providerHealth{name: name, provider: unwrap(p), own: circuit{breaker: &b.breaker}}
		b.states[name] = s
		b.order = append(b.order, s)
	}
	if _, ok := p.(tracked); ok {
		return p, s
	}
	t := &trackedProvider{Provider: p, book: b, health: s}
	// models.go asks targets for ModelLister: keep it visible.
	if l, ok := p.(providers.ModelLister); ok {
		return &trackedLister{trackedProvider: t, ModelLister: l}, s
	}
	return t, s
}

// configure records a target named in the configuration.
func (s *providerHealth) configure(model string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.lookup(model); ok {
		t.configured = true
		return
	}
	s.add(&targetHealth{provider: s, model: model, configured: true, circuit: circuit{breaker: s.own.breaker}})
}

// target returns the record of the provider's upstream model. A model
// met for the first time gets a record of its own that is kept (see keep)
// only once a call to it says something of its health: names the upstream
// refuses, such as a client's typo sent through `model *`, use none of
// the provider's maxTrackedModels and never show in /health.
func (s *providerHealth) target(model string) *targetHealth {
	if t, ok := s.lookup(model); ok {
		return t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dynamic >= maxTrackedModels {
		return s.others()
	}
	return &targetHealth{provider: s, model: model, circuit: circuit{breaker: s.own.breaker}}
}

// keep returns the kept record of t's model: t itself when it is the
// first of its model to be kept, the one kept before it otherwise, or the
// shared record of the names past maxTrackedModels.
func (s *providerHealth) keep(t *targetHealth) *targetHealth {
	if kept, ok := s.lookup(t.model); ok {
		return kept
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if kept, ok := s.lookup(t.model); ok {
		return kept
	}
	if s.dynamic >= maxTrackedModels {
		return s.others()
	}
	s.dynamic++
	s.add(t)
	return t
}

// others returns the record the names past maxTrackedModels share; s.mu
// is held.
func (s *providerHealth) others() *targetHealth {
	if s.other == nil {
		s.other = &targetHealth{provider: s, model: otherModels, circuit: circuit{breaker: s.own.breaker}}
		s.order = append(s.order, s.other)
	}
	return s.other
}

// lookup finds the record of model without a lock.
func (s *providerHealth) lookup(model string) (*targetHealth, bool) {
	m := s.targets.Load()
	if m == nil {
		return nil, false
	}
	t, ok := (*m)[model]
	return t, ok
}

// add publishes a new target in a copy of the map; s.mu is held.
func (s *providerHealth) add(t *targetHealth) {
	next := make(map[string]*targetHealth, len(s.order)+1)
	if m := s.targets.Load(); m != nil {
		maps.Copy(next, *m)
	}
	next[t.model] = t
	s.targets.Store(&next)
	s.order = append(s.order, t)
}

// snapshotTargets returns the provider's targets.
func (s *providerHealth) snapshotTargets() []*targetHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*targetHealth(nil), s.order...)
}

// admit reports whether a request may call the target at now (see
// circuit.admit); the provider's own circuit must let it through too.
func (t *targetHealth) admit(now time.Time, early bool) (lease uint64, ok bool) {
	if t.provider.own.isOpen(now) && !early {
		return 0, false
	}
	return t.circuit.admit(now, early)
}

// readyIn is how long until the target may be called again (see
// circuit.readyIn), its provider's own circuit included.
func (t *targetHealth) readyIn(now time.Time) (time.Duration, bool) {
	wait, limited := t.circuit.readyIn(now)
	if own, _ := t.provider.own.readyIn(now); own > wait {
		return own, false
	}
	return wait, limited
}

// isDown reports whether the target's circuit, or its provider's, is
// open at now.
func (t *targetHealth) isDown(now time.Time) bool {
	return t.circuit.isDown(now) || t.provider.own.isDown(now)
}

// isOpen reports whether the target is out at now.
func (t *targetHealth) isOpen(now time.Time) bool {
	return t.circuit.isOpen(now) || t.provider.own.isOpen(now)
}

// recordCall notes the outcome of one call to a target. Only failures
// that say something about the upstream count (see retryable): a client's
// bad request, its own departure or a refusal for max_concurrent does
// not. A 429 pauses the target for its Retry-After without counting as a
// failure; one that says nothing of when to come back pauses nothing. A
// failure to connect at all says the same of every model of
// the provider, so it counts on the provider's own circuit too.
func (b *healthBook) recordCall(ctx context.Context, t *targetHealth, err error) {
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	now := time.Now()
	if e, ok := errors.AsType[*providers.Error](err); ok {
		if e.Status == 429 {
			if e.RetryAfter > 0 {
				t.provider.keep(t).pause(now.Add(e.RetryAfter))
			}
			return
		}
		if !retryable(e) || e.Code == providers.CodeBusy {
			return
		}
	}
	t = t.provider.keep(t)
	name := t.provider.name
	if err == nil {
		if t.succeeded(now) {
			b.logger.Info("target recovered: circuit closed", zap.String("provider", name), zap.String("upstream_model", t.model))
		}
		if t.provider.own.succeeded(now) {
			b.logger.Info("provider recovered: circuit closed", zap.String("provider", name))
		}
		return
	}
	if t.failed(now, firstFailure(ctx, &t.circuit)) {
		// The client's form of the error: a transport error's own text
		// can hold the upstream URL, and a key in its query.
		b.logger.Warn("target failing: circuit open, skipped for the cooldown",
			zap.String("provider", name), zap.String("upstream_model", t.model),
			zap.Duration("cooldown", b.breaker.cooldown), zap.String("error", upstreamError(ctx, name, err).Message))
	}
	if _, unreachable := failureCause(err); unreachable {
		b.recordProvider(ctx, t.provider, err)
	}
}

// recordProvider notes an outcome that speaks for the provider as a
// whole: a probe's, or a failure to connect.
func (b *healthBook) recordProvider(ctx context.Context, s *providerHealth, err error) {
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	now := time.Now()
	if err == nil {
		if s.own.succeeded(now) {
			b.logger.Info("provider recovered: circuit closed", zap.String("provider", s.name))
		}
		return
	}
	if e, ok := errors.AsType[*providers.Error](err); ok && !retryable(e) {
		return
	}
	if s.own.failed(now, firstFailure(ctx, &s.own)) {
		b.logger.Warn("provider failing: circuit open, every model skipped for the cooldown",
			zap.String("provider", s.name), zap.Duration("cooldown", b.breaker.cooldown),
			zap.String("error", upstreamError(ctx, s.name, err).Message))
	}
}

// tracked marks wrapped providers.
type tracked interface {
	unwrapProvider() providers.Provider
}

// trackedProvider records the outcome of each Send on its target.
type trackedProvider struct {
	providers.Provider
	book   *healthBook
	health *providerHealth
}

// Send calls the provider and records the outcome.
func (t *trackedProvider) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	resp, err := t.Provider.Send(ctx, call)
	t.book.recordCall(ctx, t.health.target(call.Model), err)
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
