package handler

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/answercache"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// The cache's scopes: whose answers a caller may be served.
const (
	// CacheCaller serves a caller only its own answers: one key's, one
	// token subject's, or one client IP's without auth.
	CacheCaller = "caller"
	// CacheGroup serves the answers of the caller's group (its own
	// without a group).
	CacheGroup = "group"
	// CacheShared serves every caller every answer.
	CacheShared = "shared"
)

// Cache is the exact-match answer cache: an answer is served again to a
// request that asks the same of the same targets, within the scope.
type Cache struct {
	// Store keeps the answers.
	Store answercache.Store
	// Scope is CacheCaller, CacheGroup or CacheShared.
	Scope string
	// Models are the public models whose answers are cached, as names or
	// prefix patterns (`gpt-*`, `*`); empty for all.
	Models []string
}

// cacheHeader tells whether an answer came from the cache.
const cacheHeader = "X-Llm-Gateway-Cache"

// The cache's results, for the header, the metric and the log line.
const (
	cacheHit    = "hit"
	cacheMiss   = "miss"
	cacheBypass = "bypass"
)

// cacheState is what the cache did for one request.
type cacheState struct {
	result string // cacheHit, cacheMiss or cacheBypass; "" without a cache
	// key is where the answer is to be stored; "" when it is not.
	key string
	// flight is the flight this request leads: identical requests wait
	// for its answer.
	flight *flight
}

// caches reports whether model's answers are cached.
func (c *Cache) caches(model string) bool {
	if len(c.Models) == 0 {
		return true
	}
	for _, p := range c.Models {
		if p == model || (IsPrefixPattern(p) && strings.HasPrefix(model, p[:len(p)-1])) {
			return true
		}
	}
	return false
}

// scopeOf is whose answers the caller may be served.
func (c *Cache) scopeOf(caller *Caller, r *http.Request) string {
	switch c.Scope {
	case CacheShared:
		return ""
	case CacheGroup:
		if g := caller.group(); g != nil {
			return g.scope()
		}
	}
	return caller.scope(r)
}

// cacheDirectives reads a request's Cache-Control: no-cache skips the
// lookup, no-store skips the lookup and the store.
func cacheDirectives(h http.Header) (lookup, store bool) {
	lookup, store = true, true
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			switch strings.ToLower(strings.TrimSpace(d)) {
			case "no-cache":
				lookup = false
			case "no-store":
				lookup, store = false, false
			}
		}
	}
	return lookup, store
}

// targetsKey names the route's targets for the request's model, in
// configured order: answers are kept apart by what serves them.
func (rt *Route) targetsKey(model string) string {
	var b strings.Builder
	for _, t := range rt.Targets {
		b.WriteString(t.Provider.Config().Name)
		b.WriteByte('/')
		b.WriteString(t.upstreamModel(model))
		b.WriteByte(',')
	}
	return b.String()
}

// serveFromCache answers the request from the cache when it can, and
// reports whether it did. Otherwise it sets where the answer is to be
// stored. A request identical to one under way waits for that one's
// answer; when that fails, it goes upstream itself.
func (h *Handler) serveFromCache(w http.ResponseWriter, r *http.Request, x *exchange, route *Route, in *requestBody, dx *inbound.Exchange) bool {
	c := h.cfg.Cache
	if c == nil {
		return false
	}
	x.cache.result = cacheBypass
	lookup, store := cacheDirectives(r.Header)
	// An answer a provider relays in the door's own API is not the hub's
	// chat answer the cache keeps.
	if !c.caches(in.model) || (dx != nil && route.servesNatively(dx.API)) {
		lookup, store = false, false
	}
	var key string
	if store {
		var err error
		if key, err = cacheKey(c.scopeOf(x.caller, r), string(x.op), in.model, route.targetsKey(in.model), in.body); err != nil {
			lookup, store = false, false
		}
	}
	if lookup {
		x.cache.result = cacheMiss
		if e, ok := h.cached(r.Context(), key); ok {
			h.serveHit(w, x, route, in, e)
			return true
		}
		f, leader := h.flights.join(key)
		if leader {
			x.cache.flight = f
		} else if e, ok := f.wait(r.Context()); ok {
			h.serveHit(w, x, route, in, e)
			return true
		}
	}
	if store {
		x.cache.key = key
	}
	w.Header().Set(cacheHeader, x.cache.result)
	return false
}

