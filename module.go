// Package llmgateway is the `llm_gateway` Caddy HTTP handler: it makes a
// Caddy site an OpenAI-compatible gateway in front of many model providers.
//
// xcaddy imports only this package, so it owns the Caddy module type and
// blank-imports every built-in provider (see imports.go).
package llmgateway

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/inbound/responses"
	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func init() {
	caddy.RegisterModule(Gateway{})
}

// The settings' defaults. Provision applies them, and only it: the
// pipeline (internal/handler) takes every value as given.
const (
	DefaultMaxBody           = 8 << 20
	DefaultTimeout           = 10 * time.Minute
	DefaultTokenReserve      = 1024
	DefaultFirstTokenTimeout = 60 * time.Second
	DefaultStreamIdleTimeout = 5 * time.Minute
	DefaultFailThreshold     = 3
	DefaultCooldown          = 10 * time.Second
	DefaultBatchConcurrency  = 4
	DefaultBatchMax          = 32
)

// Gateway is an OpenAI-compatible LLM API gateway. It serves
// `POST /v1/chat/completions` (streamed or not), `POST /v1/completions`,
// `POST /v1/embeddings`, `GET /v1/models` and `GET /v1/models/{id}`; every
// other request goes on to the next handler, so a site can mix the gateway
// with `file_server` or `reverse_proxy`.
//
// Requests are routed by their `model` to providers: upstreams that speak
// OpenAI's API are relayed without re-encoding the body, and streams are
// relayed event by event with a flush after each one.
//
// Errors have OpenAI's shape `{"error":{"message","type","param","code"}}`.
// Every answer carries `X-LLM-Gateway-Overhead-Ms`, the time spent in the
// gateway itself.
//
// After a request, these placeholders are set:
//
// Placeholder | Description
// ------------|-------------
// `{http.llm_gateway.model}` | The model the client asked for
// `{http.llm_gateway.provider}` | The provider that served (or last failed) the request
// `{http.llm_gateway.upstream_model}` | The model name sent upstream
// `{http.llm_gateway.attempts}` | Upstream calls made, fallbacks included
// `{http.llm_gateway.prompt_tokens}` | Prompt tokens reported by the upstream
// `{http.llm_gateway.completion_tokens}` | Completion tokens reported by the upstream
// `{http.llm_gateway.overhead_ms}` | Time spent in the gateway, in milliseconds
type Gateway struct {
	// ProvidersRaw are the upstream providers, each a module in the
	// `http.llm_gateway.providers` namespace with a unique `name`.
	ProvidersRaw []json.RawMessage `json:"providers,omitempty" caddy:"namespace=http.llm_gateway.providers inline_key=provider"`

	// Models routes public model names to targets. A route named `*`
	// catches every model without a route of its own. With no routes and a
	// single provider, every model goes to that provider unchanged.
	Models []ModelRoute `json:"models,omitempty"`

	// Auth says who may call. Default: anyone.
	Auth *AuthConfig `json:"auth,omitempty"`

	// RateLimit is the number of requests each caller may make per window:
	// per API key, JWT identity or passthrough key, or per client IP with
	// no auth. Default: none.
	RateLimit *LimitConfig `json:"rate_limit,omitempty"`

	// TokenLimit is the number of tokens (prompt plus completion) each
	// caller may use per window. Before a request is sent upstream its
	// tokens are reserved (the prompt at about four bytes a token, plus its
	// `max_tokens` or TokenReserve); a request whose reservation does not
	// fit is refused with 429, and the reservation is replaced by the real
	// usage when the answer ends. Default: none.
	TokenLimit *LimitConfig `json:"token_limit,omitempty"`

	// TokenReserve is reserved for the answer of a request that sets no
	// `max_tokens` while a token limit applies. Default: 1024.
	TokenReserve int64 `json:"token_reserve,omitempty"`

	// RateLimitStore is where limit counters live. Default: memory.
	RateLimitStore *StoreConfig `json:"rate_limit_store,omitempty"`

	// OnStoreError is `allow` (let requests through, log an error and
	// count `llm_gateway_rate_limit_store_errors_total`) or `deny` (answer
	// 503) while the store cannot be reached. Default: allow.
	OnStoreError string `json:"on_store_error,omitempty"`

	// DefaultModel is the public model used for requests that name none.
	// Default: none; such requests get a 400 error.
	DefaultModel string `json:"default_model,omitempty"`

	// MaxBody is the largest request body accepted, in bytes; larger ones
	// get a 413 error. Default: 8 MiB.
	MaxBody int64 `json:"max_body,omitempty"`

	// Timeout bounds the time until the answer begins to reach the client,
	// every retry and backoff pause included, and a non-streamed answer
	// whole; when it fires the client gets a 504. A stream that has begun
	// is never cut by it: it runs as long as its upstream keeps sending
	// (see StreamIdleTimeout). Default: 10m.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// MaxAttempts is the most upstream calls one request makes, across all
	// of its route's targets: they are tried in order, then from the first
	// again, while calls remain. Only failures another call may fix are
	// retried (connection errors, timeouts, 408, 429, 5xx), and only before
	// any byte of the answer reached the client. Default: the route's
	// number of targets + 1 (one retry for a single target).
	MaxAttempts int `json:"max_attempts,omitempty"`

	// FirstTokenTimeout bounds each upstream call until its answer begins:
	// the first event of a stream, the response headers otherwise. When it
	// fires the call counts as a timeout and the next attempt follows; with
	// none left the client gets a 504. Default: 60s.
	FirstTokenTimeout caddy.Duration `json:"first_token_timeout,omitempty"`

	// StreamIdleTimeout is the longest silence allowed between two events
	// of an upstream stream once it has begun; when exceeded the stream
	// ends with an error event whose code is `upstream_timeout`. The
	// silence is checked eight times per timeout, so the stream ends
	// within an eighth of the timeout after it is exceeded. Default: 5m.
	StreamIdleTimeout caddy.Duration `json:"stream_idle_timeout,omitempty"`

	// Keepalive is the interval of SSE comment lines (`: keepalive`) sent
	// to a streaming client while no upstream event has come yet, for
	// proxies that drop idle connections; the first goes out one interval
	// after the request went upstream. It commits the response: status
	// 200 is sent, so a failure after it reaches the client as an error
	// event rather than an error status. Default: 0 (off).
	Keepalive caddy.Duration `json:"keepalive,omitempty"`

	// LB is the load-balancing policy of every route that names none of
	// its own: `first` (the targets in order: the first is every request's
	// primary, the others are fallbacks), `round_robin` (each target is
	// the primary in turn), `weighted` (each target is the primary in
	// proportion to its `weight`, spread evenly) or `least_busy` (the
	// target whose provider has the fewest calls in flight). After the
	// primary, the other targets follow in configured order, wrapping
	// around, as fallbacks. Default: first.
	LB string `json:"lb,omitempty"`

	// FailThreshold is the number of consecutive failed requests to a
	// provider (connection errors, timeouts, 408, 429, 5xx; several calls
	// of one request count once) that open its circuit: the provider is
	// skipped, without using an attempt, until Cooldown has passed; then
	// one trial request may call it, whose success closes the circuit and
	// whose failure opens it for another cooldown. A request whose targets
	// are all open gets a 503 `no_healthy_target` with Retry-After.
	// 0 turns circuit breaking off. Default: 3.
	FailThreshold *int `json:"fail_threshold,omitempty"`

	// Cooldown is how long an open circuit keeps its provider out.
	// Default: 10s.
	Cooldown caddy.Duration `json:"cooldown,omitempty"`

	// ProbeInterval is how often every provider is probed by listing its
	// models (`GET /models` or the provider's equivalent) with its own
	// key: a success closes its circuit, a failure counts like a failed
	// request. Providers whose model list comes from the configuration
	// (azure, mock) or that send each caller's key (passthrough) are not
	// probed. Default: 0, no probes.
	ProbeInterval caddy.Duration `json:"probe_interval,omitempty"`

	// BatchConcurrency is how many items of one `/api/v1/batch/generate`
	// request run at once. Default: 4.
	BatchConcurrency int `json:"batch_concurrency,omitempty"`

	// BatchMax is the most items one batch may hold; a larger batch gets
	// a 400 error. Default: 32.
	BatchMax int `json:"batch_max,omitempty"`

	// ResponseStore is where the Responses API's responses are kept.
	// Default: memory, for 720h, at most 64MiB.
	ResponseStore *ResponseStoreConfig `json:"response_store,omitempty"`

	// Prices is the path of a price list in LiteLLM's
	// model_prices_and_context_window.json format, read at every config
	// load: a call costs its upstream model's entry, found as
	// `<provider type>/<model>` or `<model>`. Placeholders such as
	// {env.PRICES} are replaced.
	Prices string `json:"prices,omitempty"`

	// Price sets the prices of public models, in USD per million tokens;
	// they override the price list.
	Price map[string]*PriceConfig `json:"price,omitempty"`

	// Budget is each caller's spend per period at the configured prices
	// (a key's own budget replaces it). A call is refused with 429
	// `insufficient_quota` when the most it can cost does not fit in
	// what is left. Kept in rate_limit_store.
	Budget *BudgetConfig `json:"budget,omitempty"`

	// Groups are teams of callers that share a budget and limits, by
	// name: keys join one with `group`, JWT identities with the claim
	// `group_claim` names.
	Groups map[string]*GroupConfig `json:"groups,omitempty"`

	// Cache answers a request that asks the same as an earlier one from
	// the answers kept, without an upstream call. Default: none.
	Cache *CacheConfig `json:"cache,omitempty"`

	providers  []providers.Provider
	handler    *handler.Handler
	counterKey string // the limit store in counters, when one is used
	responses  *responses.Store
	storeKey   string // the response store in responseStores, when one is used
	cacheKey   string // the cache's store in answerCaches, when one is used
	logger     *zap.Logger
}

