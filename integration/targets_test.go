package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// One model failing and another rate-limited on the same provider leave
// its third model serving: circuits and pauses are per target.
func TestOneModelsOutageLeavesTheProvidersOthersThroughCaddy(t *testing.T) {
	var echoCalls atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(body), `"model":"fail-500"`):
			serveStatus(w, http.StatusInternalServerError)
		case strings.Contains(string(body), `"model":"limited"`):
			w.Header().Set("Retry-After", "30")
			serveStatus(w, http.StatusTooManyRequests)
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
		model good p/echo
		fail_threshold 3
		cooldown 1m`)
	for range 8 {
		chatPost(t, `{"model":"bad","messages":[]}`)
		chatPost(t, `{"model":"busy","messages":[]}`)
	}
	for _, body := range []string{`{"model":"good","messages":[]}`, `{"model":"good","stream":true,"messages":[]}`} {
		if status, answer := chatPost(t, body); status != 200 {
			t.Fatalf("%s: status %d: %s", body, status, answer)
		}
	}
	if n := echoCalls.Load(); n != 2 {
		t.Errorf("the good model's upstream got %d calls", n)
	}

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
	want := map[string]string{"fail-500": "down", "limited": "paused", "echo": "up"}
	for _, target := range h.Providers[0].Targets {
		if want[target.Model] != target.Status {
			t.Errorf("target %s is %s, want %s", target.Model, target.Status, want[target.Model])
		}
		delete(want, target.Model)
		if target.Status == "paused" && (target.PausedUntil == nil || time.Until(*target.PausedUntil) < 20*time.Second) {
			t.Errorf("paused target without its Retry-After: %+v", target)
		}
		if target.Status == "down" && target.OpenUntil == nil {
			t.Errorf("down target without open_until: %+v", target)
		}
	}
	if len(want) != 0 {
		t.Errorf("/health lacks the targets %v", want)
	}
	for series, v := range map[string]float64{
		`llm_gateway_provider_up{provider="p"}`:                1,
		`llm_gateway_target_up{model="echo",provider="p"}`:     1,
		`llm_gateway_target_up{model="fail-500",provider="p"}`: 0,
		`llm_gateway_target_up{model="limited",provider="p"}`:  0,
	} {
		if got := metricValue(t, series); got != v {
			t.Errorf("%s = %v, want %v", series, got, v)
		}
	}
}
