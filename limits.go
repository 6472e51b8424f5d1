package llmgateway

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
)

// Rate limit stores.
const (
	StoreMemory = "memory"
	StoreRedis  = "redis"
)

// StoreConfig says where limit counters live.
type StoreConfig struct {
	// Type is `memory` (this Caddy process; counters survive config
	// reloads) or `redis` (shared by every instance using the same Redis,
	// so a limit of N holds across all of them together). Default: memory.
	Type string `json:"type,omitempty"`

	// URL is the Redis URL, e.g. `redis://:{env.REDIS_PASSWORD}@10.0.0.5:6379/0`
	// (`rediss://` for TLS). Placeholders are resolved at start-up.
	URL string `json:"url,omitempty"`
}

// LimitConfig is at most Limit units per Window.
type LimitConfig struct {
	// Limit is the number of requests or tokens allowed per window.
	Limit int64 `json:"limit"`

	// Window is the length of the fixed window, e.g. `1m`.
	Window caddy.Duration `json:"window"`
}

func (l *LimitConfig) limit() *handler.Limit {
	if l == nil {
		return nil
	}
	return handler.NewLimit(l.Limit, time.Duration(l.Window))
}

func (l *LimitConfig) validate(what string) error {
	if l != nil && (l.Limit <= 0 || l.Window <= 0) {
		return fmt.Errorf("%s: the limit and the window must be positive", what)
	}
	return nil
}

// counters holds the limit stores, shared by every config that uses the
// same store, so that a config reload does not reset anyone's limits.
var counters = caddy.NewUsagePool()

// limits builds the handler's limits, loading the store when any limit is
// configured.
func (g *Gateway) limits() (handler.Limits, error) {
	l := handler.Limits{
		Requests:          g.RateLimit.limit(),
		Tokens:            g.TokenLimit.limit(),
		CompletionReserve: g.TokenReserve,
	}
	if err := g.RateLimit.validate("rate_limit"); err != nil {
		return l, err
	}
	if err := g.TokenLimit.validate("token_limit"); err != nil {
		return l, err
	}
	switch g.OnStoreError {
	case "", "allow":
	case "deny":
		l.DenyOnStoreError = true
	default:
		return l, fmt.Errorf("on_store_error: want allow or deny, not %q", g.OnStoreError)
	}
	budget, err := g.Budget.budget()
	if err != nil {
		return l, fmt.Errorf("budget: %w", err)
	}
	l.Budget = budget
	if !g.anyLimit() && !g.anyBudget() {
		return l, nil
	}
	key, build, err := g.RateLimitStore.counter()
	if err != nil {
		return l, err
	}
	counter, _, err := counters.LoadOrNew(key, build)
	if err != nil {
		return l, fmt.Errorf("rate_limit_store: %w", err)
	}
	g.counterKey = key
	store := counter.(*limitstore.Store)
	l.Counter, l.Spender = storeCounter{store}, storeSpender{store}
	return l, nil
}

// storeCounter counts the pipeline's limits in a limit store.
type storeCounter struct{ store *limitstore.Store }

// Add adds n to the counter at key under l.
func (c storeCounter) Add(ctx context.Context, key string, n int64, l handler.Limit) (handler.Window, error) {
	w, err := c.store.Add(ctx, key, n, l.N, l.Window)
	return handler.Window(w), err
}

func (g *Gateway) anyLimit() bool {
	if g.RateLimit != nil || g.TokenLimit != nil {
		return true
	}
	if g.Auth != nil {
		for _, k := range g.Auth.Keys {
			if k.RateLimit != nil || k.TokenLimit != nil {
				return true
			}
		}
	}
	return false
}

// counter returns the store's pool key and constructor.
func (s *StoreConfig) counter() (string, func() (caddy.Destructor, error), error) {
	if s == nil || s.Type == "" || s.Type == StoreMemory {
		return StoreMemory, func() (caddy.Destructor, error) { return limitstore.NewMemory(), nil }, nil
	}
	if s.Type != StoreRedis {
		return "", nil, fmt.Errorf("rate_limit_store: unknown store %q (want memory or redis)", s.Type)
	}
	url, err := resolve(s.URL)
	if err != nil {
		return "", nil, fmt.Errorf("rate_limit_store redis: the URL is empty: %w", err)
	}
	if url == "" {
		return "", nil, fmt.Errorf("rate_limit_store redis: a URL is required, e.g. redis://127.0.0.1:6379/0")
	}
	return StoreRedis + " " + url, func() (caddy.Destructor, error) { return limitstore.NewRedis(url) }, nil
}

// Interface guards
var _ handler.Counter = storeCounter{}