// ModelRoute maps one public model name to the targets that serve it.
type ModelRoute struct {
	// Name is the model name clients send, or `*` for every other model.
	Name string `json:"name"`

	// Targets serve the route: each request tries them in the order of
	// the route's load-balancing policy; when one fails before anything
	// was sent to the client (a connection error, a timeout, 408, 429 or
	// 5xx), the request goes to the next.
	Targets []ModelTarget `json:"targets"`

	// LB is this route's load-balancing policy (see the gateway's `lb`).
	// Default: the gateway's.
	LB string `json:"lb,omitempty"`
}

// ModelTarget is one provider a route can use.
type ModelTarget struct {
	// Provider is the name of a configured provider.
	Provider string `json:"provider"`

	// Model is the model name sent upstream. Default: the name the client
	// asked for.
	Model string `json:"model,omitempty"`

	// Weight is the target's share of the requests it is the primary of,
	// under the `weighted` policy (which alone accepts weights): with
	// weights 3 and 1, three requests in every four go first to the one,
	// the fourth to the other. Default: 1.
	Weight int `json:"weight,omitempty"`
}

// String renders the target as written in the Caddyfile.
func (t ModelTarget) String() string {
	if t.Model == "" {
		return t.Provider
	}
	return t.Provider + "/" + t.Model
}

