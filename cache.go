package llmgateway

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/internal/answercache"
	"github.com/llmgateway/caddy-llm-gateway/internal/answercache/rediscache"
	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// The answer cache's defaults.
const (
	DefaultCacheTTL     = time.Hour
	DefaultCacheMaxSize = 256 << 20
)

// CacheConfig is the exact-match answer cache: a request that asks the
// same as an earlier one (same caller scope, public model, targets and
// request body, whatever its member order and whitespace, `stream`,
// `stream_options` and `user` aside) is answered from the cache, without
// an upstream call, at a cost of 0.
type CacheConfig struct {
	// Type is `memory` (this Caddy process; the answers survive config
	// reloads that keep the same settings) or `redis` (shared by every
	// gateway instance using the same Redis).
	Type string `json:"type"`
	// URL is the Redis URL of a `redis` cache, for example
	// `redis://127.0.0.1:6379/0`; it may be a placeholder such as
	// `{env.REDIS_URL}`.
	URL string `json:"url,omitempty"`
	// TTL is how long an answer is served. Default: 1h.
	TTL caddy.Duration `json:"ttl,omitempty"`
	// MaxSize bounds the memory the cached answers take, in bytes, the
	// least recently used dropped first; in Redis, whose own maxmemory
	// bounds them all, it bounds each one. Default: 256MiB.
	MaxSize int64 `json:"max_size,omitempty"`
	// Scope is whose answers a caller is served: `caller` (its own: one
	// key's, one token identity's, or one client IP's without auth),
	// `group` (its group's, its own without a group) or `shared`
	// (everyone's). Default: caller.
	Scope string `json:"scope,omitempty"`
	// Models are the public models whose answers are cached, as names or
	// prefix patterns (`gpt-*`). Default: all.
	Models []string `json:"models,omitempty"`
}

// answerCaches holds the caches' stores, shared by every config with the
// same settings, so that a config reload keeps the answers.
var answerCaches = caddy.NewUsagePool()

// pooledCache is a cache store in answerCaches.
type pooledCache struct{ answercache.Store }

// Destruct closes a Redis cache's connections once no config uses it.
func (c pooledCache) Destruct() error {
	if r, ok := c.Store.(*rediscache.Store); ok {
		return r.Close()
	}
	return nil
}

// setDefaults gives the cache's unset settings their defaults.
func (c *CacheConfig) setDefaults() {
	if c.TTL == 0 {
		c.TTL = caddy.Duration(DefaultCacheTTL)
	}
	if c.MaxSize == 0 {
		c.MaxSize = DefaultCacheMaxSize
	}
	if c.Scope == "" {
		c.Scope = handler.CacheCaller
	}
}

// validate checks the settings.
func (c *CacheConfig) validate() error {
	switch {
	case c.Type != StoreMemory && c.Type != StoreRedis:
		return fmt.Errorf("cache: unknown store %q (want memory or redis)", c.Type)
	case c.Type == StoreRedis && c.URL == "":
		return fmt.Errorf("cache redis: a URL is required, e.g. redis://127.0.0.1:6379/0")
	case c.TTL < 0:
		return fmt.Errorf("cache: ttl must not be negative")
	case c.MaxSize < 0:
		return fmt.Errorf("cache: max_size must not be negative")
	case c.Scope != "" && !slices.Contains([]string{handler.CacheCaller, handler.CacheGroup, handler.CacheShared}, c.Scope):
		return fmt.Errorf("cache: unknown scope %q (want caller, group or shared)", c.Scope)
	}
	for _, m := range c.Models {
		if err := handler.CheckRouteName(m); err != nil {
			return fmt.Errorf("cache: models: %w", err)
		}
	}
	return nil
}

// load returns the pipeline's cache, its store from the pool, with its
// pool key; nil and "" when no cache is configured.
func (c *CacheConfig) load() (*handler.Cache, string, error) {
	if c == nil {
		return nil, "", nil
	}
	ttl := time.Duration(c.TTL)
	key := fmt.Sprintf("%s ttl=%s max_size=%d", c.Type, ttl, c.MaxSize)
	var url string
	if c.Type == StoreRedis {
		var err error
		if url, err = resolve(c.URL); err != nil {
			return nil, "", fmt.Errorf("cache redis: the URL is empty: %w", err)
		}
		key += " " + url
	}
	v, _, err := answerCaches.LoadOrNew(key, func() (caddy.Destructor, error) {
		if url == "" {
			return pooledCache{&answercache.Memory{TTL: ttl, MaxBytes: c.MaxSize}}, nil
		}
		client, err := limitstore.RedisClient(url)
		if err != nil {
			return nil, err
		}
		return pooledCache{&rediscache.Store{Client: client, TTL: ttl, MaxBytes: c.MaxSize}}, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("cache: %w", err)
	}
	return &handler.Cache{Store: v.(pooledCache).Store, Scope: c.Scope, Models: c.Models}, key, nil
}

// parseCache parses `cache memory|redis <url> [{ ttl <duration>
// max_size <size>  scope caller|group|shared  models <pattern>... }]`.
func (g *Gateway) parseCache(d *caddyfile.Dispenser) error {
	if g.Cache != nil {
		return d.Err("cache already specified")
	}
	c := &CacheConfig{}
	args := d.RemainingArgs()
	switch {
	case len(args) == 1 && args[0] == StoreMemory:
		c.Type = StoreMemory
	case len(args) == 2 && args[0] == StoreRedis:
		c.Type, c.URL = StoreRedis, args[1]
	default:
		return d.Err("usage: cache memory|redis <redis-url> [{ ttl <duration>  max_size <size>  scope caller|group|shared  models <pattern>... }]")
	}
	g.Cache = c
	return c.caddyfileOptions().Parse(d, "cache")
}

// caddyfileOptions maps the cache block's subdirectives to their parsers.
func (c *CacheConfig) caddyfileOptions() providers.Options {
	return providers.Options{
		"ttl":      func(d *caddyfile.Dispenser) error { return positiveDurationArg(d, &c.TTL) },
		"max_size": func(d *caddyfile.Dispenser) error { return providers.SizeArg(d, &c.MaxSize) },
		"scope": func(d *caddyfile.Dispenser) error {
			if err := providers.OneArg(d, &c.Scope); err != nil {
				return err
			}
			if !slices.Contains([]string{handler.CacheCaller, handler.CacheGroup, handler.CacheShared}, c.Scope) {
				return d.Errf("unknown cache scope %q (want %s)", c.Scope, strings.Join([]string{handler.CacheCaller, handler.CacheGroup, handler.CacheShared}, ", "))
			}
			return nil
		},
		"models": func(d *caddyfile.Dispenser) error {
			c.Models = d.RemainingArgs()
			if len(c.Models) == 0 {
				return d.ArgErr()
			}
			return nil
		},
	}
}
