package handler

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func newCircuit(threshold int, cooldown time.Duration) *circuit {
	return &circuit{breaker: &breaker{threshold: threshold, cooldown: cooldown, lease: time.Minute}}
}

// wait is how long c says to wait at now.
func wait(c *circuit, now time.Time) time.Duration {
	w, _ := c.readyIn(now)
	return w
}

func TestCircuitOpensSkipsAndTakesOneTrial(t *testing.T) {
	s := newCircuit(3, 10*time.Second)
	t0 := time.Now()
	for i := range 2 {
		if s.failed(t0, true) {
			t.Fatalf("failure %d opened the circuit", i+1)
		}
	}
	if s.failed(t0, false) {
		t.Fatal("a second failure within one request counted")
	}
	if _, ok := s.admit(t0, false); !ok {
		t.Fatal("refused below the threshold")
	}
	if !s.failed(t0, true) {
		t.Fatal("the third failure did not open the circuit")
	}
	if _, ok := s.admit(t0.Add(10*time.Second-time.Nanosecond), false); ok {
		t.Fatal("admitted during the cooldown")
	}
	if got := wait(s, t0.Add(4*time.Second)); got != 6*time.Second {
		t.Errorf("ready in %v, want 6s", got)
	}
	// A late failure of a call made before it opened changes nothing.
	if s.failed(t0.Add(time.Second), true) || wait(s, t0) != 10*time.Second {
		t.Error("a failure while open extended the cooldown")
	}

	half := t0.Add(10 * time.Second)
	if st, _ := s.status(half); st.Status != statusHalfOpen || st.OpenUntil != nil {
		t.Errorf("after the cooldown: %+v", st)
	}
	lease, ok := s.admit(half, false)
	if !ok || lease == 0 {
		t.Fatal("the trial was refused")
	}
	if _, ok := s.admit(half, false); ok {
		t.Fatal("a second request was admitted during the trial")
	}
	if got := wait(s, half); got != trialRetryAfter {
		t.Errorf("during the trial, ready in %v", got)
	}
	// The trial fails: open again for a whole cooldown.
	if !s.failed(half.Add(time.Second), true) {
		t.Fatal("the failed trial did not re-open the circuit")
	}
	s.endTrial(lease)
	if _, ok := s.admit(half.Add(10*time.Second), false); ok {
		t.Fatal("admitted before the second cooldown ended")
	}
	if st, _ := s.status(half.Add(2 * time.Second)); st.Status != statusDown || st.OpenUntil == nil || !st.OpenUntil.Equal(half.Add(11*time.Second).UTC()) {
		t.Errorf("re-opened: %+v", st)
	}

	// The next trial succeeds: closed, everyone admitted without a lease.
	lease, ok = s.admit(half.Add(11*time.Second), false)
	if !ok || lease == 0 {
		t.Fatal("the second trial was refused")
	}
	if !s.succeeded(half.Add(12 * time.Second)) {
		t.Fatal("the trial's success did not close the circuit")
	}
	s.endTrial(lease)
	for range 3 {
		if lease, ok := s.admit(half.Add(12*time.Second), false); !ok || lease != 0 {
			t.Fatalf("closed circuit: lease %d, admitted %v", lease, ok)
		}
	}
	if st, _ := s.status(half.Add(12 * time.Second)); st.Status != statusUp || st.ConsecutiveFailures != 0 {
		t.Errorf("closed: %+v", st)
	}
}

func TestTrialLeaseExpires(t *testing.T) {
	s := newCircuit(1, time.Second)
	t0 := time.Now()
	s.failed(t0, true)
	half := t0.Add(time.Second)
	first, ok := s.admit(half, false)
	if !ok {
		t.Fatal("the trial was refused")
	}
	// Its request never reports back.
	if _, ok := s.admit(half.Add(s.breaker.lease-time.Nanosecond), false); ok {
		t.Fatal("a second trial before the lease ended")
	}
	second, ok := s.admit(half.Add(s.breaker.lease), false)
	if !ok || second == first {
		t.Fatal("the expired lease still holds the trial")
	}
	// The first trial's late end does not free the second's slot.
	s.endTrial(first)
	if _, ok := s.admit(half.Add(s.breaker.lease), false); ok {
		t.Fatal("an old lease freed the current trial")
	}
	// A trial that ends without an outcome frees its slot at once.
	s.endTrial(second)
	if _, ok := s.admit(half.Add(s.breaker.lease), false); !ok {
		t.Fatal("the slot stayed taken after its trial ended")
	}
}

