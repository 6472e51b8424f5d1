package handler

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Defaults of the circuit breaker.
const (
	// DefaultFailThreshold is the number of consecutive failures after
	// which a provider's circuit opens (or, with breaking off, after which
	// /health reports it down).
	DefaultFailThreshold = 3
	// DefaultCooldown is how long an open circuit keeps its provider out
	// before a trial request may use it again.
	DefaultCooldown = 10 * time.Second

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
// breaking off it is down after DefaultFailThreshold failures in a row,
// though still called.
func (s *providerHealth) status(now time.Time) providerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := providerStatus{Name: s.name, Status: s.circuitState(now), ConsecutiveFailures: s.failures,
		InFlight: s.inFlight.Load()}
	if s.breaker.threshold == 0 && s.failures >= DefaultFailThreshold {
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

// noHealthyTarget is the answer when every target of a route is open:
// the request is not sent, and the client is told when to come back.
func noHealthyTarget(model string, wait time.Duration) *providers.Error {
	e := providers.NewError(http.StatusServiceUnavailable, "no_healthy_target",
		"no healthy target for model `"+providers.Clip(model, 256)+"`: every provider behind it failed repeatedly and is paused (circuit open); retry in "+
			strconv.Itoa(int(max(1, (wait+time.Second-1)/time.Second)))+"s")
	e.RetryAfter = wait
	return e
}

// circuitCollector reports llm_gateway_provider_up for the providers of
// every live handler, computed at scrape time: a cooldown ends by the
// clock, not by an event that could update a gauge.
type circuitCollector struct {
	desc  *prometheus.Desc
	mu    sync.Mutex
	books map[*healthBook]struct{}
}

func newCircuitCollector() *circuitCollector {
	return &circuitCollector{
		desc: prometheus.NewDesc("llm_gateway_provider_up",
			"1 while a provider may be called (up or half-open, as in /health), 0 while it is down.",
			[]string{"provider"}, nil),
		books: make(map[*healthBook]struct{}),
	}
}

func (c *circuitCollector) add(b *healthBook) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.books[b] = struct{}{}
}

func (c *circuitCollector) remove(b *healthBook) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.books, b)
}

// Describe sends the metric's description.
func (c *circuitCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect sends each provider's value. A provider name several handlers
// share (two sites, or the old and new config during a reload) is up
// when it is up in any of them.
func (c *circuitCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	up := make(map[string]float64)
	c.mu.Lock()
	for b := range c.books {
		for _, s := range b.order {
			if s.status(now).Status != statusDown {
				up[s.name] = 1
			} else if _, seen := up[s.name]; !seen {
				up[s.name] = 0
			}
		}
	}
	c.mu.Unlock()
	for name, v := range up {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, name)
	}
}
