package handler

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// modelsUpstream answers GET /v1/models, failing while failing is set,
// and counts the probes it got.
func modelsUpstream(t *testing.T, failing *atomic.Bool, probes *atomic.Int32) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" {
			errorStatus(w, http.StatusInternalServerError)
			return
		}
		probes.Add(1)
		if failing.Load() {
			errorStatus(w, http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"m","object":"model","created":1,"owned_by":"o"}]}`)
	})
}

func TestProbesOpenAndCloseACircuit(t *testing.T) {
	var failing atomic.Bool
	var probes atomic.Int32
	failing.Store(true)
	up := modelsUpstream(t, &failing, &probes)
	// A cooldown of an hour: only a probe can close the circuit in time.
	gw := gateway(t, Config{FailThreshold: 2, Cooldown: time.Hour, ProbeInterval: 10 * time.Millisecond,
		Routes: []Route{route("m", Target{Provider: openAIProvider(t, "probed", up.URL)})}})
	eventually(t, "failed probes open the circuit", func() bool {
		_, h := healthOf(t, gw.URL)
		return providerIn(h, "probed").Status == statusDown
	})
	if n := probes.Load(); n < 2 {
		t.Errorf("opened after %d probes, want the threshold of 2", n)
	}
	failing.Store(false)
	eventually(t, "a successful probe closes the circuit", func() bool {
		_, h := healthOf(t, gw.URL)
		return providerIn(h, "probed").Status == statusUp
	})
}

func TestProbesSkipUnprobeableProviders(t *testing.T) {
	h, err := New(ready(Config{MaxBody: 1, Auth: PassthroughAuth{}, Routes: []Route{route("m",
		Target{Provider: openAIProvider(t, "own-key", "http://127.0.0.1:1")},
		Target{Provider: openAIProviderWithKey(t, "caller-key", "http://127.0.0.1:1", "")},
		Target{Provider: openAIProviderWithKey(t, "always-caller", "http://127.0.0.1:1", providers.KeyPassthrough)},
		Target{Provider: azureProvider(t, "configured-list", "https://x.openai.azure.com", "2024-10-21", nil)})}}))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var names []string
	for _, p := range h.probeTargets() {
		names = append(names, p.health.name)
	}
	if !slices.Equal(names, []string{"own-key"}) {
		t.Errorf("probed %v, want only own-key", names)
	}
}

func TestCloseStopsTheProbes(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var failing atomic.Bool
	var probes, asked atomic.Int32
	up := modelsUpstream(t, &failing, &probes)
	p := openAIProvider(t, "stopped", up.URL)
	h, err := New(ready(Config{MaxBody: 1, ProbeInterval: 5 * time.Millisecond,
		Routes: []Route{route("m", Target{Provider: countedLister{p, &asked}})}}))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "probes run", func() bool { return probes.Load() >= 2 })
	h.Close()
	n := asked.Load()
	_ = p.(interface{ Cleanup() error }).Cleanup() // idle upstream connections
	up.Close()
	goleak.VerifyNone(t, before)
	if asked.Load() != n {
		t.Errorf("%d probes after Close", asked.Load()-n)
	}
}

// countedLister counts the model lists asked of its provider as they
// begin. The upstream counts a probe only when its request arrives, which
// can be after Close: a probe that Close cut short may have sent its
// request already.
type countedLister struct {
	providers.Provider
	asked *atomic.Int32
}

func (c countedLister) ListModels(ctx context.Context, callerKey string) ([]providers.Model, error) {
	c.asked.Add(1)
	return c.Provider.(providers.ModelLister).ListModels(ctx, callerKey)
}
