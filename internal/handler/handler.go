// Package handler is the llm_gateway request pipeline: it routes OpenAI API
// requests to providers, falls back across targets, relays answers and
// streams, and writes errors, metrics and logs. It runs without a Caddy
// server, so it is tested directly.
package handler

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Config is everything the pipeline needs, every value ready for use: the
// root module (llmgateway.Gateway) owns the settings. Its Provision applies
// their defaults and checks them, under their Caddyfile names, and its
// field docs are their reference; New only refuses a Config the pipeline
// could not run with.
type Config struct {
	// Routes in configuration order; a route named Wildcard catches every
	// other model.
	Routes []Route
	// DefaultModel is used for requests that name no model; "" for none.
	DefaultModel string
	// MaxBody bounds request bodies, in bytes.
	MaxBody int64
	// Timeout bounds the time until the answer begins to reach the client
	// (retries and backoff included), and a non-streamed answer whole. A
	// stream that has begun runs on as long as its upstream keeps sending.
	Timeout time.Duration
	// MaxAttempts is the most upstream calls one request makes, across all
	// of its route's targets; 0 for the route's number of targets + 1.
	MaxAttempts int
	// FirstTokenTimeout bounds each upstream call until its answer begins:
	// the response headers of a non-streamed answer, the first event of a
	// stream. When it fires the call counts as a timeout, tried again like
	// one.
	FirstTokenTimeout time.Duration
	// StreamIdleTimeout is the longest silence between two events of a
	// stream once it has begun; when exceeded the stream ends with an
	// upstream_timeout error event.
	StreamIdleTimeout time.Duration
	// Keepalive is the interval of SSE comment lines sent to a streaming
	// client while no upstream event has come yet, the first one interval
	// after the request went upstream; 0 for none.
	Keepalive time.Duration
	// FailThreshold is the number of consecutive failed requests (see
	// retryable) after which a provider's circuit opens: it is skipped
	// until Cooldown has passed, then one trial request may call it, whose
	// success closes the circuit and whose failure opens it again. 0 turns
	// circuit breaking off.
	FailThreshold int
	// Cooldown is how long an open circuit stays open.
	Cooldown time.Duration
	// ProbeInterval is how often each provider is probed by listing its
	// models with its own key: a success closes its circuit, a failure
	// counts like a failed request. Providers that list models from their
	// configuration, or that use each caller's key, are not probed. 0 for
	// no probes.
	ProbeInterval time.Duration
	// Auth identifies callers; nil lets everyone in, identified by IP.
	Auth Authenticator
	// Limits are the default per-caller limits.
	Limits Limits
	// Logger receives one line per request; nil for none.
	Logger *zap.Logger
	// Doors are the client-facing APIs served beside OpenAI's, such as
	// the native API; their endpoints join the gateway's own.
	Doors []inbound.Door
	// Prices price the calls; nil for none.
	Prices *pricing.Book
	// Cache serves answers again; nil for none.
	Cache *Cache
}

// Handler serves the gateway's HTTP surface.
type Handler struct {
	cfg         Config
	routes      *router
	health      *healthBook
	passthrough bool   // callers' keys go to providers without a key of their own
	stopProbes  func() // ends the probes and waits for them; nil when none run

	// endpoints are the gateway's own and its doors'.
	endpoints []endpoint

	// flights are the cache misses under way.
	flights flights

	// storeErrorLogged is when a store failure was last logged (unix ns).
	storeErrorLogged atomic.Int64
	// cacheErrorLogged is when a cache failure was last logged (unix ns).
	cacheErrorLogged atomic.Int64
}

// New returns a Handler serving cfg.
func New(cfg Config) (*Handler, error) {
	if err := cfg.runnable(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	_, passthrough := cfg.Auth.(PassthroughAuth)
	health := newHealthBook(breaker{threshold: cfg.FailThreshold, cooldown: cfg.Cooldown,
		lease: cfg.FirstTokenTimeout + trialLeaseMargin}, cfg.Logger)
	// The routes are copied before their providers are wrapped: the
	// caller's slice stays as it was given.
	cfg.Routes = slices.Clone(cfg.Routes)
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		targets := slices.Clone(r.Targets)
		for j := range targets {
			targets[j].Provider, targets[j].health = health.track(targets[j].Provider)
			// A target whose upstream model is fixed by the configuration
			// has its circuit from the start; the others are the names
			// clients send, met as they come.
			if model := targets[j].Model; model != "" {
				targets[j].health.configure(model)
			} else if !IsPrefixPattern(r.Name) {
				targets[j].health.configure(r.Name)
			}
		}
		r.Targets = targets
		r.balance = newBalancer(r.Policy, targets)
	}
	h := &Handler{cfg: cfg, routes: newRouter(cfg.Routes), health: health, passthrough: passthrough,
		endpoints: withDoors(cfg.Doors)}
	providerUp.add(health)
	if cfg.ProbeInterval > 0 {
		h.startProbes()
	}
	return h, nil
}

