package faultupstream

import (
	"context"
	"sync"
)

// Gate holds every stream after its first After events until Open, so a
// test can act while a known number of streams is open at a known point.
type Gate struct {
	After int

	mu      sync.Mutex
	held    int
	changed chan struct{} // closed and replaced when held grows
	open    chan struct{}
	once    sync.Once
}

// NewGate returns a closed gate that holds streams after events.
func NewGate(events int) *Gate {
	return &Gate{After: events, changed: make(chan struct{}), open: make(chan struct{})}
}

// Open lets every held stream, and every later one, go on.
func (g *Gate) Open() { g.once.Do(func() { close(g.open) }) }

// WaitHeld waits until n streams have reached the gate.
func (g *Gate) WaitHeld(ctx context.Context, n int) error {
	for {
		g.mu.Lock()
		held, changed := g.held, g.changed
		g.mu.Unlock()
		if held >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// hold blocks a stream at the gate until it opens or ctx ends.
func (g *Gate) hold(ctx context.Context) error {
	g.mu.Lock()
	g.held++
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
