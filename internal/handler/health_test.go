package handler

import (
	"io"
	"net/http"
	"sync/atomic"
	"testing"
)

func TestHealthTracksProviders(t *testing.T) {
	var failing atomic.Bool
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, chatCompletion)
	})
	base := gateway(t, Config{Routes: []Route{route("fast", Target{Provider: openAIProvider(t, "up", up.URL)})}}).URL
	health := func() (int, healthReport) { return healthOf(t, base) }
	chat := func() { post(t, base+"/v1/chat/completions", `{"model":"fast","messages":[]}`) }

	if status, h := health(); status != 200 || h.Status != "healthy" || h.Version == "" || h.MemoryUsage == "" || len(h.Providers) != 1 {
		t.Fatalf("fresh: %d %+v", status, h)
	}
	failing.Store(true)
	for range reportDownAfter - 1 {
		chat()
	}
	if _, h := health(); h.Providers[0].Status != "up" || h.Providers[0].ConsecutiveFailures != reportDownAfter-1 || h.Providers[0].LastErrorAt == nil {
		t.Fatalf("after %d failures: %+v", reportDownAfter-1, h.Providers[0])
	}
	chat()
	if status, h := health(); status != 503 || h.Status != "unhealthy" || h.Providers[0].Status != "down" {
		t.Fatalf("after %d failures: %d %+v", reportDownAfter, status, h)
	}
	failing.Store(false)
	chat()
	if status, h := health(); status != 200 || h.Providers[0].Status != "up" || h.Providers[0].ConsecutiveFailures != 0 {
		t.Fatalf("after a success: %d %+v", status, h)
	}
}
