package translate

import (
	"errors"
	"io"
	"testing"
)

// nativeEvents is a native stream of which the first `ready` events are
// at hand; event i makes a chunk unless silent[i].
type nativeEvents struct {
	silent []bool
	ready  int
	read   int
}

func (n *nativeEvents) pull(s *Stream) error {
	if n.read == n.ready {
		panic("pull would wait on the upstream")
	}
	if n.read == len(n.silent) {
		return io.EOF
	}
	if !n.silent[n.read] {
		s.Push([]byte{byte('a' + n.read)})
	}
	n.read++
	return nil
}

func TestReadyLooksPastSilentEventsWithoutWaiting(t *testing.T) {
	// Events: chunk, silent, silent, chunk, silent (not yet arrived).
	n := &nativeEvents{silent: []bool{false, true, true, false, true}, ready: 4}
	s := NewStream(n.pull, nil)
	s.SetSourceReady(func() bool { return n.read < n.ready })

	for _, want := range []string{"a", "d"} {
		if !s.Ready() {
			t.Fatalf("Ready = false before chunk %s, which is at hand", want)
		}
		c, err := s.Next()
		if err != nil || string(c) != want {
			t.Fatalf("Next = %q, %v; want %q", c, err, want)
		}
	}
	if s.Ready() {
		t.Fatal("Ready = true with nothing at hand")
	}
	n.ready = 6 // the last event and the end arrive
	if !s.Ready() {
		t.Fatal("Ready = false with the end at hand")
	}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("Next = %v, want io.EOF", err)
	}
}

func TestReadyWithoutSourceSeesOnlyTheQueue(t *testing.T) {
	n := &nativeEvents{silent: []bool{false, false}, ready: 2}
	s := NewStream(n.pull, nil)
	if s.Ready() {
		t.Fatal("Ready = true before any chunk was made")
	}
	if c, err := s.Next(); err != nil || string(c) != "a" {
		t.Fatalf("Next = %q, %v", c, err)
	}
	if n.read != 1 {
		t.Fatalf("read %d native events for one chunk", n.read)
	}
}
