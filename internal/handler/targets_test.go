package handler

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// modelUpstream answers by the upstream model the request names: "fail"
// with a 500, "limited" with a 429 and a Retry-After of a minute, any
// other with an answer. It counts the calls per model.
func modelUpstream(t *testing.T) (*upstream, map[string]*atomic.Int32) {
	calls := map[string]*atomic.Int32{"fail": {}, "limited": {}, "echo": {}}
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		body := readAll(t, r.Body)
		for model, n := range calls {
			if strings.Contains(body, `"model":"`+model+`"`) {
				n.Add(1)
			}
		}
		switch {
		case strings.Contains(body, `"model":"fail"`):
			errorStatus(w, http.StatusInternalServerError)
		case strings.Contains(body, `"model":"limited"`):
			w.Header().Set("Retry-After", "60")
			errorStatus(w, http.StatusTooManyRequests)
		default:
			answer(w, r)
		}
	})
	return up, calls
}

func targetIn(p providerStatus, model string) targetStatus {
	for _, t := range p.Targets {
		if t.Model == model {
			return t
		}
	}
	return targetStatus{}
}

// One model failing or rate-limited pauses that model only: the
// provider's other model keeps answering, and /health says which.
func TestOneModelsOutageLeavesTheProvidersOthers(t *testing.T) {
	up, calls := modelUpstream(t)
	p := openAIProvider(t, "shared", up.URL)
	gw := gateway(t, Config{FailThreshold: 3, Cooldown: time.Hour, Routes: []Route{
		route("bad", Target{Provider: p, Model: "fail"}),
		route("busy", Target{Provider: p, Model: "limited"}),
		route("good", Target{Provider: p, Model: "echo"}),
	}})
	for range 8 {
		post(t, gw.URL+"/v1/chat/completions", `{"model":"bad","messages":[]}`)
		post(t, gw.URL+"/v1/chat/completions", `{"model":"busy","messages":[]}`)
	}
	// Before the other model is asked: a success of its own would close a
	// provider-wide circuit and hide one.
	if _, h := healthOf(t, gw.URL); providerIn(h, "shared").Status != statusUp {
		t.Errorf("one model's failures took the provider down: %+v", providerIn(h, "shared"))
	}
	for _, body := range []string{`{"model":"good","messages":[]}`, `{"model":"good","stream":true,"messages":[]}`} {
		if resp := post(t, gw.URL+"/v1/chat/completions", body); resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", body, resp.StatusCode)
		}
	}
	// The first two requests call twice (max_attempts is the targets + 1),
	// the third's first failure opens the circuit, the other five are
	// early trials, one call each. The 429 came once: the pause keeps the
	// target out for its Retry-After, and is no failure.
	if n := calls["fail"].Load(); n != 10 {
		t.Errorf("the failing model was called %d times", n)
	}
	if n := calls["limited"].Load(); n != 1 {
		t.Errorf("the rate-limited model was called %d times during its Retry-After", n)
	}
	resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"busy","messages":[]}`)
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 429 || ra < 58 || ra > 60 {
		t.Errorf("a paused model: status %d, Retry-After %d", resp.StatusCode, ra)
	}
	status, h := healthOf(t, gw.URL)
	pst := providerIn(h, "shared")
	if status != 200 || h.Status != "degraded" || pst.Status != statusUp {
		t.Errorf("/health %d %s, provider %+v", status, h.Status, pst)
	}
	if ts := targetIn(pst, "fail"); ts.Status != statusDown || ts.OpenUntil == nil {
		t.Errorf("failing target: %+v", ts)
	}
	if ts := targetIn(pst, "limited"); ts.Status != statusPaused || ts.PausedUntil == nil || ts.ConsecutiveFailures != 0 {
		t.Errorf("rate-limited target: %+v", ts)
	}
	if ts := targetIn(pst, "echo"); ts.Status != statusUp || ts.ConsecutiveFailures != 0 {
		t.Errorf("good target: %+v", ts)
	}
}

// A provider that cannot be reached at all is down as a whole: failures
// to connect count on its own circuit, whatever model they were for.
func TestUnreachableProviderIsDownForEveryModel(t *testing.T) {
	p := openAIProvider(t, "gone", "http://127.0.0.1:1")
	gw := gateway(t, Config{FailThreshold: 2, Cooldown: time.Hour, Routes: []Route{
		route("a", Target{Provider: p, Model: "a"}),
		route("b", Target{Provider: p, Model: "b"}),
	}})
	for range 2 {
		if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"a","messages":[]}`); resp.StatusCode != 502 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	_, h := healthOf(t, gw.URL)
	if pst := providerIn(h, "gone"); pst.Status != statusDown || targetIn(pst, "b").Status != statusUp {
		t.Errorf("provider %+v", pst)
	}
}

