package answercache

import (
	"context"
	"strings"
	"testing"
	"time"
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
