package handler

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

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

// modulePath is this Go module's path, to find its version in the build.
const modulePath = "github.com/llmgateway/caddy-llm-gateway"

var version = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path == modulePath && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, dep := range bi.Deps {
		if dep.Path == modulePath && dep.Version != "" && dep.Version != "(devel)" {
			return dep.Version
		}
	}
	return "devel"
})

// Version is the module's version when Caddy was built with it as a
// dependency (as xcaddy does), else "devel".
func Version() string { return version() }

// serviceInfo is the body of GET /.
type serviceInfo struct {
	Service     string         `json:"service"`
	Description string         `json:"description"`
	Version     string         `json:"version"`
	Endpoints   []endpointInfo `json:"endpoints"`
	Usage       []string       `json:"usage"`
}

type endpointInfo struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Summary string `json:"summary"`
}

// serveInfo answers GET / (seed 003's service information).
func (h *Handler) serveInfo(w http.ResponseWriter, r *http.Request) {
	x := &exchange{start: time.Now()}
	info := serviceInfo{
		Service:     "llm_gateway",
		Description: "OpenAI-compatible LLM gateway (a Caddy module)",
		Version:     Version(),
		Usage: []string{
			"OpenAI SDKs: base_url = <this site>/v1, api_key = your gateway key (or your provider key under auth passthrough)",
			`curl <this site>/v1/chat/completions -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" -d '{"model":"<model>","messages":[{"role":"user","content":"Hello"}]}'`,
			"GET /v1/models lists the models you may use; GET /openapi.json describes every endpoint",
		},
	}
	for _, e := range endpoints {
		info.Endpoints = append(info.Endpoints, endpointInfo{e.method, e.path, e.summary})
	}
	x.writeOverhead(w.Header())
	writeJSONStatus(w, http.StatusOK, info)
}

// writeJSONStatus writes v as JSON with status.
func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	body, err := providers.MarshalJSON(v)
	if err != nil {
		writeError(w, providers.NewError(http.StatusInternalServerError, "", "encoding the response failed"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
