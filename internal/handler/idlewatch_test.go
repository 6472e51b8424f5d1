package handler

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestIdleWatchFiresOnOneLongWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 80 * time.Second
		var firedAt atomic.Int64
		start := time.Now()
		w := &idleWatch{}
		w.start(limit, func() { firedAt.Store(int64(time.Since(start))) })
		defer w.stop()
		// Short waits with long pauses between them (a slow client, not a
		// silent upstream) never fire, however long the stream lasts.
		for range 50 {
			w.wait()
			time.Sleep(limit / 2)
			w.done()
			time.Sleep(2 * limit)
		}
		if firedAt.Load() != 0 {
			t.Fatalf("fired at %v with no wait longer than %v", time.Duration(firedAt.Load()), limit/2)
		}
		began := time.Since(start)
		w.wait()
		time.Sleep(3 * limit)
		synctest.Wait()
		waited := time.Duration(firedAt.Load()) - began
		if waited < limit || waited > limit+limit/idleChecks {
			t.Fatalf("fired %v into a wait; want between %v and %v", waited, limit, limit+limit/idleChecks)
		}
	})
}

func TestIdleWatchCountsEachWaitOnItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 80 * time.Second
		var fired atomic.Bool
		w := &idleWatch{}
		w.start(limit, func() { fired.Store(true) })
		defer w.stop()
		// Back-to-back waits, each a little shorter than the limit: the
		// upstream is never silent for a whole limit.
		for range 20 {
			w.wait()
			time.Sleep(limit - limit/4)
			w.done()
		}
		synctest.Wait()
		if fired.Load() {
			t.Fatal("fired although no single wait reached the limit")
		}
	})
}

// On a starved machine the checks come late and few: a wait is measured
// by the clock from the check that first saw it, not by how many checks
// saw it since.
func TestIdleWatchMeasuresAWaitByTheClock(t *testing.T) {
	w := &idleWatch{}
	w.wait()
	if got := w.silentFor(10 * time.Second); got != 0 {
		t.Fatalf("a wait first seen counts %v", got)
	}
	if got := w.silentFor(95 * time.Second); got != 85*time.Second {
		t.Fatalf("one late check after the first: silent for %v, want 85s", got)
	}
	w.done()
	w.wait()
	if got := w.silentFor(96 * time.Second); got != 0 {
		t.Fatalf("a new wait counts %v of the last one's", got)
	}
}
