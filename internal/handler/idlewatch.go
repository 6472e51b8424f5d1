package handler

import (
	"sync/atomic"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// idleChecks is how many times per limit an idleWatch looks at its
// stream: it fires between limit and limit + limit/idleChecks after the
// wait began.
const idleChecks = 8

// idleWatch enforces stream_idle_timeout: it fires when one wait on the
// upstream lasts longer than limit. A streamed answer's body marks each
// of its reads (see providers.ReadWatcher), the only place a stream
// waits on its upstream; for a stream whose body does not, the relay
// marks every call that may wait (Next, and Ready, which may read what is
// at hand). Time spent writing to a slow client is not the upstream's
// silence and is not counted. Marking a wait costs one atomic add and no
// clock read: a timer looks every limit/idleChecks whether the wait it
// saw last time is still on, and fires once that wait has been on for a
// whole limit since it was first seen. The time is the clock's, not a
// count of checks: on a starved machine the checks come late, and a
// count of them would let a silent upstream hold a stream for a multiple
// of the limit.
type idleWatch struct {
	limit, every time.Duration
	// waits counts the marks: odd while a wait is on, and different for
	// every wait.
	waits atomic.Uint64
	// bodyMarks is set once the upstream body marks its own reads: the
	// relay then marks none of its calls.
	bodyMarks atomic.Bool
	// The waits count at the last check, and when (since began) a check
	// first saw it. Only checks use them, one after the other; atomics
	// make that order plain to the race detector.
	began  time.Time
	seen   atomic.Uint64
	seenAt atomic.Int64
	timer  *time.Timer
	fire   func()
}

// start begins the watch: fire runs once a single wait has lasted
// longer than limit.
func (w *idleWatch) start(limit time.Duration, fire func()) {
	w.limit, w.every, w.fire = limit, max(limit/idleChecks, 1), fire
	w.began = time.Now()
	w.seen.Store(w.waits.Load())
	w.timer = time.AfterFunc(w.every, w.check)
}

// check runs every w.every, or later on a busy machine.
func (w *idleWatch) check() {
	if w.silentFor(time.Since(w.began)) >= w.limit {
		w.fire()
		return
	}
	w.timer.Reset(w.every)
}

// silentFor reports, for a check made at now (since the watch began),
// how long the wait that is on has been on since a check first saw it:
// 0 for a wait this check is the first to see, or when none is on.
func (w *idleWatch) silentFor(now time.Duration) time.Duration {
	if n := w.waits.Load(); n%2 == 0 || n != w.seen.Load() {
		w.seen.Store(n)
		w.seenAt.Store(int64(now))
		return 0
	}
	return now - time.Duration(w.seenAt.Load())
}

// Watching, ReadStarts and ReadEnds are the body's marks.
func (w *idleWatch) Watching()   { w.bodyMarks.Store(true) }
func (w *idleWatch) ReadStarts() { w.waits.Add(1) }
func (w *idleWatch) ReadEnds()   { w.waits.Add(1) }

// wait marks the start of a relay's call that may wait on the upstream,
// unless the body marks its reads.
func (w *idleWatch) wait() {
	if !w.bodyMarks.Load() {
		w.waits.Add(1)
	}
}

// done marks its end.
func (w *idleWatch) done() {
	if !w.bodyMarks.Load() {
		w.waits.Add(1)
	}
}

// stop ends the watch.
func (w *idleWatch) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// Interface guards
var _ providers.ReadWatcher = (*idleWatch)(nil)
