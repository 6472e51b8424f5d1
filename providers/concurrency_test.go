package providers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// countingUpstream answers every request with a short OpenAI body, or
// with status when the path names one (/fail), and counts the requests.
func countingUpstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"message":"boom"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"object":"list","data":[]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func setupBase(t *testing.T, b *Base) *Base {
	t.Helper()
	if err := b.Setup(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Cleanup() })
	return b
}

func post(b *Base, ctx context.Context, path string, stream bool) (*http.Response, error) {
	return b.Post(ctx, b.URL().String()+path, &Call{Stream: stream}, []byte(`{}`), nil)
}

func wantBusy(t *testing.T, err error) {
	t.Helper()
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Status != http.StatusServiceUnavailable || e.Code != CodeBusy || !strings.Contains(e.Message, "max_concurrent") {
		t.Fatalf("got %v, want 503 %s", err, CodeBusy)
	}
}

// TestMaxConcurrentHoldsSlotUntilClose: a slot is held from the request
// until its answer is closed, whatever the answer was; a call that finds
// none free is refused without reaching the upstream.
func TestMaxConcurrentHoldsSlotUntilClose(t *testing.T) {
	up, requests := countingUpstream(t)
	b := setupBase(t, &Base{Name: "p", BaseURL: up.URL, MaxConcurrent: 2})
	ctx := context.Background()

	first, err := post(b, ctx, "/whole", false)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := post(b, ctx, "/stream", true)
	if err != nil {
		t.Fatal(err)
	}
	before := requests.Load()
	_, err = post(b, ctx, "/third", false)
	wantBusy(t, err)
	if requests.Load() != before {
		t.Error("the refused call reached the upstream")
	}
	if got := b.slots.inFlight(); got != 2 {
		t.Errorf("%d slots taken, want 2", got)
	}

	// A whole answer read to its end still holds its slot until closed.
	if _, err := io.ReadAll(first.Body); err != nil {
		t.Fatal(err)
	}
	_, err = post(b, ctx, "/third", false)
	wantBusy(t, err)
	_ = first.Body.Close()
	_ = first.Body.Close()  // twice gives back one slot only
	_ = stream.Body.Close() // a stream closed before its end
	if got := b.slots.inFlight(); got != 0 {
		t.Fatalf("%d slots taken after every answer was closed", got)
	}

	// Upstream errors and unreachable upstreams give their slot back.
	for range 5 {
		if _, err := post(b, ctx, "/fail", false); err == nil {
			t.Fatal("want the upstream's 500")
		}
	}
	down := setupBase(t, &Base{Name: "down", BaseURL: "http://127.0.0.1:1", MaxConcurrent: 1})
	for range 3 {
		if _, err := post(down, ctx, "/", false); !errors.As(err, new(*TransportError)) {
			t.Fatalf("got %v, want a transport error", err)
		}
	}
	if b.slots.inFlight() != 0 || down.slots.inFlight() != 0 {
		t.Errorf("failed calls kept their slots: %d, %d", b.slots.inFlight(), down.slots.inFlight())
	}
}

// TestQueueTimeoutWaitsForASlot: with queue_timeout a call waits for a
// slot to come free; it is refused when none does in time, and gives up
// when its context ends.
func TestQueueTimeoutWaitsForASlot(t *testing.T) {
	up, _ := countingUpstream(t)
	b := setupBase(t, &Base{Name: "p", BaseURL: up.URL, MaxConcurrent: 1, QueueTimeout: caddy.Duration(time.Minute)})
	held, err := post(b, context.Background(), "/", false)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		resp, err := post(b, context.Background(), "/", false)
		if err == nil {
			_ = resp.Body.Close()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the queued call ended before a slot came free: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	_ = held.Body.Close()
	if err := <-got; err != nil {
		t.Fatalf("the queued call failed after a slot came free: %v", err)
	}

	held, err = post(b, context.Background(), "/", false)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Body.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := post(b, ctx, "/", false); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled queued call: %v", err)
	}
	short := setupBase(t, &Base{Name: "q", BaseURL: up.URL, MaxConcurrent: 1, QueueTimeout: caddy.Duration(20 * time.Millisecond)})
	held2, err := post(short, context.Background(), "/", false)
	if err != nil {
		t.Fatal(err)
	}
	defer held2.Body.Close()
	began := time.Now()
	_, err = post(short, context.Background(), "/", false)
	wantBusy(t, err)
	if waited := time.Since(began); waited < 20*time.Millisecond {
		t.Errorf("refused after %v, before queue_timeout", waited)
	}
	if !strings.Contains(err.Error(), "queue_timeout") {
		t.Errorf("message %q does not name queue_timeout", err)
	}
}

func TestBoundsChecked(t *testing.T) {
	for _, b := range []*Base{
		{Name: "a", BaseURL: "http://x", MaxConcurrent: -1},
		{Name: "b", BaseURL: "http://x", QueueTimeout: caddy.Duration(time.Second)},
		{Name: "c", BaseURL: "http://x", MaxConcurrent: 1, QueueTimeout: -1},
		{Name: "d", BaseURL: "http://x", MaxResponseBody: -1},
	} {
		if err := b.Setup(""); err == nil {
			t.Errorf("%+v was accepted", b)
		}
	}
}