// runnable refuses a Config built without the root module's defaults,
// which the pipeline could not run with: a bound left at zero would fail
// every request it bounds, and limits need a store to count in.
func (cfg *Config) runnable() error {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"MaxBody", cfg.MaxBody > 0},
		{"Timeout", cfg.Timeout > 0},
		{"FirstTokenTimeout", cfg.FirstTokenTimeout > 0},
		{"StreamIdleTimeout", cfg.StreamIdleTimeout > 0},
		{"Limits.Counter", cfg.Limits.Counter != nil || (cfg.Limits.Requests == nil && cfg.Limits.Tokens == nil)},
		{"Limits.Spender", cfg.Limits.Spender != nil || cfg.Limits.Budget == nil},
	} {
		if !f.set {
			return fmt.Errorf("the pipeline's %s is not set", f.name)
		}
	}
	return nil
}

// Close stops the handler's background work: the probes, and its
// providers' entries in llm_gateway_provider_up. Requests still in
// flight finish normally. Closing twice is fine.
func (h *Handler) Close() {
	if h.stopProbes != nil {
		h.stopProbes()
	}
	providerUp.remove(h.health)
}

// endpoint is one route of the gateway's HTTP surface.
type endpoint struct {
	// method is POST or GET; GET endpoints answer HEAD too.
	method string
	// path is written as in the OpenAPI document: a `{param}` segment
	// stands for one path segment or more, so model names with slashes
	// (meta-llama/Llama-3-8B) fit.
	path string
	// summary describes the endpoint on `GET /`.
	summary string
	serve   func(*Handler, http.ResponseWriter, *http.Request)
	// errors writes the errors of a door's endpoint; nil for OpenAI's.
	errors inbound.ErrorWriter
}

// endpoints is the gateway's own HTTP surface, to which New adds the
// doors': one table, so that `GET /`, the OpenAPI document and its test
// all read the same list. It is set in init because `GET /` lists it.
var endpoints []endpoint

func init() {
	endpoints = []endpoint{
		{method: "POST", path: "/v1/chat/completions", summary: "OpenAI chat completion, streamed or not", serve: postOp(providers.Chat)},
		{method: "POST", path: "/v1/completions", summary: "OpenAI legacy text completion", serve: postOp(providers.Completions)},
		{method: "POST", path: "/v1/embeddings", summary: "OpenAI embeddings", serve: postOp(providers.Embeddings)},
		{method: "GET", path: "/v1/models", summary: "the models this caller may use, in OpenAI's list shape (Anthropic's with anthropic-version)", serve: (*Handler).listModels},
		{method: "GET", path: "/v1/models/{id}", summary: "one model of that list", serve: (*Handler).getModel},
		{method: "GET", path: "/health", summary: "service and provider health; 503 when no provider can serve", serve: (*Handler).serveHealth},
		{method: "GET", path: "/api/v1/key", summary: "the calling key's spend, budget and limits, OpenRouter's shape", serve: (*Handler).serveKey},
		{method: "GET", path: "/openapi.json", summary: "this API as an OpenAPI 3.1 document", serve: (*Handler).serveOpenAPI},
		{method: "GET", path: "/", summary: "service information and usage hints", serve: (*Handler).serveInfo},
	}
}

func postOp(op providers.Operation) func(*Handler, http.ResponseWriter, *http.Request) {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) { h.serveOperation(w, r, op) }
}

// withDoors is the gateway's endpoints with the doors' put before the
// service endpoints (`/health` and after), as `GET /` lists them.
func withDoors(doors []inbound.Door) []endpoint {
	service := slices.IndexFunc(endpoints, func(e endpoint) bool { return e.path == "/health" })
	all := slices.Clone(endpoints[:service])
	for _, d := range doors {
		for _, de := range d.Endpoints() {
			all = append(all, endpoint{method: de.Method, path: de.Path, summary: de.Summary, errors: d,
				serve: func(h *Handler, w http.ResponseWriter, r *http.Request) { de.Serve((*hub)(h), w, r) }})
		}
	}
	return append(all, endpoints[service:]...)
}

