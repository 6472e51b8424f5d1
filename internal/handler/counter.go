package handler

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

// counterPrefix namespaces the gateway's keys in a shared store.
const counterPrefix = "llm_gateway:"

// StoreCounter is a Counter over a ulule/limiter store. A Redis store can
// only be built once Redis answers (it loads its scripts then), so it is
// built on first use and retried while Redis is away.
type StoreCounter struct {
	store   atomic.Pointer[limiter.Store]
	connect func() (limiter.Store, error)
	mu      sync.Mutex // serialises connect
	closer  func() error
	// downUntil (unix ns): after a failure the store is not asked again
	// for a second, so requests are not slowed by a Redis that is away.
	downUntil atomic.Int64
}

// errStoreDown answers for a store that failed less than a second ago.
var errStoreDown = errors.New("the rate limit store failed less than a second ago")

// NewMemoryCounter keeps counts in this process.
func NewMemoryCounter() *StoreCounter {
	c := new(StoreCounter)
	store := memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: counterPrefix, CleanUpInterval: time.Minute})
	c.store.Store(&store)
	return c
}

// NewRedisCounter keeps counts in Redis, so every gateway instance using
// the same Redis enforces one limit together.
func NewRedisCounter(redisURL string) (*StoreCounter, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("parsing the redis URL: %w", err)
	}
	opts.DialTimeout = storeTimeout
	opts.ReadTimeout = storeTimeout
	opts.WriteTimeout = storeTimeout
	opts.DialerRetries = 1 // a request waits on one attempt, not five
	opts.MaxRetries = -1   // nor on retries: a failure fails over at once
	quietRedis.Do(func() { redis.SetLogger(discardLogger{}) })
	client := redis.NewClient(opts)
	return &StoreCounter{
		connect: func() (limiter.Store, error) {
			return sredis.NewStoreWithOptions(client, limiter.StoreOptions{Prefix: counterPrefix})
		},
		closer: client.Close,
	}, nil
}

// go-redis logs every failed dial on stderr by itself; the gateway logs
// store failures through Caddy's logger and counts them in a metric.
var quietRedis sync.Once

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

func (c *StoreCounter) current() (limiter.Store, error) {
	if s := c.store.Load(); s != nil {
		return *s, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.store.Load(); s != nil {
		return *s, nil
	}
	s, err := c.connect()
	if err != nil {
		return nil, fmt.Errorf("connecting to the rate limit store: %w", err)
	}
	c.store.Store(&s)
	return s, nil
}

// Add adds n to the counter at key.
func (c *StoreCounter) Add(ctx context.Context, key string, n int64, l Limit) (Window, error) {
	if until := c.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return Window{}, errStoreDown
	}
	store, err := c.current()
	if err == nil {
		var lc limiter.Context
		if lc, err = store.Increment(ctx, key, n, limiter.Rate{Period: l.Window, Limit: l.N}); err == nil {
			c.downUntil.Store(0)
			return Window{Remaining: lc.Remaining, Reset: time.Unix(lc.Reset, 0), Reached: lc.Reached}, nil
		}
	}
	c.downUntil.Store(time.Now().Add(time.Second).UnixNano())
	return Window{}, err
}

// Destruct releases the store's connections once no config uses it.
func (c *StoreCounter) Destruct() error {
	if c.closer != nil {
		return c.closer()
	}
	return nil
}
