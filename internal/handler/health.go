package handler

import (
	"net/http"
	"runtime"
	"slices"
	"time"
)

// providerStatus is one provider's entry in /health. Its status is its
// own circuit's (opened by probes and failures to connect) when that is
// not up; else down when every target it has is down, half_open when
// they are down or half-open, else up.
type providerStatus struct {
	Name string `json:"name"`
	circuitStatus
	// InFlight is the provider's upstream calls under way.
	InFlight int64 `json:"in_flight"`
	// Targets are the provider's upstream models: the configured ones,
	// and those clients asked for through `model *` or a prefix route
	// whose calls said something of their health.
	Targets []targetStatus `json:"targets"`
}

// targetStatus is one target's entry in /health.
type targetStatus struct {
	Model string `json:"model"`
	circuitStatus
	// PausedUntil is when a paused target's upstream rate limit ends;
	// null otherwise.
	PausedUntil *time.Time `json:"paused_until"`
}

// status is the provider's entry in /health at now.
func (s *providerHealth) status(now time.Time) providerStatus {
	own, _ := s.own.status(now)
	ps := providerStatus{Name: s.name, circuitStatus: own, InFlight: s.inFlight.Load(), Targets: []targetStatus{}}
	down, halfOpen := 0, 0
	for _, t := range s.snapshotTargets() {
		ts, paused := t.status(now)
		ps.Targets = append(ps.Targets, targetStatus{Model: t.model, circuitStatus: ts, PausedUntil: paused})
		ps.ConsecutiveFailures = max(ps.ConsecutiveFailures, ts.ConsecutiveFailures)
		ps.LastErrorAt = later(ps.LastErrorAt, ts.LastErrorAt)
		ps.LastSuccessAt = later(ps.LastSuccessAt, ts.LastSuccessAt)
		if ts.Status == statusHalfOpen {
			halfOpen++
		}
		if ts.Status == statusDown {
			down++
			if ps.Status == statusUp && (ps.OpenUntil == nil || ts.OpenUntil != nil && ts.OpenUntil.Before(*ps.OpenUntil)) {
				ps.OpenUntil = ts.OpenUntil // the first target back
			}
		}
	}
	if ps.Status == statusUp {
		switch n := len(ps.Targets); {
		case down > 0 && down == n:
			ps.Status = statusDown
		case halfOpen > 0 && down+halfOpen == n:
			ps.Status, ps.OpenUntil = statusHalfOpen, nil
		default:
			ps.OpenUntil = nil
		}
	}
	return ps
}

func later(a, b *time.Time) *time.Time {
	if a == nil || b != nil && b.After(*a) {
		return b
	}
	return a
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

// degraded reports whether a provider, or one of its targets, is not up.
func degraded(p providerStatus) bool {
	return p.Status != statusUp || slices.ContainsFunc(p.Targets, func(t targetStatus) bool { return t.Status != statusUp })
}

// healthReport is the body of GET /health.
type healthReport struct {
	// Status is healthy (every provider and target up), degraded (some
	// down, half-open or paused) or unhealthy (every provider down: 503).
	Status         string           `json:"status"`
	Version        string           `json:"version"`
	UptimeSeconds  float64          `json:"uptime_seconds"`
	ActiveRequests int64            `json:"active_requests"`
	MemoryUsage    string           `json:"memory_usage"`
	Memory         memoryReport     `json:"memory"`
	Providers      []providerStatus `json:"providers"`
}

// memoryReport is the process's memory as the Go runtime sees it.
type memoryReport struct {
	// HeapInUseBytes is memory held by live and not yet collected objects.
	HeapInUseBytes uint64 `json:"heap_alloc_bytes"`
	// SysBytes is all memory obtained from the OS.
	SysBytes uint64 `json:"sys_bytes"`
}

// serveHealth answers GET /health. It is open to everyone (design: Caddy
// matchers can guard it), so it names providers but never their errors,
// which may say more than an anonymous caller should learn.
func (h *Handler) serveHealth(w http.ResponseWriter, r *http.Request) {
	x := &exchange{start: time.Now()}
	list, up := h.health.snapshot()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	report := healthReport{
		Status:         "healthy",
		Version:        Version(),
		UptimeSeconds:  time.Since(h.health.start).Seconds(),
		ActiveRequests: activeRequests.Value(),
		MemoryUsage:    humanBytes(int64(ms.HeapAlloc)) + "/" + humanBytes(int64(ms.Sys)),
		Memory:         memoryReport{HeapInUseBytes: ms.HeapAlloc, SysBytes: ms.Sys},
		Providers:      list,
	}
	status := http.StatusOK
	switch {
	case up == 0:
		report.Status, status = "unhealthy", http.StatusServiceUnavailable
	case slices.ContainsFunc(list, degraded):
		report.Status = "degraded"
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	x.writeOverhead(hdr)
	writeJSONStatus(w, status, report)
}
