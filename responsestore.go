package llmgateway

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/inbound/responses"
	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// The response store's defaults.
const (
	// DefaultResponseTTL is OpenAI's own retention of stored responses.
	DefaultResponseTTL     = 720 * time.Hour
	DefaultResponseMaxSize = 64 << 20
)

// responseStoreOff keeps no responses.
const responseStoreOff = "off"

// ResponseStoreConfig says where the Responses API's responses are kept
// (those made with `store`, OpenAI's default), for
// `previous_response_id`, `GET` and `DELETE /v1/responses/{id}` and its
// input items.
type ResponseStoreConfig struct {
	// Type is `memory` (this Caddy process; kept responses survive config
	// reloads that keep the same settings), `redis` (shared by every
	// gateway instance using the same Redis, and kept across restarts) or
	// `off` (none are kept, and `previous_response_id` is refused).
	// Default: memory.
	Type string `json:"type,omitempty"`
	// URL is the Redis URL of a `redis` store, for example
	// `redis://127.0.0.1:6379/0`; it may be a placeholder such as
	// `{env.REDIS_URL}`.
	URL string `json:"url,omitempty"`
	// TTL is how long a response is kept. Default: 720h (30 days, as
	// OpenAI keeps them).
	TTL caddy.Duration `json:"ttl,omitempty"`
	// MaxSize bounds the memory the kept responses take, in bytes, the
	// oldest dropped first; in Redis, whose own maxmemory bounds them
	// all, it bounds each one. Default: 64MiB.
	MaxSize int64 `json:"max_size,omitempty"`
}

// responseStores holds the response stores, shared by every config with
// the same settings, so that a config reload keeps the responses.
var responseStores = caddy.NewUsagePool()

// pooledStore is a response store in responseStores.
type pooledStore struct{ *responses.Store }

// Destruct closes a Redis store's connections once no config uses it.
func (s pooledStore) Destruct() error {
	if s.Redis != nil {
		return s.Redis.Close()
	}
	return nil
}

// setDefaults gives the store's unset settings their defaults.
func (s *ResponseStoreConfig) setDefaults() {
	if s.Type == "" {
		s.Type = StoreMemory
	}
	if s.TTL == 0 {
		s.TTL = caddy.Duration(DefaultResponseTTL)
	}
	if s.MaxSize == 0 {
		s.MaxSize = DefaultResponseMaxSize
	}
}

// validate checks the settings.
func (s *ResponseStoreConfig) validate() error {
	switch {
	case s.Type != "" && s.Type != StoreMemory && s.Type != StoreRedis && s.Type != responseStoreOff:
		return fmt.Errorf("response_store: unknown store %q (want memory, redis or off)", s.Type)
	case s.Type == StoreRedis && s.URL == "":
		return fmt.Errorf("response_store redis: a URL is required, e.g. redis://127.0.0.1:6379/0")
	case s.TTL < 0:
		return fmt.Errorf("response_store: ttl must not be negative")
	case s.MaxSize < 0:
		return fmt.Errorf("response_store: max_size must not be negative")
	}
	return nil
}

// load returns the store from the pool, with its pool key; nil and ""
// when responses are not kept.
func (s *ResponseStoreConfig) load(logger *zap.Logger) (*responses.Store, string, error) {
	if s.Type == responseStoreOff {
		return nil, "", nil
	}
	store := &responses.Store{TTL: time.Duration(s.TTL), MaxBytes: s.MaxSize, Logger: logger}
	key := fmt.Sprintf("%s ttl=%s max_size=%d", s.Type, time.Duration(s.TTL), s.MaxSize)
	var url string
	if s.Type == StoreRedis {
		var err error
		if url, err = resolve(s.URL); err != nil {
			return nil, "", fmt.Errorf("response_store redis: the URL is empty: %w", err)
		}
		key += " " + url
	}
	v, _, err := responseStores.LoadOrNew(key, func() (caddy.Destructor, error) {
		if url != "" {
			client, err := limitstore.RedisClient(url)
			if err != nil {
				return nil, err
			}
			store.Redis = client
		}
		return pooledStore{store}, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("response_store: %w", err)
	}
	return v.(pooledStore).Store, key, nil
}

// parseResponseStore parses `response_store memory|redis <url>|off [{
// ttl <duration>  max_size <size> }]`.
func (g *Gateway) parseResponseStore(d *caddyfile.Dispenser) error {
	if g.ResponseStore != nil {
		return d.Err("response_store already specified")
	}
	s := &ResponseStoreConfig{}
	args := d.RemainingArgs()
	switch {
	case len(args) == 1 && (args[0] == StoreMemory || args[0] == responseStoreOff):
		s.Type = args[0]
	case len(args) == 2 && args[0] == StoreRedis:
		s.Type, s.URL = StoreRedis, args[1]
	default:
		return d.Err("usage: response_store memory|redis <redis-url>|off [{ ttl <duration>  max_size <size> }]")
	}
	g.ResponseStore = s
	return s.caddyfileOptions().Parse(d, "response_store")
}

// caddyfileOptions maps the response_store block's subdirectives to their
// parsers.
func (s *ResponseStoreConfig) caddyfileOptions() providers.Options {
	return providers.Options{
		"ttl":      func(d *caddyfile.Dispenser) error { return positiveDurationArg(d, &s.TTL) },
		"max_size": func(d *caddyfile.Dispenser) error { return providers.SizeArg(d, &s.MaxSize) },
	}
}
