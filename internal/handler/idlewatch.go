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
// saw last time is still on, and fires once it has seen the same wait
// for a whole limit.
type idleWatch struct {
	limit, every time.Duration
	// waits counts the marks: odd while a wait is on, and different for
	// every wait.
	waits atomic.Uint64
	// bodyMarks is set once the upstream body marks its own reads: the
	// relay then marks none of its calls.
	bodyMarks atomic.Bool
	// The waits count at the last check, and for how long that wait has
	// been seen on. Only checks use them, one after the other; atomics
	// make that order plain to the race detector.
	seen  atomic.Uint64
	quiet atomic.Int64
	timer *time.Timer
	fire  func()
}

// start begins the watch: fire runs once a single wait has lasted
// longer than limit.
func (w *idleWatch) start(limit time.Duration, fire func()) {
	w.limit, w.every, w.fire = limit, max(limit/idleChecks, 1), fire
	w.seen.Store(w.waits.Load())
	w.timer = time.AfterFunc(w.every, w.check)
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