// CaddyModule returns the Caddy module information.
func (Gateway) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.llm_gateway",
		New: func() caddy.Module { return new(Gateway) },
	}
}

// Provision applies the defaults, checks the settings, loads the
// providers and builds the request pipeline. It is the one owner of the
// settings' defaults and checks: the pipeline gets them ready to use.
func (g *Gateway) Provision(ctx caddy.Context) error {
	g.logger = ctx.Logger()
	g.setDefaults()
	// Caddy validates after Provision, but the pipeline built here must
	// not see an invalid setting.
	if err := g.Validate(); err != nil {
		return err
	}
	mods, err := ctx.LoadModule(g, "ProvidersRaw")
	if err != nil {
		return fmt.Errorf("loading providers: %w", err)
	}
	byName := make(map[string]providers.Provider)
	for _, m := range mods.([]any) {
		p, ok := m.(providers.Provider)
		if !ok {
			return fmt.Errorf("module %T is not an llm_gateway provider", m)
		}
		name := p.Config().Name
		if name == "" {
			return fmt.Errorf("a provider has no name")
		}
		if _, dup := byName[name]; dup {
			return fmt.Errorf("provider %q is defined twice", name)
		}
		byName[name] = p
		g.providers = append(g.providers, p)
	}
	routes, err := g.routes(byName)
	if err != nil {
		return err
	}
	groups, err := g.groups()
	if err != nil {
		return err
	}
	auth, err := g.Auth.authenticator(groups)
	if err != nil {
		return err
	}
	if err := g.checkAllowLists(routes); err != nil {
		return err
	}
	if err := g.checkPassthroughKeys(); err != nil {
		return err
	}
	prices, err := g.priceBook(routes)
	if err != nil {
		return err
	}
	limits, err := g.limits()
	if err != nil {
		return err
	}
	if g.responses, g.storeKey, err = g.ResponseStore.load(ctx.Logger()); err != nil {
		return err
	}
	cache, cacheKey, err := g.Cache.load()
	if err != nil {
		return err
	}
	g.cacheKey = cacheKey
	if err := handler.RegisterMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	g.handler, err = handler.New(handler.Config{
		Routes:       routes,
		Auth:         auth,
		Limits:       limits,
		DefaultModel: g.DefaultModel,
		MaxBody:      g.MaxBody,
		Timeout:      time.Duration(g.Timeout),
		Logger:       g.logger,

		MaxAttempts:       g.MaxAttempts,
		FirstTokenTimeout: time.Duration(g.FirstTokenTimeout),
		StreamIdleTimeout: time.Duration(g.StreamIdleTimeout),
		Keepalive:         time.Duration(g.Keepalive),

		FailThreshold: *g.FailThreshold,
		Cooldown:      time.Duration(g.Cooldown),
		ProbeInterval: time.Duration(g.ProbeInterval),

		Doors:  g.doors(),
		Prices: prices,
		Cache:  cache,
	})
	if err != nil {
		return fmt.Errorf("building the gateway: %w", err)
	}
	return nil
}

