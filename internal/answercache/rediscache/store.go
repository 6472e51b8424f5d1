// Package rediscache keeps the gateway's cached answers in Redis, shared
// by every gateway instance that uses it. It is apart from answercache so
// that the pipeline, which sees only answercache.Store, does not import a
// Redis client.
package rediscache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgateway/caddy-llm-gateway/internal/answercache"
)

// redisKeyPrefix namespaces cached answers among the gateway's keys.
const redisKeyPrefix = "llm_gateway:cache:"

// Store keeps answers in Redis, each under its own key with Redis's own
// expiry: one GET per lookup, one SET per answer stored. Redis's
// maxmemory policy bounds them all; MaxBytes bounds each one. A Redis
// that failed is left alone for a second, so that while it is away a
// request does not wait on it.
type Store struct {
	Client   *redis.Client
	TTL      time.Duration
	MaxBytes int64

	failed atomic.Int64 // when a call last failed, in Unix nanoseconds
}

// errAway answers for a Redis that failed less than a second ago.
var errAway = errors.New("the cache's Redis failed less than a second ago")

// up reports errAway while Redis is left alone.
func (s *Store) up() error {
	if time.Since(time.Unix(0, s.failed.Load())) < time.Second {
		return errAway
	}
	return nil
}

// noteResult remembers a failed call.
func (s *Store) noteResult(err error) error {
	if err != nil && !errors.Is(err, redis.Nil) {
		s.failed.Store(time.Now().UnixNano())
	}
	return err
}

// Get reads the entry under key.
func (s *Store) Get(ctx context.Context, key string) (answercache.Entry, bool, error) {
	if err := s.up(); err != nil {
		return answercache.Entry{}, false, err
	}
	raw, err := s.Client.Get(ctx, redisKeyPrefix+key).Bytes()
	if errors.Is(s.noteResult(err), redis.Nil) {
		return answercache.Entry{}, false, nil
	}
	if err != nil {
		return answercache.Entry{}, false, fmt.Errorf("reading a cached answer: %w", err)
	}
	if len(raw) < 8 {
		return answercache.Entry{}, false, fmt.Errorf("a cached answer of %d bytes has no header", len(raw))
	}
	stored := time.Unix(0, int64(binary.BigEndian.Uint64(raw)))
	return answercache.Entry{Answer: raw[8:], Stored: stored}, true, nil
}

// Put writes e under key: the time it was stored, then the answer.
func (s *Store) Put(ctx context.Context, key string, e answercache.Entry) error {
	if int64(len(e.Answer)) > s.MaxBytes {
		return nil
	}
	if err := s.up(); err != nil {
		return err
	}
	value := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(e.Answer)), uint64(e.Stored.UnixNano()))
	value = append(value, e.Answer...)
	if err := s.noteResult(s.Client.Set(ctx, redisKeyPrefix+key, value, s.TTL).Err()); err != nil {
		return fmt.Errorf("storing a cached answer: %w", err)
	}
	return nil
}

// Close closes the Redis connections.
func (s *Store) Close() error { return s.Client.Close() }

// Interface guards
var _ answercache.Store = (*Store)(nil)
