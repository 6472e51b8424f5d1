package providers

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
)

// countingWatcher counts what a body reports.
type countingWatcher struct {
	watching atomic.Int32
	marks    atomic.Int64
}

func (w *countingWatcher) Watching()   { w.watching.Add(1) }
func (w *countingWatcher) ReadStarts() { w.marks.Add(1) }
func (w *countingWatcher) ReadEnds()   { w.marks.Add(1) }

func TestStreamedBodyReportsItsReads(t *testing.T) {
	up := sizedUpstream(t)
	b := setupBase(t, &Base{Name: "p", BaseURL: up.URL})
	w := &countingWatcher{}
	ctx := WithReadWatcher(context.Background(), w)

	resp, err := post(b, ctx, "/?n=5000", true)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if n != 5000 {
		t.Fatalf("read %d bytes, want 5000", n)
	}
	if w.watching.Load() != 1 {
		t.Errorf("Watching called %d times, want once", w.watching.Load())
	}
	if m := w.marks.Load(); m == 0 || m%2 != 0 {
		t.Errorf("%d marks after the body was read; want an even number above 0", m)
	}

	// A whole answer, read by the gateway before it is relayed, is not a
	// stream's wait.
	plain := &countingWatcher{}
	resp, err = post(b, WithReadWatcher(context.Background(), plain), "/?n=100", false)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if plain.watching.Load() != 0 || plain.marks.Load() != 0 {
		t.Errorf("a non-streamed answer reported %d marks", plain.marks.Load())
	}
}
