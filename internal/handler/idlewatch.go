package handler

import (
	"sync/atomic"
	"time"
)

// idleChecks is how many times per limit an idleWatch looks at its
// stream: it fires between limit and limit + limit/idleChecks after the
// wait began.
const idleChecks = 8

// idleWatch enforces stream_idle_timeout: it fires when one wait on the
// upstream lasts longer than limit. The relay marks every call that may
// wait (Next, and Ready, which may read what is at hand); time spent
// writing to a slow client is not the upstream's silence and is not
// counted. Marking a wait costs one atomic add and no clock read, as it
// happens twice for every event of every stream: a timer looks every
// limit/idleChecks whether the wait it saw last time is still on, and
// fires once it has seen the same wait for a whole limit.
type idleWatch struct {
	limit, every time.Duration
	// waits counts the marks: odd while a wait is on, and different for
	// every wait.
	waits atomic.Uint64
	// The waits count at the last check, and for how long that wait has
	// been seen on. Only checks use them, one after the other; atomics
	// make that order plain to the race detector.
	seen  atomic.Uint64
	quiet atomic.Int64
	timer *time.Timer
	fire  func()
}

func newIdleWatch(limit time.Duration, fire func()) *idleWatch {
	w := &idleWatch{limit: limit, every: max(limit/idleChecks, 1), fire: fire}
	w.timer = time.AfterFunc(w.every, w.check)
	return w
}

// check runs every w.every: the wait it saw last time, if still on, has
// lasted at least w.every more.
func (w *idleWatch) check() {
	if n := w.waits.Load(); n%2 == 1 && n == w.seen.Load() {
		if time.Duration(w.quiet.Add(int64(w.every))) >= w.limit {
			w.fire()
			return
		}
	} else {
		w.seen.Store(n)
		w.quiet.Store(0)
	}
	w.timer.Reset(w.every)
}

// wait marks the start of a call that may wait on the upstream.
func (w *idleWatch) wait() { w.waits.Add(1) }

// done marks its end.
func (w *idleWatch) done() { w.waits.Add(1) }

// stop ends the watch.
func (w *idleWatch) stop() { w.timer.Stop() }