func TestCircuitBreakingOff(t *testing.T) {
	s := newCircuit(0, time.Second)
	t0 := time.Now()
	for range 10 {
		if s.failed(t0, true) {
			t.Fatal("opened with breaking off")
		}
	}
	if _, ok := s.admit(t0, false); !ok {
		t.Fatal("refused with breaking off")
	}
	if st, _ := s.status(t0); st.Status != statusDown || st.OpenUntil != nil {
		t.Errorf("with breaking off, /health still reports the failures: %+v", st)
	}
}

func TestBusyRefusalIsNotAFailure(t *testing.T) {
	b := newHealthBook(breaker{threshold: 1, cooldown: time.Minute}, zap.NewNop())
	_, s := b.track(openAIProvider(t, "p", "http://127.0.0.1:1"))
	busy := providers.NewError(http.StatusServiceUnavailable, providers.CodeBusy, "too many calls in flight")
	for range 3 {
		b.recordCall(withFailureScope(context.Background()), s.target("m"), busy)
	}
	if st := s.status(time.Now()); st.Status != statusUp || st.ConsecutiveFailures != 0 {
		t.Errorf("after busy refusals: %+v", st)
	}
	b.recordCall(withFailureScope(context.Background()), s.target("m"), providers.NewError(http.StatusServiceUnavailable, "", "overloaded"))
	if st := s.status(time.Now()); st.Status != statusDown {
		t.Errorf("after a real 503: %+v", st)
	}
}

// counting is an OpenAI-speaking fake that counts its calls and fails
// them while failing is set.
type counting struct {
	*upstream
	calls   atomic.Int32
	failing atomic.Bool
}

func newCounting(t *testing.T, failing bool) *counting {
	c := &counting{}
	c.failing.Store(failing)
	c.upstream = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		c.calls.Add(1)
		if c.failing.Load() {
			errorStatus(w, http.StatusInternalServerError)
			return
		}
		answer(w, r)
	})
	return c
}

