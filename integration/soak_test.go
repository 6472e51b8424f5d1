package integration

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/faultupstream"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/soak"
)

// soakSeed is SOAK_SEED when set, so a failed run can be repeated, and a
// fixed seed otherwise.
func soakSeed(t *testing.T) uint64 {
	if s := os.Getenv("SOAK_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SOAK_SEED: %v", err)
		}
		return seed
	}
	return 8
}

// heapAfterGC is the live heap once garbage is collected.
func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSoakFaultsAndAborts is the short form of the soak (bench/soak.sh
// runs the long one): 100 concurrent streams for 12 seconds through one
// gateway while the upstream drops, stalls, trickles, sends garbage and
// error statuses and a fifth of the clients leave mid-stream. Every
// completed stream must match the upstream byte for byte, every fault
// reach its client as the documented error, every abandoned upstream
// request be cancelled; afterwards the goroutines are back to the
// baseline and the heap is back near it.
func TestSoakFaultsAndAborts(t *testing.T) {
	// The gateway, the upstream and the clients share one process here,
	// under the race detector in CI, on a machine that may be busy: a
	// longer idle timeout than the long form's keeps healthy streams
	// clear of it.
	const streams, duration, idle = 100, 12 * time.Second, 5 * time.Second
	seed := soakSeed(t)
	up := faultupstream.New(faultupstream.Options{Plan: soak.Plan(seed, idle)})
	t.Cleanup(up.Close)
	startGateway(t, soak.GatewayBlock(up.URL, idle))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams}}
	baseline := goroutineBaseline(t)
	heapBefore := heapAfterGC()

	rep := soak.Run(context.Background(), soak.Config{URL: gatewayURL + "/v1/chat/completions", Upstream: up,
		IdleTimeout: idle, Streams: streams, Duration: duration, Seed: seed, Client: client})
	t.Log(rep)
	if !rep.OK() {
		t.Errorf("the soak failed; SOAK_SEED=%d repeats its choices:\n%s", seed, rep)
	}
	// Retries and fallback hide most error statuses from the clients (a
	// few in a thousand get through), so those are counted upstream.
	if rep.Completed == 0 || rep.Aborted == 0 || rep.Errored == 0 || len(rep.UpstreamStatus) < 2 || rep.Stalled == 0 || rep.Dropped == 0 || rep.Garbage == 0 {
		t.Errorf("the soak did not meet every kind of fault and ending:\n%s", rep)
	}

	checkNoLeaks(t, baseline, []*http.Client{client}, up.Server)
	heapAfter := heapAfterGC()
	t.Logf("heap after GC: %d KiB before, %d KiB after", heapBefore>>10, heapAfter>>10)
	if heapAfter > heapBefore+heapBefore/5+8<<20 {
		t.Errorf("the heap grew from %d KiB to %d KiB over the soak", heapBefore>>10, heapAfter>>10)
	}
}
