// Package limitstore keeps the fixed-window counters behind the gateway's
// rate and token limits, and the spend counters behind its budgets: in
// this process, or in Redis so that every instance using the same Redis
// enforces one limit together.
package limitstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	sredis "github.com/ulule/limiter/v3/drivers/store/redis"
)

// keyPrefix namespaces the gateway's keys in a shared store.
const keyPrefix = "llm_gateway:"

// callTimeout bounds one call to Redis, so an unreachable Redis costs a
// request little.
const callTimeout = 500 * time.Millisecond

// Window is where a counter stands after an addition.
type Window struct {
	Remaining int64     // units left in this window, never below 0
	Reset     time.Time // when the window ends
	Reached   bool      // the addition took the count over the limit
}

// Store is a set of fixed-window counters over a ulule/limiter store. A
// Redis store can only be built once Redis answers (it loads its scripts
// then), so it is built on first use and retried while Redis is away.
type Store struct {
	store   atomic.Pointer[limiter.Store]
	connect func() (limiter.Store, error)
	mu      sync.Mutex // serialises connect
	closer  func() error
	// downUntil (unix ns): after a failure the store is not asked again
	// for a second, so requests are not slowed by a Redis that is away.
	downUntil atomic.Int64

	// redis holds the budget counters of a Redis store; nil in memory,
	// where spend holds them.
	redis     *redis.Client
	spend     *spendBook
	spendOnce sync.Once
}

// errStoreDown answers for a store that failed less than a second ago.
var errStoreDown = errors.New("the rate limit store failed less than a second ago")

// NewMemory keeps counts in this process.
func NewMemory() *Store {
	s := new(Store)
	store := memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: keyPrefix, CleanUpInterval: time.Minute})
	s.store.Store(&store)
	return s
}

// NewRedis keeps counts in Redis, so every gateway instance using the same
// Redis enforces one limit together.
func NewRedis(redisURL string) (*Store, error) {
	client, err := RedisClient(redisURL)
	if err != nil {
		return nil, err
	}
	return &Store{
		connect: func() (limiter.Store, error) {
			return sredis.NewStoreWithOptions(client, limiter.StoreOptions{Prefix: keyPrefix})
		},
		closer: client.Close,
		redis:  client,
	}, nil
}

// RedisClient is a client of the Redis at redisURL that fails fast: a
// request that needs Redis waits on one short attempt, so that a Redis
// that is away costs it little. The gateway's other Redis-backed stores
// use it too.
func RedisClient(redisURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("parsing the redis URL: %w", err)
	}
	opts.DialTimeout = callTimeout
	opts.ReadTimeout = callTimeout
	opts.WriteTimeout = callTimeout
	opts.DialerRetries = 1 // a request waits on one attempt, not five
	opts.MaxRetries = -1   // nor on retries: a failure fails over at once
	quietRedis.Do(func() { redis.SetLogger(discardLogger{}) })
	return redis.NewClient(opts), nil
}

// go-redis logs every failed dial on stderr by itself; the gateway logs
// store failures through Caddy's logger and counts them in a metric.
var quietRedis sync.Once

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

func (s *Store) current() (limiter.Store, error) {
	if st := s.store.Load(); st != nil {
		return *st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.store.Load(); st != nil {
		return *st, nil
	}
	st, err := s.connect()
	if err != nil {
		return nil, fmt.Errorf("connecting to the rate limit store: %w", err)
	}
	s.store.Store(&st)
	return st, nil
}

// Add adds n (negative to give units back) to the counter at key, whose
// windows last window and hold at most limit units.
func (s *Store) Add(ctx context.Context, key string, n, limit int64, window time.Duration) (Window, error) {
	if until := s.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return Window{}, errStoreDown
	}
	store, err := s.current()
	if err == nil {
		var lc limiter.Context
		if lc, err = store.Increment(ctx, key, n, limiter.Rate{Period: window, Limit: limit}); err == nil {
			s.downUntil.Store(0)
			return Window{Remaining: lc.Remaining, Reset: time.Unix(lc.Reset, 0), Reached: lc.Reached}, nil
		}
	}
	s.downUntil.Store(time.Now().Add(time.Second).UnixNano())
	return Window{}, err
}

// Destruct releases the store's connections once no config uses it.
func (s *Store) Destruct() error {
	if s.closer != nil {
		return s.closer()
	}
	return nil
}