func TestOpenCircuitIsSkipped(t *testing.T) {
	bad, good := newCounting(t, true), newCounting(t, false)
	gw := gateway(t, Config{FailThreshold: 2, Cooldown: time.Hour, Routes: []Route{route("m",
		Target{Provider: openAIProvider(t, "skip-bad", bad.URL)}, Target{Provider: openAIProvider(t, "skip-good", good.URL)})}})
	skipped := testutil.ToFloat64(upstreamSkipped.WithLabelValues("skip-bad"))
	for i := range 5 {
		if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	if bad.calls.Load() != 2 || good.calls.Load() != 5 {
		t.Errorf("calls: bad %d (want 2, then open), good %d", bad.calls.Load(), good.calls.Load())
	}
	if d := testutil.ToFloat64(upstreamSkipped.WithLabelValues("skip-bad")) - skipped; d != 3 {
		t.Errorf("skips counted: %v, want 3", d)
	}
	status, h := healthOf(t, gw.URL)
	p := providerIn(h, "skip-bad")
	if status != 200 || h.Status != "degraded" || p.Status != statusDown || p.OpenUntil == nil || time.Until(*p.OpenUntil) < 50*time.Minute {
		t.Errorf("/health %d: %s, %+v", status, h.Status, p)
	}
}

// A route whose every target is open does not wait out the cooldown: the
// target back first takes one request at a time as an early trial, the
// others get 503 no_healthy_target with Retry-After 1, and the first
// trial that succeeds closes the circuit.
func TestAllTargetsOpenGiveOneEarlyTrialAtATime(t *testing.T) {
	var mode atomic.Int32 // 0 fail, 1 hold then answer, 2 answer
	var calls atomic.Int32
	held, release := make(chan struct{}), make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch mode.Load() {
		case 0:
			errorStatus(w, http.StatusInternalServerError)
			return
		case 1:
			held <- struct{}{}
			<-release
		}
		answer(w, r)
	})
	gw := gateway(t, Config{FailThreshold: 1, Cooldown: time.Hour, Routes: []Route{route("m",
		Target{Provider: openAIProvider(t, "open-only", up.URL)})}})
	for i := range 2 {
		// The first failure opens the circuit; the second is an early
		// trial, which fails and restarts the cooldown.
		if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`); resp.StatusCode != 500 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls: a failure was retried on the open target", n)
	}
	if status, h := healthOf(t, gw.URL); status != 503 || h.Status != "unhealthy" || providerIn(h, "open-only").Status != statusDown {
		t.Errorf("/health %d %s", status, h.Status)
	}

	mode.Store(1)
	trial := postAside(gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	<-held
	for _, body := range []string{`{"model":"m","messages":[]}`, `{"model":"m","stream":true,"messages":[]}`} {
		resp := post(t, gw.URL+"/v1/chat/completions", body)
		got := readAll(t, resp.Body)
		var e struct{ Error struct{ Code *string } }
		if err := json.Unmarshal([]byte(got), &e); err != nil || resp.StatusCode != 503 || e.Error.Code == nil || *e.Error.Code != "no_healthy_target" {
			t.Fatalf("during the trial: status %d: %s", resp.StatusCode, got)
		}
		if ra := resp.Header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q during a trial, want 1", ra)
		}
	}
	// The native API answers the same refusal in its own shape.
	resp, body := postWith(t, gw.URL+"/api/v1/generate", `{"model":"m","prompt":"hi"}`, nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"code":"`) {
		t.Errorf("native: %d %s", resp.StatusCode, body)
	}
	close(release)
	if status := <-trial; status != 200 {
		t.Fatalf("trial status %d", status)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls: requests refused during the trial reached the upstream", n)
	}
	mode.Store(2)
	if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`); resp.StatusCode != 200 {
		t.Errorf("after the trial closed the circuit: status %d", resp.StatusCode)
	}
	if status, h := healthOf(t, gw.URL); status != 200 || h.Status != "healthy" {
		t.Errorf("/health after recovery: %d %s", status, h.Status)
	}
}

func TestHalfOpenAdmitsOneTrial(t *testing.T) {
	trialHeld := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	var held sync.Once
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			errorStatus(w, http.StatusBadGateway)
			return
		}
		held.Do(func() { close(trialHeld) })
		<-release
		answer(w, r)
	})
	gw := gateway(t, Config{FailThreshold: 1, Cooldown: 100 * time.Millisecond, Routes: []Route{route("m",
		Target{Provider: openAIProvider(t, "trial", up.URL)})}})
	if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`); resp.StatusCode != 502 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	eventually(t, "half-open", func() bool {
		_, h := healthOf(t, gw.URL)
		return providerIn(h, "trial").Status == statusHalfOpen
	})

	trial := postAside(gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	<-trialHeld
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			resp, err := http.Post(gw.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[]}`))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
				t.Errorf("during the trial: status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		})
	}
	wg.Wait()
	close(release)
	if status := <-trial; status != 200 {
		t.Fatalf("trial status %d", status)
	}
	if _, h := healthOf(t, gw.URL); providerIn(h, "trial").Status != statusUp {
		t.Errorf("after the trial's success: %+v", providerIn(h, "trial"))
	}
	if calls.Load() != 2 {
		t.Errorf("%d calls, want the failure and the trial", calls.Load())
	}
}

func TestTrialWithoutOutcomeFreesTheSlot(t *testing.T) {
	var calls atomic.Int32
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			errorStatus(w, http.StatusServiceUnavailable)
		case 2:
			errorStatus(w, http.StatusBadRequest) // the client's fault: no verdict
		default:
			answer(w, r)
		}
	})
	gw := gateway(t, Config{FailThreshold: 1, Cooldown: 50 * time.Millisecond, Routes: []Route{route("m",
		Target{Provider: openAIProvider(t, "verdictless", up.URL)})}})
	post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`)
	eventually(t, "half-open", func() bool {
		_, h := healthOf(t, gw.URL)
		return providerIn(h, "verdictless").Status == statusHalfOpen
	})
	if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`); resp.StatusCode != 400 {
		t.Fatalf("trial: status %d", resp.StatusCode)
	}
	// No lease is left behind: the next request is the trial at once.
	if resp := post(t, gw.URL+"/v1/chat/completions", `{"model":"m","messages":[]}`); resp.StatusCode != 200 {
		t.Fatalf("next trial: status %d", resp.StatusCode)
	}
	if _, h := healthOf(t, gw.URL); providerIn(h, "verdictless").Status != statusUp {
		t.Errorf("after the success: %+v", providerIn(h, "verdictless"))
	}
}

// postAside posts body to url in a goroutine of its own and sends the
// answer's status, 0 when there was none.
func postAside(url, body string) <-chan int {
	status := make(chan int, 1)
	go func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	return status
}
