package handler

import (
	"bufio"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestKeepaliveWhileTheFirstEventIsSlow(t *testing.T) {
	for _, tc := range []struct {
		path, body string
		events     int // data events after the keepalives
	}{
		{"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`, 2},
		{"/api/v1/generate/stream", `{"model":"m","prompt":"hi"}`, 1},
		{"/api/chat", `{"model":"m","message":"hi","stream":true}`, 1},
	} {
		t.Run(tc.path, func(t *testing.T) {
			release := make(chan struct{})
			var once sync.Once
			up := blockingUpstream(t, release) // headers, no event
			gw := gateway(t, Config{Keepalive: 20 * time.Millisecond, Routes: []Route{route(Wildcard,
				Target{Provider: openAIProvider(t, "oai", up.URL)})}})
			// Without keepalives nothing would release the upstream.
			watchdog := time.AfterFunc(5*time.Second, func() { once.Do(func() { close(release) }) })
			defer watchdog.Stop()
			resp := post(t, gw.URL+tc.path, tc.body)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			rd := bufio.NewReader(resp.Body)
			var keepalives, data int
			for {
				line, err := rd.ReadString('\n')
				if err != nil {
					break
				}
				switch {
				case line == ": keepalive\n":
					if data > 0 {
						t.Error("a keepalive after the first event")
					}
					keepalives++
					once.Do(func() { close(release) })
				case strings.HasPrefix(line, "data: "):
					data++
				}
			}
			if keepalives == 0 || data != tc.events {
				t.Errorf("%d keepalives, %d events", keepalives, data)
			}
		})
	}
}

func TestNoKeepaliveForFastAnswers(t *testing.T) {
	up := newUpstream(t, answer)
	gw := gateway(t, Config{Keepalive: time.Minute, Routes: []Route{route(Wildcard,
		Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	if body := readAll(t, resp.Body); strings.Contains(body, "keepalive") || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("body %q", body)
	}
}

func TestFailureAfterKeepaliveIsAnErrorEvent(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		errorStatus(w, http.StatusBadRequest)
	})
	gw := gateway(t, Config{Keepalive: 20 * time.Millisecond, Routes: []Route{route(Wildcard,
		Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || line != ": keepalive\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(release)
	events := sseEvents(readAll(t, rd))
	if resp.StatusCode != 200 || len(events) != 1 || !strings.Contains(events[0], `"error"`) || calls.Load() != 1 {
		t.Errorf("status %d, events %q, calls %d", resp.StatusCode, events, calls.Load())
	}
}

// TestFirstTokenTimeoutAfterKeepalivesIsAnErrorEvent: once keepalives
// have sent the stream's first bytes, a first-token timeout can no longer
// be a 504; it ends the 200 stream with an upstream_timeout error event.
func TestFirstTokenTimeoutAfterKeepalivesIsAnErrorEvent(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := blockingUpstream(t, release)
	gw := gateway(t, Config{Keepalive: 10 * time.Millisecond, FirstTokenTimeout: 60 * time.Millisecond, MaxAttempts: 1,
		Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "slow", slow.URL)})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","stream":true,"messages":[]}`)
	body := readAll(t, resp.Body)
	events := sseEvents(body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, ": keepalive\n\n") || len(events) != 1 ||
		!strings.Contains(events[0], `"code":"upstream_timeout"`) || !strings.Contains(events[0], "did not start its answer") {
		t.Errorf("status %d: %q", resp.StatusCode, body)
	}
}
