package handler

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// DownAfter is the number of consecutive upstream failures after which a
// provider is reported down; one success brings it back up. Retries of
// one request on the same provider count as one failure (see
// withFailureScope).
const DownAfter = 3

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
// routes to. It only observes: a circuit breaker that skips down
// providers would refuse calls in trackedProvider.Send.
type healthBook struct {
	mu     sync.Mutex
	states map[string]*providerHealth
	order  []string // provider names in the order first routed to
	start  time.Time
}

// providerHealth is one provider's record.
type providerHealth struct {
	failures    int // consecutive
	lastError   time.Time
	lastSuccess time.Time
}

func newHealthBook() *healthBook {
	return &healthBook{states: make(map[string]*providerHealth), start: time.Now()}
}

// track wraps p so its calls are recorded. A provider routed to twice is
// recorded once, by name.
func (b *healthBook) track(p providers.Provider) providers.Provider {
	if _, ok := p.(tracked); ok {
		return p
	}
	name := p.Config().Name
	b.mu.Lock()
	if _, ok := b.states[name]; !ok {
		b.states[name] = &providerHealth{}
		b.order = append(b.order, name)
	}
	b.mu.Unlock()
	t := &trackedProvider{Provider: p, book: b, name: name}
	// models.go asks targets for ModelLister: keep it visible.
	if l, ok := p.(providers.ModelLister); ok {
		return &trackedLister{trackedProvider: t, ModelLister: l}
	}
	return t
}

// record notes the outcome of one call. Only failures that say something
// about the upstream count (see retryable): a client's bad request, its
// own departure or a refusal for max_concurrent does not.
func (b *healthBook) record(ctx context.Context, name string, err error) {
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	failed := err != nil
	if e, ok := errors.AsType[*providers.Error](err); ok {
		failed = retryable(e) && e.Code != providers.CodeBusy
		if !failed {
			return
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.states[name]
	if failed {
		if firstFailure(ctx, name) {
			s.failures++
		}
		s.lastError = time.Now()
	} else {
		s.failures = 0
		s.lastSuccess = time.Now()
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
	Name                string     `json:"name"`
	Status              string     `json:"status"` // up or down
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastErrorAt         *time.Time `json:"last_error_at"`
	LastSuccessAt       *time.Time `json:"last_success_at"`
}

// snapshot returns every provider's status and how many are up.
func (b *healthBook) snapshot() ([]providerStatus, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]providerStatus, 0, len(b.order))
	up := 0
	for _, name := range b.order {
		s := b.states[name]
		ps := providerStatus{Name: name, Status: "up", ConsecutiveFailures: s.failures}
		if s.failures >= DownAfter {
			ps.Status = "down"
		} else {
			up++
		}
		if !s.lastError.IsZero() {
			t := s.lastError.UTC()
			ps.LastErrorAt = &t
		}
		if !s.lastSuccess.IsZero() {
			t := s.lastSuccess.UTC()
			ps.LastSuccessAt = &t
		}
		out = append(out, ps)
	}
	return out, up
}

// healthReport is the body of GET /health.
type healthReport struct {
	// Status is healthy (every provider up), degraded (some down) or
	// unhealthy (all down: 503).
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
	case up < len(list):
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
