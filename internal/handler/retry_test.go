package handler

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// arrivals records when a fake upstream received each request.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
}

func (a *arrivals) add() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.times = append(a.times, time.Now())
	return len(a.times)
}

func (a *arrivals) all() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.times...)
}

func answer(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Accept"), "event-stream") {
		writeSSE(w, roleChunk, finishChunk, doneEventLine)
		return
	}
	_, _ = w.Write([]byte(chatCompletion))
}

func errorStatus(w http.ResponseWriter, status int) {
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":{"message":"failed","type":"server_error","param":null,"code":null}}`))
}

func TestSingleTargetIsRetriedOnce(t *testing.T) {
	var seen arrivals
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if seen.add()%2 == 1 {
			errorStatus(w, http.StatusServiceUnavailable)
			return
		}
		answer(w, r)
	})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	for _, body := range []string{`{"model":"m","messages":[]}`, `{"model":"m","stream":true,"messages":[]}`} {
		resp := post(t, gw.URL+"/v1/chat/completions", body)
		if got := readAll(t, resp.Body); resp.StatusCode != 200 || !strings.Contains(got, "chatcmpl-") {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
	}
	if n := len(seen.all()); n != 4 {
		t.Errorf("the upstream got %d requests, want 4 (one retry each)", n)
	}
}

func TestRetriesStopAtMaxAttempts(t *testing.T) {
	var a, b arrivals
	upA := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { a.add(); errorStatus(w, 502) })
	upB := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { b.add(); errorStatus(w, 500) })
	gw := gateway(t, Config{MaxAttempts: 5, Routes: []Route{route(Wildcard,
		Target{Provider: openAIProvider(t, "a", upA.URL)}, Target{Provider: openAIProvider(t, "b", upB.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	readAll(t, resp.Body)
	if resp.StatusCode != 502 {
		t.Errorf("status %d, want the last call's 502", resp.StatusCode)
	}
	// a, b, a, b, a: in order, wrapping around.
	if len(a.all()) != 3 || len(b.all()) != 2 {
		t.Errorf("calls: a %d, b %d; want 3 and 2", len(a.all()), len(b.all()))
	}
}

func TestClientErrorOnSingleTargetIsNotRetried(t *testing.T) {
	var seen arrivals
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { seen.add(); errorStatus(w, 400) })
	gw := gateway(t, Config{MaxAttempts: 4, Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	readAll(t, resp.Body)
	if resp.StatusCode != 400 || len(seen.all()) != 1 {
		t.Errorf("status %d after %d calls", resp.StatusCode, len(seen.all()))
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var seen arrivals
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if seen.add() == 1 {
			w.Header().Set("Retry-After-Ms", "300")
			errorStatus(w, http.StatusTooManyRequests)
			return
		}
		answer(w, r)
	})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	readAll(t, resp.Body)
	times := seen.all()
	if resp.StatusCode != 200 || len(times) != 2 {
		t.Fatalf("status %d after %d calls", resp.StatusCode, len(times))
	}
	if gap := times[1].Sub(times[0]); gap < 300*time.Millisecond {
		t.Errorf("retried %v after a Retry-After of 300ms", gap)
	}
}

func TestRetryAfterBeyondTheTimeoutIsNotWaitedFor(t *testing.T) {
	var a, b arrivals
	upA := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		a.add()
		w.Header().Set("Retry-After", "3600")
		errorStatus(w, http.StatusTooManyRequests)
	})
	upB := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if b.add() == 1 {
			errorStatus(w, http.StatusInternalServerError)
			return
		}
		answer(w, r)
	})
	gw := gateway(t, Config{MaxAttempts: 3, Routes: []Route{route(Wildcard,
		Target{Provider: openAIProvider(t, "a", upA.URL)}, Target{Provider: openAIProvider(t, "b", upB.URL)})}})
	began := time.Now()
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	readAll(t, resp.Body)
	// a (429, an hour away: dropped), b (500), b again.
	if resp.StatusCode != 200 || len(a.all()) != 1 || len(b.all()) != 2 {
		t.Errorf("status %d, calls a %d b %d", resp.StatusCode, len(a.all()), len(b.all()))
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("took %v", d)
	}

	// A single target that asks for more than the request has left: its
	// 429 goes to the client at once, Retry-After included.
	single := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "a", upA.URL)})}})
	resp = post(t, single.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	readAll(t, resp.Body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3600" || len(a.all()) != 2 {
		t.Errorf("status %d Retry-After %q, calls %d", resp.StatusCode, resp.Header.Get("Retry-After"), len(a.all()))
	}
}

// blockingUpstream opens a stream (headers only, or after the events
// given) and then sends nothing until release is closed or the request
// ends.
func blockingUpstream(t *testing.T, release <-chan struct{}, events ...string) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		writeSSE(w, events...)
		w.(http.Flusher).Flush()
		select {
		case <-release:
			writeSSE(w, finishChunk, doneEventLine)
		case <-r.Context().Done():
		}
	})
}

