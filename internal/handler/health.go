package handler

import (
	"net/http"
	"runtime"
	"slices"
	"time"
)

// providerStatus is one provider's entry in /health.
type providerStatus struct {
	Name string `json:"name"`
	// Status is up (called), down (skipped until open_until; with circuit
	// breaking off, only reported) or half_open (the next request is a
	// trial).
	Status              string     `json:"status"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastErrorAt         *time.Time `json:"last_error_at"`
	LastSuccessAt       *time.Time `json:"last_success_at"`
	// OpenUntil is when a down provider's cooldown ends; null otherwise.
	OpenUntil *time.Time `json:"open_until"`
	// InFlight is the provider's upstream calls under way.
	InFlight int64 `json:"in_flight"`
}

// healthReport is the body of GET /health.
type healthReport struct {
	// Status is healthy (every provider up), degraded (some down or
	// half-open) or unhealthy (all down: 503).
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
	case slices.ContainsFunc(list, func(p providerStatus) bool { return p.Status != statusUp }):
		report.Status = "degraded"
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	x.writeOverhead(hdr)
	writeJSONStatus(w, status, report)
}
