package handler

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

const (
	// reportDownAfter is the number of consecutive failures after which
	// /health reports a target down while circuit breaking is off,
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

// The states of a circuit, as /health shows them.
const (
	statusUp       = "up"        // closed: every request may call it
	statusDown     = "down"      // open: not called until its cooldown ends
	statusHalfOpen = "half_open" // cooldown over: one trial request may call it
	statusPaused   = "paused"    // rate-limited by the upstream until its Retry-After
)

// breaker is a handler's circuit-breaking settings.
type breaker struct {
	threshold int           // consecutive failures that open a circuit; 0: never
	cooldown  time.Duration // how long a circuit stays open
	lease     time.Duration // how long a half-open trial holds its slot at most
}

// circuit is one circuit breaker's state: a target's (provider and
// upstream model), opened by its own failed calls, or a provider's own,
// opened by failed probes and by failures to connect at all.
type circuit struct {
	breaker *breaker
	// troubled is set while anything below is not as after a success:
	// until then a call is admitted, and its success recorded, without
	// taking the lock every request would otherwise queue on.
	troubled atomic.Bool
	// lastSuccess is the time of the latest success, in unix ns.
	lastSuccess atomic.Int64

	mu          sync.Mutex
	failures    int // consecutive
	lastError   time.Time
	openUntil   time.Time // zero while the circuit is closed
	pausedUntil time.Time // a 429's Retry-After; zero when not paused
	trial       uint64    // the lease of the half-open trial under way; 0: none
	trialUntil  time.Time // when that lease runs out
	leases      uint64    // leases handed out, for the next one's number
}

// state is the circuit's state at now; c.mu is held. A pause shows only
// while the circuit is closed: an open one is out anyway.
func (c *circuit) state(now time.Time) string {
	switch {
	case !c.openUntil.IsZero() && now.Before(c.openUntil):
		return statusDown
	case !c.openUntil.IsZero():
		return statusHalfOpen
	case now.Before(c.pausedUntil):
		return statusPaused
	default:
		return statusUp
	}
}

// admit reports whether a request may call at now. When the circuit is
// half-open the first request admitted holds the trial: it gets a lease,
// to give back with endTrial once its call is over; everyone else is
// refused until the trial's outcome closes or re-opens the circuit, or
// its lease runs out. early admits a trial while the circuit is still
// open, for a route whose every target is out (see Handler.call).
func (c *circuit) admit(now time.Time, early bool) (lease uint64, ok bool) {
	if !c.troubled.Load() {
		return 0, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state(now) {
	case statusUp:
		return 0, true
	case statusPaused:
		return 0, false
	case statusDown:
		if !early {
			return 0, false
		}
	}
	if c.trial != 0 && now.Before(c.trialUntil) {
		return 0, false
	}
	c.leases++
	c.trial, c.trialUntil = c.leases, now.Add(c.breaker.lease)
	return c.trial, true
}

// endTrial frees the trial slot of lease when the trial's call ended
// without an outcome that closed or re-opened the circuit (a client
// error, a client that left): the next request is the trial then.
func (c *circuit) endTrial(lease uint64) {
	if lease == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trial == lease {
		c.trial = 0
	}
}

// succeeded records a successful call, which closes the circuit and ends
// a pause. It reports whether the circuit was open or half-open.
func (c *circuit) succeeded(now time.Time) (closed bool) {
	c.lastSuccess.Store(now.UnixNano())
	if !c.troubled.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	closed = !c.openUntil.IsZero()
	c.failures = 0
	c.openUntil, c.pausedUntil, c.trial = time.Time{}, time.Time{}, 0
	c.troubled.Store(false)
	return closed
}

// failed records a failed call; counted is false for a second failure
// within one request. It reports whether the failure opened the circuit:
// the threshold was reached, or a half-open trial failed. A failure while
// open is a late answer of a call made before, and changes nothing.
func (c *circuit) failed(now time.Time, counted bool) (opened bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.troubled.Store(true)
	c.lastError = now
	if counted {
		c.failures++
	}
	if c.breaker.threshold == 0 {
		return false
	}
	switch c.state(now) {
	case statusDown:
		if c.trial == 0 {
			return false
		}
		// An early trial failed: the cooldown starts again.
	case statusUp, statusPaused:
		if c.failures < c.breaker.threshold {
			return false
		}
	}
	c.openUntil, c.trial = now.Add(c.breaker.cooldown), 0
	return true
}

// pause keeps the circuit's target out until until, as its upstream
// asked with a 429; it is no failure. With circuit breaking off nothing
// is ever skipped, so nothing pauses either.
func (c *circuit) pause(until time.Time) {
	if c.breaker.threshold == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.troubled.Store(true)
	if until.After(c.pausedUntil) {
		c.pausedUntil = until
	}
}

// isDown reports whether the circuit is open at now: failures, not a
// rate limit.
func (c *circuit) isDown(now time.Time) bool {
	if !c.troubled.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state(now) == statusDown
}

// isOpen reports whether the circuit refuses calls at now, without
// taking a trial.
func (c *circuit) isOpen(now time.Time) bool {
	if !c.troubled.Load() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state(now)
	return s == statusDown || s == statusPaused
}

// readyIn is how long from now until a call may be made again, and
// whether the wait is an upstream's rate limit rather than an open
// circuit.
func (c *circuit) readyIn(now time.Time) (wait time.Duration, limited bool) {
	if !c.troubled.Load() {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state(now) {
	case statusDown:
		return c.openUntil.Sub(now), false
	case statusPaused:
		return c.pausedUntil.Sub(now), true
	case statusHalfOpen:
		if c.trial != 0 && now.Before(c.trialUntil) {
			return min(trialRetryAfter, c.trialUntil.Sub(now)), false
		}
	}
	return 0, false
}

// circuitStatus is a circuit's part of an entry in /health.
type circuitStatus struct {
	// Status is up (called), down (skipped until open_until; with
	// circuit breaking off, only reported), half_open (the next request
	// is a trial) or, for a target, paused (rate-limited by its upstream
	// until paused_until).
	Status              string     `json:"status"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastErrorAt         *time.Time `json:"last_error_at"`
	LastSuccessAt       *time.Time `json:"last_success_at"`
	// OpenUntil is when a down circuit's cooldown ends; null otherwise.
	OpenUntil *time.Time `json:"open_until"`
}

// status is the circuit's entry in /health at now. With circuit breaking
// off it is down after reportDownAfter failures in a row, though still
// called.
func (c *circuit) status(now time.Time) (s circuitStatus, pausedUntil *time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s = circuitStatus{Status: c.state(now), ConsecutiveFailures: c.failures}
	if c.breaker.threshold == 0 && c.failures >= reportDownAfter {
		s.Status = statusDown
	}
	if s.Status == statusDown && !c.openUntil.IsZero() {
		s.OpenUntil = utc(c.openUntil)
	}
	if s.Status == statusPaused {
		pausedUntil = utc(c.pausedUntil)
	}
	if !c.lastError.IsZero() {
		s.LastErrorAt = utc(c.lastError)
	}
	if ns := c.lastSuccess.Load(); ns != 0 {
		s.LastSuccessAt = utc(time.Unix(0, ns))
	}
	return s, pausedUntil
}

func utc(t time.Time) *time.Time {
	u := t.UTC()
	return &u
}

// noHealthyTarget is the answer when every target of a route is out and
// a trial of the first one back is already under way: the request is not
// sent, and the client is told when to come back.
func noHealthyTarget(model string, wait time.Duration) *providers.Error {
	e := providers.NewError(http.StatusServiceUnavailable, "no_healthy_target",
		"no healthy target for model `"+providers.Clip(model, 256)+"`: every target behind it failed repeatedly and is paused (circuit open); retry in "+
			strconv.Itoa(int(max(1, (wait+time.Second-1)/time.Second)))+"s")
	e.RetryAfter = wait
	return e
}

// allRateLimited is the answer when every target of a route is paused by
// its upstream's own 429: the client waits as the upstream asked.
func allRateLimited(model string, wait time.Duration) *providers.Error {
	e := providers.NewError(http.StatusTooManyRequests, "rate_limit_exceeded",
		"every upstream behind model `"+providers.Clip(model, 256)+"` is rate-limiting it; retry in "+
			strconv.Itoa(int(max(1, (wait+time.Second-1)/time.Second)))+"s")
	e.Type = "requests"
	e.RetryAfter = wait
	return e
}