func TestFirstTokenTimeoutMovesToTheNextTarget(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := blockingUpstream(t, release)
	fast := newUpstream(t, answer)
	gw := gateway(t, Config{FirstTokenTimeout: 50 * time.Millisecond, Routes: []Route{route(Wildcard,
		Target{Provider: openAIProvider(t, "slow", slow.URL)}, Target{Provider: openAIProvider(t, "fast", fast.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	body := readAll(t, resp.Body)
	if resp.StatusCode != 200 || sseEvents(body)[len(sseEvents(body))-1] != "[DONE]" {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	slow.last(t)
	fast.last(t)
}

func TestFirstTokenTimeoutOnEveryAttemptIs504(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := blockingUpstream(t, release)
	gw := gateway(t, Config{FirstTokenTimeout: 50 * time.Millisecond, Routes: []Route{route(Wildcard,
		Target{Provider: openAIProvider(t, "slow", slow.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	body := readAll(t, resp.Body)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, `"upstream_timeout"`) || !strings.Contains(body, "did not start its answer") {
		t.Errorf("status %d: %s", resp.StatusCode, body)
	}
	if len(slow.requests) != 2 {
		t.Errorf("the upstream got %d calls, want 2", len(slow.requests))
	}
}

func TestStreamIdleTimeoutEndsWithAnErrorEvent(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := blockingUpstream(t, release, roleChunk)
	gw := gateway(t, Config{StreamIdleTimeout: 50 * time.Millisecond, Routes: []Route{route(Wildcard,
		Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	events := sseEvents(readAll(t, resp.Body))
	if resp.StatusCode != 200 || len(events) != 2 {
		t.Fatalf("status %d, events %q", resp.StatusCode, events)
	}
	var e struct {
		Error struct {
			Code *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(events[1]), &e); err != nil || e.Error.Code == nil || *e.Error.Code != "upstream_timeout" {
		t.Errorf("last event %s", events[1])
	}
	if len(up.requests) != 1 {
		t.Errorf("a stream that had begun was retried")
	}
}

// TestStreamIdleTimeoutCoversAStallMidEvent: an upstream that goes
// silent halfway through an event is as silent as one between events.
func TestStreamIdleTimeoutCoversAStallMidEvent(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		writeSSE(w, roleChunk)
		_, _ = io.WriteString(w, `data: {"id":"chatcmpl-9x2","object":`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	gw := gateway(t, Config{StreamIdleTimeout: 50 * time.Millisecond, Routes: []Route{route(Wildcard,
		Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	events := sseEvents(readAll(t, resp.Body))
	if len(events) != 2 || !strings.Contains(events[1], `"code":"upstream_timeout"`) {
		t.Fatalf("events %q", events)
	}
}

func TestTimeoutDoesNotCutABegunStream(t *testing.T) {
	const n = 8
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, roleChunk)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for range n {
			<-tick.C
			writeSSE(w, chunk("chatcmpl-9x2", "x"))
		}
		writeSSE(w, finishChunk, doneEventLine)
	})
	gw := gateway(t, Config{Timeout: 50 * time.Millisecond, StreamIdleTimeout: 5 * time.Second,
		Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	events := sseEvents(readAll(t, resp.Body))
	if len(events) != n+3 || events[len(events)-1] != "[DONE]" {
		t.Errorf("events %q", events)
	}
}

func TestBackoffStaysUnderItsCap(t *testing.T) {
	for tries := 1; tries < 70; tries++ {
		limit := min(backoffCap, backoffBase<<min(tries-1, 5))
		for range 20 {
			if d := backoff(tries); d < 0 || d >= limit {
				t.Fatalf("backoff(%d) = %v, want in [0, %v)", tries, d, limit)
			}
		}
	}
}

// stallingStream gives one chunk, then waits in Ready (as a reader may
// while it reads the rest of an event whose start it saw) until the call
// is cancelled.
type stallingStream struct {
	ctx  context.Context
	sent bool
}

func (s *stallingStream) Next() ([]byte, error) {
	if !s.sent {
		s.sent = true
		return []byte(strings.TrimPrefix(roleChunk, "data: ")), nil
	}
	<-s.ctx.Done()
	return nil, s.ctx.Err()
}

func (s *stallingStream) Ready() bool {
	if !s.sent {
		return true
	}
	<-s.ctx.Done()
	return true // Next reports the end
}

func (s *stallingStream) Close() error { return nil }

type stallingProvider struct{ providers.Base }

func (p *stallingProvider) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	return &providers.Response{Header: http.Header{}, Stream: &stallingStream{ctx: ctx}}, nil
}

func TestStreamIdleTimeoutCoversWaitsInReady(t *testing.T) {
	gw := gateway(t, Config{StreamIdleTimeout: 50 * time.Millisecond, Routes: []Route{route(Wildcard,
		Target{Provider: &stallingProvider{Base: providers.Base{Name: "stall"}}})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	events := sseEvents(readAll(t, resp.Body))
	if len(events) != 2 || !strings.Contains(events[1], `"code":"upstream_timeout"`) {
		t.Fatalf("events %q", events)
	}
}