// match reports whether path is the endpoint's, and returns the value of
// its parameter when it has one.
func (e *endpoint) match(path string) (param string, ok bool) {
	open := strings.IndexByte(e.path, '{')
	if open < 0 {
		return "", path == e.path
	}
	prefix, suffix := e.path[:open], e.path[strings.IndexByte(e.path, '}')+1:]
	if len(path) <= len(prefix)+len(suffix) || !strings.HasPrefix(path, prefix) || !strings.HasSuffix(path, suffix) {
		return "", false
	}
	return path[len(prefix) : len(path)-len(suffix)], true
}

// paramName is the name of the path's `{param}`.
func (e *endpoint) paramName() string {
	return e.path[strings.IndexByte(e.path, '{')+1 : strings.IndexByte(e.path, '}')]
}

// ServeHTTP serves r when its path belongs to the gateway and reports
// whether it did; other requests are left for the next handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	var allow []string
	var shape inbound.ErrorWriter
	for i := range h.endpoints {
		e := &h.endpoints[i]
		param, ok := e.match(path)
		if !ok {
			continue
		}
		if path == "/" && strings.Contains(r.Header.Get("Accept"), "text/html") {
			// A browser asking for the site's home page gets the site's
			// (file_server, reverse_proxy); API clients get the JSON info.
			return false
		}
		if r.Method == e.method || (r.Method == http.MethodHead && e.method == http.MethodGet) {
			w, r = h.withRequestID(w, r)
			if param != "" {
				r.SetPathValue(e.paramName(), param)
			}
			e.serve(h, w, r)
			return true
		}
		allow = append(allow, e.method)
		shape = e.errors
	}
	// Only the API namespaces answer 405 and 404: another method on `/`
	// or `/health`, or another path, may well be meant for the next
	// handler of the site.
	api := strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/api/")
	_, unversioned := unversionedPaths[path]
	if !(api || unversioned) || r.Method == http.MethodOptions { // CORS preflights are answered by the site's own config
		return false
	}
	w, _ = h.withRequestID(w, r)
	if allow == nil {
		// A typo such as /v1/chat/completion, or an SDK's base URL
		// without /v1, must not end in the site's empty 200.
		msg := "Invalid URL (" + r.Method + " " + providers.Clip(path, 256) + ")"
		if unversioned {
			msg += ": the API is under /v1; a client's base URL ends in /v1 (for example https://<this site>/v1)"
		}
		x := &exchange{start: time.Now(), errors: h.shapeNear(path)}
		x.fail(w, providers.NewError(http.StatusNotFound, "", msg))
		return true
	}
	if slices.Contains(allow, http.MethodGet) {
		allow = append(allow, http.MethodHead)
	}
	methodNotAllowed(w, strings.Join(allow, ", "), shape)
	return true
}

// unversionedPaths are the API's operations as a client whose base URL
// lacks /v1 asks for them.
var unversionedPaths = map[string]struct{}{
	"/chat/completions": {}, "/completions": {}, "/embeddings": {}, "/models": {}, "/responses": {}, "/messages": {},
}

// shapeNear is the error shape of the endpoint whose path shares the
// most leading segments with path: an unknown path under a door's
// endpoints answers in that door's shape.
func (h *Handler) shapeNear(path string) inbound.ErrorWriter {
	var shape inbound.ErrorWriter
	best := 0
	for i := range h.endpoints {
		e := &h.endpoints[i]
		if n := sharedSegments(e.path, path); n > best {
			best, shape = n, e.errors
		}
	}
	return shape
}

// sharedSegments counts the leading path segments a and b have in common.
func sharedSegments(a, b string) int {
	n := 0
	for {
		sa, ra, moreA := strings.Cut(strings.TrimPrefix(a, "/"), "/")
		sb, rb, moreB := strings.Cut(strings.TrimPrefix(b, "/"), "/")
		if sa != sb || sa == "" {
			return n
		}
		n++
		if !moreA || !moreB {
			return n
		}
		a, b = "/"+ra, "/"+rb
	}
}

// methodNotAllowed answers 405 in the shape of the endpoint's errors.
func methodNotAllowed(w http.ResponseWriter, allow string, shape inbound.ErrorWriter) {
	x := &exchange{start: time.Now(), errors: shape}
	w.Header().Set("Allow", allow)
	x.fail(w, providers.NewError(http.StatusMethodNotAllowed, "method_not_allowed", "this endpoint accepts "+allow))
}

// authenticate returns the caller of r, or the error to answer with. With
// no auth configured every caller is anonymous (nil).
func (h *Handler) authenticate(r *http.Request) (*Caller, *providers.Error) {
	if h.cfg.Auth == nil {
		return &Caller{upstreamKey: presentedKey(r)}, nil
	}
	return h.cfg.Auth.Authenticate(r)
}

// requestContext bounds a request by the gateway's timeout.
func (h *Handler) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), h.cfg.Timeout)
}
