package providers

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// CodeBusy is the error code of a call refused because its provider has
// max_concurrent calls in flight. It says nothing about the upstream's
// health, so it must not count as an upstream failure.
const CodeBusy = "provider_busy"

// slots bounds the calls of one provider in flight at once: a call holds
// one from sending its request until its answer is closed.
type slots struct {
	free  chan struct{}
	queue time.Duration
}

func newSlots(n int, queue time.Duration) *slots {
	if n <= 0 {
		return nil
	}
	return &slots{free: make(chan struct{}, n), queue: queue}
}

// acquire takes a slot, waiting up to the queue timeout for one, and
// returns the function that gives it back. A nil *slots never refuses.
func (s *slots) acquire(ctx context.Context, provider string) (func(), error) {
	if s == nil {
		return func() {}, nil
	}
	select {
	case s.free <- struct{}{}:
		return s.release, nil
	default:
	}
	if s.queue > 0 {
		wait := time.NewTimer(s.queue)
		defer wait.Stop()
		select {
		case s.free <- struct{}{}:
			return s.release, nil
		case <-ctx.Done():
			return nil, &TransportError{Provider: provider, Err: context.Cause(ctx)}
		case <-wait.C:
		}
	}
	return nil, s.busy(provider)
}

func (s *slots) release() { <-s.free }

// inFlight is the number of slots taken.
func (s *slots) inFlight() int {
	if s == nil {
		return 0
	}
	return len(s.free)
}

// busy is the refusal of a call that found no free slot. It is a 503 the
// gateway retries on the route's next target; its Retry-After stays the
// default second, as slots come free when any answer ends.
func (s *slots) busy(provider string) *Error {
	msg := fmt.Sprintf("the upstream provider %s is busy: all %d of its concurrent requests (max_concurrent) are in flight", provider, cap(s.free))
	if s.queue > 0 {
		msg += fmt.Sprintf(" and none came free within %s (queue_timeout)", s.queue)
	}
	return NewError(http.StatusServiceUnavailable, CodeBusy, msg+"; try again shortly")
}