// setDefaults gives every unset setting its default.
func (g *Gateway) setDefaults() {
	g.MaxBody = cmp.Or(g.MaxBody, DefaultMaxBody)
	g.Timeout = cmp.Or(g.Timeout, caddy.Duration(DefaultTimeout))
	g.TokenReserve = cmp.Or(g.TokenReserve, DefaultTokenReserve)
	g.FirstTokenTimeout = cmp.Or(g.FirstTokenTimeout, caddy.Duration(DefaultFirstTokenTimeout))
	g.StreamIdleTimeout = cmp.Or(g.StreamIdleTimeout, caddy.Duration(DefaultStreamIdleTimeout))
	g.Cooldown = cmp.Or(g.Cooldown, caddy.Duration(DefaultCooldown))
	g.BatchConcurrency = cmp.Or(g.BatchConcurrency, DefaultBatchConcurrency)
	g.BatchMax = cmp.Or(g.BatchMax, DefaultBatchMax)
	if g.FailThreshold == nil {
		threshold := DefaultFailThreshold
		g.FailThreshold = &threshold
	}
	if g.ResponseStore == nil {
		g.ResponseStore = &ResponseStoreConfig{}
	}
	g.ResponseStore.setDefaults()
	if g.Cache != nil {
		g.Cache.setDefaults()
	}
}

// routes resolves the configured model routes against the providers.
func (g *Gateway) routes(byName map[string]providers.Provider) ([]handler.Route, error) {
	if len(g.providers) == 0 {
		return nil, fmt.Errorf("no provider configured: add a `provider <name> <type>` block")
	}
	if len(g.Models) == 0 {
		if len(g.providers) > 1 {
			return nil, fmt.Errorf("%d providers are configured but no `model` line routes to them: add `model <name> <provider>` or `model * <provider>`", len(g.providers))
		}
		return []handler.Route{{Name: handler.Wildcard, Targets: []handler.Target{{Provider: g.providers[0]}}, Policy: handler.Policy(g.LB)}}, nil
	}
	known := slices.Sorted(maps.Keys(byName))
	seen := make(map[string]bool)
	routes := make([]handler.Route, 0, len(g.Models))
	for _, m := range g.Models {
		if err := handler.CheckRouteName(m.Name); err != nil {
			return nil, err
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("model %q is routed twice", m.Name)
		}
		seen[m.Name] = true
		if len(m.Targets) == 0 {
			return nil, fmt.Errorf("model %q has no targets", m.Name)
		}
		route := handler.Route{Name: m.Name, Policy: handler.Policy(cmp.Or(m.LB, g.LB))}
		if err := handler.CheckPolicy(handler.Policy(m.LB)); err != nil {
			return nil, fmt.Errorf("model %q: %w", m.Name, err)
		}
		for _, t := range m.Targets {
			p, ok := byName[t.Provider]
			if !ok {
				return nil, fmt.Errorf("model %q: target %q names unknown provider %q (configured: %s)",
					m.Name, t, t.Provider, strings.Join(known, ", "))
			}
			switch {
			case t.Weight < 0:
				return nil, fmt.Errorf("model %q: target %q has a negative weight", m.Name, t)
			case t.Weight != 0 && route.Policy != handler.Weighted:
				return nil, fmt.Errorf("model %q: target %q has a weight, but the route's lb policy is %s; weights apply to lb weighted only",
					m.Name, t, cmp.Or(route.Policy, handler.First))
			}
			route.Targets = append(route.Targets, handler.Target{Provider: p, Model: t.Model, Weight: t.Weight})
		}
		routes = append(routes, route)
	}
	if g.DefaultModel != "" && !slices.ContainsFunc(routes, func(r handler.Route) bool { return routeReaches(r.Name, g.DefaultModel) }) {
		return nil, fmt.Errorf("default_model %q has no `model` route", g.DefaultModel)
	}
	return routes, nil
}

