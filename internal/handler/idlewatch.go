package handler

import (
	"sync/atomic"
	"time"
)

// idleWatch enforces stream_idle_timeout: it fires when one wait on the
// upstream lasts longer than limit. The relay marks every call that may
// wait (Next, and Ready, which may read what is at hand); time spent
// writing to a slow client is not the upstream's silence and is not
// counted. One timer serves the whole stream and is re-armed only when
// it comes due, so marking a wait costs a clock read, not a timer change
// per event. The clock read is of the monotonic clock alone, half the
// cost of time.Now, which reads the wall clock too.
type idleWatch struct {
	limit time.Duration
	start time.Time
	since atomic.Int64 // 1 + when the current wait began, in ns after start; 0 between waits
	timer *time.Timer
	fire  func()
}

func newIdleWatch(limit time.Duration, fire func()) *idleWatch {
	w := &idleWatch{limit: limit, start: time.Now(), fire: fire}
	w.timer = time.AfterFunc(limit, w.check)
	return w
}

// check runs when the timer comes due: it fires when the current wait is
// long enough, else re-arms the timer for when it would be.
func (w *idleWatch) check() {
	next := w.limit
	if since := w.since.Load(); since != 0 {
		waited := time.Since(w.start) - time.Duration(since-1)
		if waited >= w.limit {
			w.fire()
			return
		}
		next = w.limit - waited
	}
	w.timer.Reset(next)
}

// wait marks the start of a call that may wait on the upstream.
func (w *idleWatch) wait() { w.since.Store(int64(time.Since(w.start)) + 1) }

// done marks its end.
func (w *idleWatch) done() { w.since.Store(0) }

// stop ends the watch.
func (w *idleWatch) stop() { w.timer.Stop() }
