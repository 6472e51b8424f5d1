package answercache

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/redistest"
)

func TestMemoryDropsTheLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	// Room for three entries of a one-byte key and a 9-byte answer.
	m := &Memory{TTL: time.Hour, MaxBytes: 30}
	now := time.Now()
	for _, k := range []string{"a", "b", "c"} {
		_ = m.Put(ctx, k, Entry{Answer: []byte(strings.Repeat(k, 9)), Stored: now})
	}
	if _, ok, _ := m.Get(ctx, "a"); !ok { // a is now the most recently used
		t.Fatal("a was dropped before the store was full")
	}
	_ = m.Put(ctx, "d", Entry{Answer: []byte("ddddddddd"), Stored: now})
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok, _ := m.Get(ctx, k); ok != want {
			t.Errorf("%s kept = %v, want %v", k, ok, want)
		}
	}
	if m.Len() != 3 || m.size != 30 {
		t.Errorf("%d entries of %d bytes, want 3 of 30", m.Len(), m.size)
	}
	_ = m.Put(ctx, "huge", Entry{Answer: make([]byte, 31), Stored: now})
	if _, ok, _ := m.Get(ctx, "huge"); ok || m.Len() != 3 {
		t.Error("an answer larger than the store replaced the others")
	}
}

func TestMemoryForgetsAfterTTL(t *testing.T) {
	ctx := context.Background()
	m := &Memory{TTL: time.Minute, MaxBytes: 1 << 10}
	_ = m.Put(ctx, "old", Entry{Answer: []byte("x"), Stored: time.Now().Add(-2 * time.Minute)})
	_ = m.Put(ctx, "new", Entry{Answer: []byte("y"), Stored: time.Now()})
	if _, ok, _ := m.Get(ctx, "old"); ok {
		t.Error("an expired answer was served")
	}
	if e, ok, _ := m.Get(ctx, "new"); !ok || string(e.Answer) != "y" {
		t.Errorf("the fresh answer: %q %v", e.Answer, ok)
	}
	if m.Len() != 1 {
		t.Errorf("%d entries after the expired one was met, want 1", m.Len())
	}
}

func TestRedisSharesAnswersWithTheirAge(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	stores := make([]*Redis, 2)
	for i := range stores {
		client, err := limitstore.RedisClient(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = &Redis{Client: client, TTL: time.Minute, MaxBytes: 1 << 10}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	stored := time.Now().Add(-3 * time.Second)
	if err := stores[0].Put(ctx, "k", Entry{Answer: []byte(`{"id":"x"}`), Stored: stored}); err != nil {
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
	_ = stores[0].Put(ctx, "big", Entry{Answer: make([]byte, 2<<10), Stored: stored})
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
	s := &Redis{Client: client, TTL: time.Minute, MaxBytes: 1 << 10}
	t.Cleanup(func() { _ = s.Close() })
	srv.Stop(t)
	if _, _, err := s.Get(context.Background(), "k"); err == nil || errors.Is(err, errAway) {
		t.Fatalf("first call to a stopped Redis: %v", err)
	}
	if _, _, err := s.Get(context.Background(), "k"); !errors.Is(err, errAway) {
		t.Errorf("a call right after a failure: %v, want it refused without waiting", err)
	}
	if err := s.Put(context.Background(), "k", Entry{Answer: []byte("x"), Stored: time.Now()}); !errors.Is(err, errAway) {
		t.Errorf("a store right after a failure: %v", err)
	}
}