// checkAllowLists makes sure every model a key is allowed names a route:
// a name some route catches, or a prefix pattern some route's names can
// start with.
func (g *Gateway) checkAllowLists(routes []handler.Route) error {
	if g.Auth == nil {
		return nil
	}
	for _, k := range g.Auth.Keys {
		for _, m := range k.Models {
			if !slices.ContainsFunc(routes, func(r handler.Route) bool { return routeReaches(r.Name, m) }) {
				return fmt.Errorf("auth key %s: model %q has no `model` route", k.Name, m)
			}
		}
	}
	return nil
}

// routeReaches reports whether the route named route serves some model
// that the allow-list entry allowed admits.
func routeReaches(route, allowed string) bool {
	switch {
	case handler.IsPrefixPattern(route) && handler.IsPrefixPattern(allowed):
		a, b := route[:len(route)-1], allowed[:len(allowed)-1]
		return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
	case handler.IsPrefixPattern(route):
		return strings.HasPrefix(allowed, route[:len(route)-1])
	case handler.IsPrefixPattern(allowed):
		return strings.HasPrefix(route, allowed[:len(allowed)-1])
	}
	return route == allowed
}

// checkPassthroughKeys refuses `api_key passthrough` where the caller's
// bearer token is a gateway credential, which must never go upstream.
func (g *Gateway) checkPassthroughKeys() error {
	mode := g.Auth.mode()
	if mode != AuthKeys && mode != AuthJWT {
		return nil
	}
	for _, p := range g.providers {
		if p.Config().APIKey == providers.KeyPassthrough {
			return fmt.Errorf("provider %q: api_key passthrough would send the caller's gateway credential upstream under auth %s; use auth none or auth passthrough", p.Config().Name, mode)
		}
	}
	return nil
}

// Validate checks the settings that need no provider: the bounds, and
// the load-balancing policy. Provision runs it before it builds the
// pipeline.
func (g *Gateway) Validate() error {
	if err := handler.CheckPolicy(handler.Policy(g.LB)); err != nil {
		return fmt.Errorf("lb: %w", err)
	}
	for _, f := range []struct {
		name  string
		value int64
	}{
		{"max_body", g.MaxBody},
		{"timeout", int64(g.Timeout)},
		{"token_reserve", g.TokenReserve},
		{"max_attempts", int64(g.MaxAttempts)},
		{"first_token_timeout", int64(g.FirstTokenTimeout)},
		{"stream_idle_timeout", int64(g.StreamIdleTimeout)},
		{"keepalive", int64(g.Keepalive)},
		{"batch_concurrency", int64(g.BatchConcurrency)},
		{"batch_max", int64(g.BatchMax)},
		{"fail_threshold", int64(ptrValue(g.FailThreshold))},
		{"cooldown", int64(g.Cooldown)},
		{"probe_interval", int64(g.ProbeInterval)},
	} {
		if f.value < 0 {
			return fmt.Errorf("%s must not be negative", f.name)
		}
	}
	if err := g.validatePrices(); err != nil {
		return err
	}
	if g.ResponseStore != nil {
		if err := g.ResponseStore.validate(); err != nil {
			return err
		}
	}
	if g.Cache != nil {
		return g.Cache.validate()
	}
	return nil
}

// ServeHTTP serves the gateway's endpoints and passes everything else on.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if g.handler.ServeHTTP(w, r) {
		return nil
	}
	return next.ServeHTTP(w, r)
}

// ptrValue is *p, or zero when p is nil.
func ptrValue[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

// Cleanup stops the active probes and releases idle upstream connections.
// Requests still in flight on this config keep theirs and finish normally.
func (g *Gateway) Cleanup() error {
	if g.handler != nil {
		g.handler.Close()
	}
	if g.counterKey != "" {
		_, _ = counters.Delete(g.counterKey)
	}
	if g.storeKey != "" {
		_, _ = responseStores.Delete(g.storeKey)
	}
	if g.cacheKey != "" {
		_, _ = answerCaches.Delete(g.cacheKey)
	}
	for _, p := range g.providers {
		if c, ok := p.(caddy.CleanerUpper); ok {
			_ = c.Cleanup()
		}
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Gateway)(nil)
	_ caddy.Validator             = (*Gateway)(nil)
	_ caddy.CleanerUpper          = (*Gateway)(nil)
	_ caddyhttp.MiddlewareHandler = (*Gateway)(nil)
)
