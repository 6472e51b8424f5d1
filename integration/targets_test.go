package integration

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// One model failing and others rate-limited on the same provider (by
// Retry-After, or by OpenAI's x-ratelimit-reset-* alone) leave its last
// model serving, whole and streamed, to concurrent requests: circuits and
// pauses are per target, and the provider stays up.
func TestOneModelsOutageLeavesTheProvidersOthersThroughCaddy(t *testing.T) {
	var echoCalls atomic.Int32
	held, release := make(chan struct{}), make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(body), `"model":"fail-500"`):
			serveStatus(w, http.StatusInternalServerError)
		case strings.Contains(string(body), `"model":"limited"`):
			w.Header().Set("Retry-After", "30")
			serveStatus(w, http.StatusTooManyRequests)
		case strings.Contains(string(body), `"model":"reset"`):
			w.Header().Set("X-Ratelimit-Remaining-Tokens", "0")
			w.Header().Set("X-Ratelimit-Reset-Tokens", "30s")
			serveStatus(w, http.StatusTooManyRequests)
		case strings.Contains(string(body), `"stream":true`):
			echoCalls.Add(1)
			sse(w, roleEvent)
			held <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			sse(w, wordEvent, finishEvent, "data: [DONE]")
		default:
			echoCalls.Add(1)
			serveOK(w, r)
		}
	}))
	t.Cleanup(up.Close)
	startGateway(t, `		provider p openai {
			base_url `+up.URL+`/v1
		}
		model bad p/fail-500
		model busy p/limited
		model spent p/reset
		model good p/echo
		fail_threshold 3
		cooldown 1m`)
	for range 8 {
		chatPost(t, `{"model":"bad","messages":[]}`)
		chatPost(t, `{"model":"busy","messages":[]}`)
		chatPost(t, `{"model":"spent","messages":[]}`)
	}
	want := map[string]string{"fail-500": "down", "limited": "paused", "reset": "paused", "echo": "up"}
	checkTargetsHealth(t, want)

	// A stream of the good model is under way while a whole answer is
	// asked for: neither is a lone trial of a provider taken for down.
	streamed := make(chan string, 1)
	go func() {
		_, answer := chatPost(t, `{"model":"good","stream":true,"messages":[]}`)
		streamed <- answer
	}()
	select {
	case <-held:
	case answer := <-streamed:
		t.Fatalf("the stream never reached the upstream: %s", answer)
	}
	if status, answer := chatPost(t, `{"model":"good","messages":[]}`); status != 200 || !strings.Contains(answer, `"content":"ok"`) {
		t.Errorf("whole answer during the stream: status %d: %s", status, answer)
	}
	close(release)
	if answer := <-streamed; !strings.Contains(answer, `"content":"hello"`) || !strings.HasSuffix(answer, "data: [DONE]\n\n") {
		t.Errorf("stream: %s", answer)
	}
	if n := echoCalls.Load(); n != 2 {
		t.Errorf("the good model's upstream got %d calls", n)
	}
	checkTargetsHealth(t, want)
	for series, v := range map[string]float64{
		`llm_gateway_provider_up{provider="p"}`:                1,
		`llm_gateway_target_up{model="echo",provider="p"}`:     1,
		`llm_gateway_target_up{model="fail-500",provider="p"}`: 0,
		`llm_gateway_target_up{model="limited",provider="p"}`:  0,
		`llm_gateway_target_up{model="reset",provider="p"}`:    0,
	} {
		if got := metricValue(t, series); got != v {
			t.Errorf("%s = %v, want %v", series, got, v)
		}
	}
}

// checkTargetsHealth checks that /health shows provider p up, the
// gateway degraded, and p's targets in the wanted states: down ones with
// open_until, paused ones with most of their 30s wait ahead.
func checkTargetsHealth(t *testing.T, want map[string]string) {
	t.Helper()
	resp, err := freshHTTP().Get(gatewayURL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		Status    string `json:"status"`
		Providers []struct {
			Name    string `json:"name"`
			Status  string `json:"status"`
			Targets []struct {
				Model       string     `json:"model"`
				Status      string     `json:"status"`
				OpenUntil   *time.Time `json:"open_until"`
				PausedUntil *time.Time `json:"paused_until"`
			} `json:"targets"`
		} `json:"providers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || h.Status != "degraded" || len(h.Providers) != 1 || h.Providers[0].Status != "up" {
		t.Fatalf("/health %d: %+v", resp.StatusCode, h)
	}
	missing := maps.Clone(want)
	for _, target := range h.Providers[0].Targets {
		if want[target.Model] != target.Status {
			t.Errorf("target %s is %s, want %s", target.Model, target.Status, want[target.Model])
		}
		delete(missing, target.Model)
		if target.Status == "paused" && (target.PausedUntil == nil || time.Until(*target.PausedUntil) < 20*time.Second) {
			t.Errorf("paused target without its wait: %+v", target)
		}
		if target.Status == "down" && target.OpenUntil == nil {
			t.Errorf("down target without open_until: %+v", target)
		}
	}
	if len(missing) != 0 {
		t.Errorf("/health lacks the targets %v", missing)
	}
}
