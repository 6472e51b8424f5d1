package rediscache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/answercache"
	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/redistest"
)

func TestRedisSharesAnswersWithTheirAge(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	stores := make([]*Store, 2)
	for i := range stores {
		client, err := limitstore.RedisClient(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = &Store{Client: client, TTL: time.Minute, MaxBytes: 1 << 10}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	stored := time.Now().Add(-3 * time.Second)
	if err := stores[0].Put(ctx, "k", answercache.Entry{Answer: []byte(`{"id":"x"}`), Stored: stored}); err != nil {
		t.Fatal(err)
	}
	e, ok, err := stores[1].Get(ctx, "k")
	if err != nil || !ok || string(e.Answer) != `{"id":"x"}` || !e.Stored.Equal(stored) {
		t.Fatalf("the other instance read %q stored %v (%v, %v)", e.Answer, e.Stored, ok, err)
	}
	if ttl := srv.Do(t, "PTTL", redisKeyPrefix+"k"); ttl == "" || ttl[0] == '-' {
		t.Errorf("the answer has no expiry in Redis: PTTL %s", ttl)
	}
	if _, ok, _ := stores[1].Get(ctx, "missing"); ok {
		t.Error("a missing key was found")
	}
	_ = stores[0].Put(ctx, "big", answercache.Entry{Answer: make([]byte, 2<<10), Stored: stored})
	if _, ok, _ := stores[1].Get(ctx, "big"); ok {
		t.Error("an answer over max_size was stored")
	}
}

func TestRedisAwayIsLeftAloneForASecond(t *testing.T) {
	srv := redistest.Start(t)
	client, err := limitstore.RedisClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := &Store{Client: client, TTL: time.Minute, MaxBytes: 1 << 10}
	t.Cleanup(func() { _ = s.Close() })
	srv.Stop(t)
	if _, _, err := s.Get(context.Background(), "k"); err == nil || errors.Is(err, errAway) {
		t.Fatalf("first call to a stopped Redis: %v", err)
	}
	if _, _, err := s.Get(context.Background(), "k"); !errors.Is(err, errAway) {
		t.Errorf("a call right after a failure: %v, want it refused without waiting", err)
	}
	if err := s.Put(context.Background(), "k", answercache.Entry{Answer: []byte("x"), Stored: time.Now()}); !errors.Is(err, errAway) {
		t.Errorf("a store right after a failure: %v", err)
	}
}