// A 429 pauses its target only when it says when to come back (its
// Retry-After, or OpenAI's x-ratelimit-reset-* for a limit it used up),
// and never with circuit breaking off; it is no failure either way.
func TestRateLimitPausesOnlyWithAWaitAndBreakingOn(t *testing.T) {
	for _, tc := range []struct {
		name        string
		header      map[string]string
		threshold   int
		wantUpCalls int32
	}{
		{"no Retry-After", nil, 3, 3},
		{"breaking off", map[string]string{"Retry-After": "60"}, 0, 3},
		{"Retry-After and breaking on", map[string]string{"Retry-After": "60"}, 3, 1},
		{"x-ratelimit-reset and breaking on", map[string]string{"X-Ratelimit-Remaining-Requests": "0", "X-Ratelimit-Reset-Requests": "1m0s"}, 3, 1},
	} {
		var calls atomic.Int32
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			for k, v := range tc.header {
				w.Header().Set(k, v)
			}
			errorStatus(w, http.StatusTooManyRequests)
		})
		gw := gateway(t, Config{FailThreshold: tc.threshold, Cooldown: time.Hour, MaxAttempts: 1, Routes: []Route{
			route("m", Target{Provider: openAIProvider(t, "limits-"+strconv.Itoa(tc.threshold), up.URL), Model: "x"})}})
		for range 3 {
			if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`); resp.StatusCode != 429 {
				t.Fatalf("%s: status %d", tc.name, resp.StatusCode)
			}
		}
		if n := calls.Load(); n != tc.wantUpCalls {
			t.Errorf("%s: the upstream got %d of 3 requests, want %d", tc.name, n, tc.wantUpCalls)
		}
		_, h := healthOf(t, gw.URL)
		pst := providerIn(h, "limits-"+strconv.Itoa(tc.threshold))
		if ts := targetIn(pst, "x"); ts.ConsecutiveFailures != 0 || pst.Status != statusUp || (ts.Status == statusPaused) != (tc.wantUpCalls == 1) {
			t.Errorf("%s: a 429 counted as a failure, or paused wrongly: %+v", tc.name, pst)
		}
	}
}

// A successful probe proves only that the provider answers: it closes the
// provider's own circuit, never a target's that calls to its model opened.
func TestProbeSuccessLeavesAFailingTargetOpen(t *testing.T) {
	var probes atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/v1/models":
			probes.Add(1)
			_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"fail","object":"model","created":1,"owned_by":"o"}]}`)
		case strings.Contains(string(body), `"model":"fail"`):
			errorStatus(w, http.StatusInternalServerError)
		default:
			answer(w, r)
		}
	}))
	t.Cleanup(up.Close)
	p := openAIProvider(t, "probed-models", up.URL)
	gw := gateway(t, Config{FailThreshold: 2, Cooldown: time.Hour, ProbeInterval: 5 * time.Millisecond, Routes: []Route{
		route("bad", Target{Provider: p, Model: "fail"}),
		route("good", Target{Provider: p, Model: "echo"}),
	}})
	for range 2 {
		if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"bad","messages":[]}`); resp.StatusCode != 500 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	seen := probes.Load()
	eventually(t, "three more probes answered", func() bool { return probes.Load() >= seen+3 })
	_, h := healthOf(t, gw.URL)
	pst := providerIn(h, "probed-models")
	if pst.Status != statusUp || pst.ConsecutiveFailures != 2 {
		t.Errorf("provider %+v", pst)
	}
	if ts := targetIn(pst, "fail"); ts.Status != statusDown || ts.OpenUntil == nil {
		t.Errorf("the probes closed the failing target: %+v", ts)
	}
	if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"good","messages":[]}`); resp.StatusCode != 200 {
		t.Errorf("the provider's other model: status %d", resp.StatusCode)
	}
}

// namedModelsUpstream answers as a provider serving any model but
// refuses names starting with "typo" with 404, and fails "fail" with 500.
func namedModelsUpstream(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(body), `"model":"typo`):
			errorStatus(w, http.StatusNotFound)
		case strings.Contains(string(body), `"model":"fail"`):
			errorStatus(w, http.StatusInternalServerError)
		default:
			answer(w, r)
		}
	}))
	t.Cleanup(up.Close)
	return up
}

func targetModels(p providerStatus) []string {
	var names []string
	for _, t := range p.Targets {
		names = append(names, t.Model)
	}
	return names
}

// Names clients send through `model *` get circuits of their own up to
// maxTrackedModels per provider; the names past it share one.
func TestClientModelNamesAreBounded(t *testing.T) {
	up := namedModelsUpstream(t)
	gw := gateway(t, Config{FailThreshold: 3, Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "any-model", up.URL)})}})
	for i := range maxTrackedModels + 20 {
		if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m`+strconv.Itoa(i)+`","messages":[]}`); resp.StatusCode != 200 {
			t.Fatalf("model %d: status %d", i, resp.StatusCode)
		}
	}
	_, h := healthOf(t, gw.URL)
	names := targetModels(providerIn(h, "any-model"))
	if len(names) != maxTrackedModels+1 || names[0] != "m0" || names[maxTrackedModels] != otherModels {
		t.Errorf("/health lists %d targets: %v … %v", len(names), names[:min(2, len(names))], names[max(0, len(names)-2):])
	}
}

// A name the upstream refuses says nothing of any model's health: it gets
// no circuit, shows nowhere and uses none of the provider's bound, so a
// flood of typos leaves real models their circuits of their own.
func TestRefusedClientModelNamesGetNoCircuit(t *testing.T) {
	up := namedModelsUpstream(t)
	gw := gateway(t, Config{FailThreshold: 2, Cooldown: time.Hour, Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "typos", up.URL)})}})
	for i := range maxTrackedModels + 20 {
		if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"typo`+strconv.Itoa(i)+`","messages":[]}`); resp.StatusCode != 404 {
			t.Fatalf("typo %d: status %d", i, resp.StatusCode)
		}
	}
	for range 2 {
		if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"fail","messages":[]}`); resp.StatusCode != 500 {
			t.Fatalf("fail: status %d", resp.StatusCode)
		}
	}
	if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"echo","messages":[]}`); resp.StatusCode != 200 {
		t.Fatalf("echo: status %d", resp.StatusCode)
	}
	_, h := healthOf(t, gw.URL)
	pst := providerIn(h, "typos")
	if names := targetModels(pst); strings.Join(names, " ") != "fail echo" {
		t.Errorf("/health lists the targets %v, want fail and echo", names)
	}
	if targetIn(pst, "fail").Status != statusDown || targetIn(pst, "echo").Status != statusUp || pst.Status != statusUp {
		t.Errorf("provider %+v", pst)
	}
}
