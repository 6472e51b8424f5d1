package handler

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// namedTargets are targets whose providers are known only by their
// records: enough for a balancer, which never calls them.
func namedTargets(names ...string) []Target {
	out := make([]Target, len(names))
	for i, n := range names {
		out[i] = Target{Model: n, health: &providerHealth{name: n}}
	}
	return out
}

func orderNames(ts []Target) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Model
	}
	return strings.Join(names, " ")
}

func TestOrderPerPolicy(t *testing.T) {
	cases := map[Policy][]string{
		First:      {"a b c", "a b c", "a b c", "a b c"},
		"":         {"a b c", "a b c", "a b c", "a b c"},
		RoundRobin: {"a b c", "b c a", "c a b", "a b c"},
		// Idle alike: the ties rotate like round_robin.
		LeastBusy: {"a b c", "b c a", "c a b", "a b c"},
		// Weights 1 each: plain rotation.
		Weighted: {"a b c", "b c a", "c a b", "a b c"},
	}
	for policy, want := range cases {
		b := newBalancer(policy, namedTargets("a", "b", "c"))
		for i, w := range want {
			if got := orderNames(b.order()); got != w {
				t.Errorf("%s request %d: order %q, want %q", policy, i, got, w)
			}
		}
	}
}

func TestWeightedProportionsAreExact(t *testing.T) {
	targets := namedTargets("east", "west")
	targets[0].Weight, targets[1].Weight = 3, 1
	b := newBalancer(Weighted, targets)
	var primaries []string
	for range 100 {
		primaries = append(primaries, b.order()[0].Model)
	}
	for start := 0; start+4 <= len(primaries); start++ {
		if n := countOf(primaries[start:start+4], "east"); n != 3 {
			t.Fatalf("requests %d to %d: %d primaries on east, want 3 (%v)", start, start+3, n, primaries[start:start+4])
		}
	}
	if n := countOf(primaries, "east"); n != 75 {
		t.Errorf("east was the primary %d times in 100, want 75", n)
	}

	targets = namedTargets("a", "b", "c")
	targets[0].Weight, targets[1].Weight, targets[2].Weight = 5, 2, 1
	b = newBalancer(Weighted, targets)
	primaries = primaries[:0]
	for range 80 {
		primaries = append(primaries, b.order()[0].Model)
	}
	if a, bb, c := countOf(primaries, "a"), countOf(primaries, "b"), countOf(primaries, "c"); a != 50 || bb != 20 || c != 10 {
		t.Errorf("5:2:1 over 80 requests gave %d, %d, %d", a, bb, c)
	}
	// Smooth: the heaviest never takes its whole share in one block.
	if strings.Contains(strings.Join(primaries[:8], ""), "aaaaa") {
		t.Errorf("first round %v is not interleaved", primaries[:8])
	}
	// The fallbacks follow the primary in configured order.
	if got := orderNames(b.order()); !slices.Contains([]string{"a b c", "b c a", "c a b"}, got) {
		t.Errorf("order %q is not a rotation of the route", got)
	}
}

func countOf(list []string, name string) int {
	n := 0
	for _, s := range list {
		if s == name {
			n++
		}
	}
	return n
}

func TestLeastBusyPicksTheIdleTarget(t *testing.T) {
	targets := namedTargets("a", "b", "c")
	targets[0].health.inFlight.Store(2)
	targets[2].health.inFlight.Store(1)
	b := newBalancer(LeastBusy, targets)
	for range 3 {
		if got := orderNames(b.order()); got != "b c a" {
			t.Errorf("order %q, want b c a", got)
		}
	}
}

// healthOf reads the gateway's /health.
func healthOf(t *testing.T, base string) (int, healthReport) {
	t.Helper()
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h healthReport
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, h
}

func providerIn(h healthReport, name string) providerStatus {
	for _, p := range h.Providers {
		if p.Name == name {
			return p
		}
	}
	return providerStatus{}
}

func TestLeastBusyThroughTheGateway(t *testing.T) {
	release := make(chan struct{})
	var busyCalls, idleCalls atomic.Int32
	busy := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		busyCalls.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-release:
			writeSSE(w, roleChunk, finishChunk, doneEventLine)
		case <-r.Context().Done():
		}
	})
	idle := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { idleCalls.Add(1); answer(w, r) })
	gw := gateway(t, Config{Routes: []Route{{Name: "m", Policy: LeastBusy, Targets: []Target{
		{Provider: openAIProvider(t, "busy", busy.URL)}, {Provider: openAIProvider(t, "idle", idle.URL)}}}}})

	streamDone := make(chan string)
	go func() {
		resp, err := http.Post(gw.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","stream":true,"messages":[]}`))
		if err != nil {
			streamDone <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		streamDone <- string(b)
	}()
	busy.last(t) // the stream is in flight on busy

	if _, h := healthOf(t, gw.URL); providerIn(h, "busy").InFlight != 1 || providerIn(h, "idle").InFlight != 0 {
		t.Fatalf("in flight: %+v", h.Providers)
	}
	// Round-robin would send the second of these to busy.
	for range 2 {
		if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if busyCalls.Load() != 1 || idleCalls.Load() != 2 {
		t.Errorf("calls: busy %d, idle %d; want 1 and 2", busyCalls.Load(), idleCalls.Load())
	}
	close(release)
	if body := <-streamDone; !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("stream: %q", body)
	}
	// The stream's count ends once its answer is closed, just after the
	// client has read it all.
	eventually(t, "busy has no call in flight", func() bool {
		_, h := healthOf(t, gw.URL)
		return providerIn(h, "busy").InFlight == 0
	})
}

// eventually polls cond until it holds, failing the test after 5s: for
// states that change by the clock or after the answer reached the client,
// where no event exists to wait on.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("still not so after 5s: %s", what)
		case <-tick.C:
		}
	}
}
