package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// routeBlock is a gateway whose model m is served by the upstreams, named
// up1, up2, ... in order; modelBlock, when given, is the model line's
// block.
func routeBlock(modelBlock, options string, upstreams ...*scriptedUpstream) string {
	urls := make([]string, len(upstreams))
	for i, u := range upstreams {
		urls[i] = u.URL
	}
	return routeBlockAt(modelBlock, options, urls...)
}

// routeBlockAt is routeBlock over the upstreams at the given base URLs.
func routeBlockAt(modelBlock, options string, upstreamURLs ...string) string {
	var b strings.Builder
	targets := ""
	for i, url := range upstreamURLs {
		name := "up" + strconv.Itoa(i+1)
		b.WriteString("\t\tprovider " + name + " openai {\n\t\t\tbase_url " + url + "/v1\n\t\t}\n")
		targets += " " + name
	}
	b.WriteString("\t\tmodel m" + targets)
	if modelBlock != "" {
		b.WriteString(" {\n" + modelBlock + "\t\t}")
	}
	b.WriteString("\n" + options)
	return b.String()
}

// metricValue reads one series, written as in the exposition format
// (labels in alphabetical order), from Caddy's metrics endpoint; 0 when
// it is not there.
func metricValue(t *testing.T, series string) float64 {
	t.Helper()
	c := freshHTTP()
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://localhost:2999/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// providerHealth is one provider's entry in GET /health.
type providerHealth struct {
	Name      string     `json:"name"`
	Status    string     `json:"status"`
	OpenUntil *time.Time `json:"open_until"`
}

// healthOf returns the overall status of GET /health and the entry of
// provider.
func healthOf(t *testing.T, provider string) (string, providerHealth) {
	t.Helper()
	resp, err := freshHTTP().Get(gatewayURL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		Status    string           `json:"status"`
		Providers []providerHealth `json:"providers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	for _, p := range h.Providers {
		if p.Name == provider {
			return h.Status, p
		}
	}
	t.Fatalf("/health does not list %s", provider)
	return "", providerHealth{}
}

// awaitStatus polls /health until provider has status: a cooldown ends by
// the clock, so there is no event to wait on.
func awaitStatus(t *testing.T, provider, status string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, p := healthOf(t, provider); p.Status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not %s after 15s", provider, status)
		}
		<-tick.C
	}
}

func okUpstream(t *testing.T) *scriptedUpstream {
	return newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) { serveOK(w, r) })
}

// spread sends n requests for m, streamed and not in turn, and fails the
// test unless every one is answered.
func spread(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
		if i%2 == 1 {
			body = `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`
		}
		if status, got := chatPost(t, body); status != 200 || !strings.Contains(got, "chatcmpl-") {
			t.Fatalf("request %d: status %d: %s", i, status, got)
		}
	}
}

func TestRoundRobinSpreadsEvenly(t *testing.T) {
	a, b := okUpstream(t), okUpstream(t)
	startGateway(t, routeBlock("", "\t\tlb round_robin\n", a, b))
	spread(t, 100)
	if len(a.arrivals()) != 50 || len(b.arrivals()) != 50 {
		t.Errorf("calls: %d and %d, want 50 and 50", len(a.arrivals()), len(b.arrivals()))
	}
}

func TestWeightedSpreadsByWeight(t *testing.T) {
	a, b := okUpstream(t), okUpstream(t)
	startGateway(t, routeBlock("\t\t\tlb weighted\n\t\t\tweight up1 3\n", "", a, b))
	spread(t, 100)
	if len(a.arrivals()) != 75 || len(b.arrivals()) != 25 {
		t.Errorf("calls: %d and %d, want 75 and 25", len(a.arrivals()), len(b.arrivals()))
	}
}

func TestCircuitOpensSkipsAndRecoversThroughCaddy(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	flaky := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			serveStatus(w, http.StatusInternalServerError)
			return
		}
		serveOK(w, r)
	})
	steady := okUpstream(t)
	startGateway(t, routeBlock("", "\t\tfail_threshold 2\n\t\tcooldown 2s\n", flaky, steady))
	chat := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	skipped0 := metricValue(t, `llm_gateway_upstream_skipped_total{provider="up1"}`)

	for range 2 {
		if status, body := chatPost(t, chat); status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	overall, p := healthOf(t, "up1")
	if overall != "degraded" || p.Status != "down" || p.OpenUntil == nil {
		t.Fatalf("after 2 failures: %s, %+v", overall, p)
	}
	if up1, up2 := metricValue(t, `llm_gateway_provider_up{provider="up1"}`), metricValue(t, `llm_gateway_provider_up{provider="up2"}`); up1 != 0 || up2 != 1 {
		t.Errorf("provider_up: up1 %v, up2 %v", up1, up2)
	}

	// During the cooldown up1 is not called. Only requests answered
	// before it ended prove that.
	checked := 0
	for range 5 {
		if status, body := chatPost(t, chat); status != 200 {
			t.Fatalf("during the cooldown: status %d: %s", status, body)
		}
		if !time.Now().Before(*p.OpenUntil) {
			break
		}
		checked++
		if n := len(flaky.arrivals()); n != 2 {
			t.Fatalf("up1 got %d calls during its cooldown", n)
		}
	}
	if checked == 0 {
		t.Fatal("no request was answered within the 2s cooldown")
	}
	if d := metricValue(t, `llm_gateway_upstream_skipped_total{provider="up1"}`) - skipped0; d < float64(checked) {
		t.Errorf("skips counted: %v, want at least %d", d, checked)
	}

	// Half-open: of five requests at once, exactly one tries up1; it
	// fails, so up1 is open again and the five are served by up2.
	awaitStatus(t, "up1", "half_open")
	calls := len(flaky.arrivals())
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if status, body := chatPost(t, chat); status != 200 {
				t.Errorf("half-open: status %d: %s", status, body)
			}
		})
	}
	wg.Wait()
	if n := len(flaky.arrivals()) - calls; n != 1 {
		t.Errorf("up1 got %d trial calls, want 1", n)
	}
	if _, p := healthOf(t, "up1"); p.Status != "down" {
		t.Errorf("after a failed trial: %+v", p)
	}

	// up1 recovers: the next trial closes its circuit.
	failing.Store(false)
	awaitStatus(t, "up1", "half_open")
	calls = len(flaky.arrivals())
	if status, body := chatPost(t, chat); status != 200 || len(flaky.arrivals()) != calls+1 {
		t.Fatalf("trial: status %d, up1 calls %d: %s", status, len(flaky.arrivals())-calls, body)
	}
	if overall, p := healthOf(t, "up1"); overall != "healthy" || p.Status != "up" || p.OpenUntil != nil {
		t.Errorf("after a successful trial: %s, %+v", overall, p)
	}
	if v := metricValue(t, `llm_gateway_provider_up{provider="up1"}`); v != 1 {
		t.Errorf("provider_up{up1} = %v after recovery", v)
	}
}

// A route whose only target failed until its circuit opened does not wait
// out the cooldown: the next request is an early trial, and the first
// that succeeds closes the circuit.
func TestSingleTargetRouteRecoversThroughCaddy(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	flaky := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			serveStatus(w, http.StatusBadGateway)
			return
		}
		serveOK(w, r)
	})
	startGateway(t, routeBlock("", "\t\tfail_threshold 3\n\t\tcooldown 1h\n\t\tmax_attempts 1\n", flaky))
	for i := range 3 {
		if status, _ := chatPost(t, `{"model":"m","messages":[]}`); status != 502 {
			t.Fatalf("request %d: status %d", i, status)
		}
	}
	if overall, p := healthOf(t, "up1"); overall != "unhealthy" || p.Status != "down" {
		t.Fatalf("after three failures: %s, %+v", overall, p)
	}
	failing.Store(false)
	if status, body := chatPost(t, `{"model":"m","messages":[]}`); status != 200 {
		t.Fatalf("the upstream is back, the hour-long cooldown is not over: status %d: %s", status, body)
	}
	if n := len(flaky.arrivals()); n != 4 {
		t.Errorf("the upstream got %d calls, want 4", n)
	}
	if overall, p := healthOf(t, "up1"); overall != "healthy" || p.Status != "up" {
		t.Errorf("after the early trial: %s, %+v", overall, p)
	}
}

func TestProbesThroughCaddy(t *testing.T) {
	var modelsFail atomic.Bool
	modelsFail.Store(true)
	up := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" && !modelsFail.Load() {
			_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"m","object":"model","created":1,"owned_by":"o"}]}`)
			return
		}
		serveStatus(w, http.StatusServiceUnavailable)
	})
	// A cooldown of an hour: only the probes can close the circuit here,
	// and only they can open it, as no request is made.
	startGateway(t, routeBlock("", "\t\tfail_threshold 2\n\t\tcooldown 1h\n\t\tprobe_interval 50ms\n", up))
	awaitStatus(t, "up1", "down")
	modelsFail.Store(false)
	awaitStatus(t, "up1", "up")
	if status, body := chatPost(t, `{"model":"m","messages":[]}`); status != 503 || !strings.Contains(body, "scripted failure") {
		t.Errorf("a closed circuit lets requests through to the upstream: status %d: %s", status, body)
	}
}
