package answercache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisKeyPrefix namespaces cached answers among the gateway's keys.
const redisKeyPrefix = "llm_gateway:cache:"

// Redis keeps answers in Redis, each under its own key with Redis's own
// expiry: one GET per lookup, one SET per answer stored. Redis's
// maxmemory policy bounds them all; MaxBytes bounds each one.
type Redis struct {
	Client   *redis.Client
	TTL      time.Duration
	MaxBytes int64
}

// Get reads the entry under key.
func (s *Redis) Get(ctx context.Context, key string) (Entry, bool, error) {
	raw, err := s.Client.Get(ctx, redisKeyPrefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("reading a cached answer: %w", err)
	}
	if len(raw) < 8 {
		return Entry{}, false, fmt.Errorf("a cached answer of %d bytes has no header", len(raw))
	}
	stored := time.Unix(0, int64(binary.BigEndian.Uint64(raw)))
	return Entry{Answer: raw[8:], Stored: stored}, true, nil
}

// Put writes e under key: the time it was stored, then the answer.
func (s *Redis) Put(ctx context.Context, key string, e Entry) error {
	if int64(len(e.Answer)) > s.MaxBytes {
		return nil
	}
	value := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(e.Answer)), uint64(e.Stored.UnixNano()))
	value = append(value, e.Answer...)
	if err := s.Client.Set(ctx, redisKeyPrefix+key, value, s.TTL).Err(); err != nil {
		return fmt.Errorf("storing a cached answer: %w", err)
	}
	return nil
}

// Close closes the Redis connections.
func (s *Redis) Close() error { return s.Client.Close() }

// Interface guards
var _ Store = (*Redis)(nil)