// servesNatively reports whether a target of the route serves api
// itself.
func (rt *Route) servesNatively(api providers.Operation) bool {
	for _, t := range rt.Targets {
		if servesNatively(t.Provider, api) {
			return true
		}
	}
	return false
}

// cached looks key up. A store that fails is logged and counts as a miss.
func (h *Handler) cached(ctx context.Context, key string) (answercache.Entry, bool) {
	e, ok, err := h.cfg.Cache.Store.Get(ctx, key)
	if err != nil {
		h.logCacheError(err)
	}
	return e, ok
}

// storeAnswer keeps a complete answer, before it goes out, so that the
// client's next request finds it, and hands it to the requests waiting
// for it.
func (h *Handler) storeAnswer(x *exchange, answer []byte) {
	if x.cache.key == "" {
		return
	}
	e := answercache.Entry{Answer: answer, Stored: time.Now()}
	x.cache.flight.land(e, true)
	// Bounded by the store itself (see limitstore.RedisClient); the
	// client's leaving must not lose an answer it paid for.
	if err := h.cfg.Cache.Store.Put(context.Background(), x.cache.key, e); err != nil {
		h.logCacheError(err)
	}
}

// logCacheError logs a failing cache store, at most once a second.
func (h *Handler) logCacheError(err error) {
	now := time.Now().UnixNano()
	last := h.cacheErrorLogged.Load()
	if now-last < int64(time.Second) || !h.cacheErrorLogged.CompareAndSwap(last, now) {
		return
	}
	h.cfg.Logger.Error("answer cache failed; requests go upstream", zap.String("error", err.Error()))
}

// serveHit answers with a cached answer: no upstream call, no token or
// budget reservation, a cost of 0.
func (h *Handler) serveHit(w http.ResponseWriter, x *exchange, route *Route, in *requestBody, e answercache.Entry) {
	x.cache.result = cacheHit
	hdr := w.Header()
	hdr.Set(cacheHeader, cacheHit)
	hdr.Set("Age", strconv.FormatInt(int64(max(0, time.Since(e.Stored))/time.Second), 10))
	if h.cfg.Prices != nil && h.worstCost(route, in) > 0 {
		x.priced = true // at a cost of 0
	}
	if in.stream {
		if err := replayStream(w, x, e.Answer, in.includeUsage); err != nil {
			x.status, x.outcome = statusClientClosed, "client_closed"
		}
		return
	}
	answer := e.Answer
	if x.translator != nil {
		var err error
		if answer, err = x.translator.Answer(answer, x.model); err != nil {
			x.fail(w, unreadableAnswer())
			return
		}
	}
	h.writeWhole(w, x, nil, answer)
}

// flights are the cache misses under way, by key.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// flight is one cache miss under way, which identical requests wait for.
type flight struct {
	done  chan struct{}
	entry answercache.Entry
	ok    bool
	once  sync.Once
	owner *flights
	key   string
}

// join returns the flight of key, and whether the caller leads it: a
// new one is made when none is under way.
func (fs *flights) join(key string) (*flight, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.m[key]; ok {
		return f, false
	}
	if fs.m == nil {
		fs.m = make(map[string]*flight)
	}
	f := &flight{done: make(chan struct{}), owner: fs, key: key}
	fs.m[key] = f
	return f, true
}

// land ends the flight with its answer (ok), or without one; only the
// first call counts. Nil flights are fine.
func (f *flight) land(e answercache.Entry, ok bool) {
	if f == nil {
		return
	}
	f.once.Do(func() {
		f.owner.mu.Lock()
		delete(f.owner.m, f.key)
		f.owner.mu.Unlock()
		f.entry, f.ok = e, ok
		close(f.done)
	})
}

// wait waits for the flight's answer; false when it had none or ctx
// ended first.
func (f *flight) wait(ctx context.Context) (answercache.Entry, bool) {
	select {
	case <-f.done:
		return f.entry, f.ok
	case <-ctx.Done():
		return answercache.Entry{}, false
	}
}

// logField is the cache's log field, when a cache is configured.
func (s *cacheState) logField() (zap.Field, bool) {
	return zap.String("cache", s.result), s.result != ""
}
