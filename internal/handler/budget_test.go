package handler

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llmgateway/caddy-llm-gateway/internal/jwtauth"
	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
)

// A call of "metered" costs its completion tokens at $1 per million
// (its prompt is free): with max_tokens 100 and an upstream that uses
// all of them, the most it can cost and what it costs are both 100 µ$.
var meteredPrice = pricing.Price{Output: 1_000_000_000}

func meteredAnswer(completion int) string {
	return `{"id":"chatcmpl-1","object":"chat.completion","created":1735689600,"model":"m","choices":[{"index":0,"logprobs":null,"finish_reason":"length","message":{"role":"assistant","content":"x","refusal":null}}],` +
		`"usage":{"prompt_tokens":5,"completion_tokens":` + strconv.Itoa(completion) + `,"total_tokens":` + strconv.Itoa(5+completion) + `}}`
}

const meteredAsk = `{"model":"metered","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`

func budgetGateway(t *testing.T, upstreamURL string, auth Authenticator, budget *Budget) string {
	store := memoryStore()
	return gateway(t, Config{
		Auth:   auth,
		Routes: []Route{route("metered", Target{Provider: openAIProvider(t, "oai", upstreamURL)})},
		Prices: &pricing.Book{Models: map[string]pricing.Price{"metered": meteredPrice}},
		Limits: Limits{Budget: budget, Counter: store, Spender: store, CompletionReserve: 1024},
	}).URL
}

// keyFigures reads GET /api/v1/key with a key.
func keyFigures(t *testing.T, gw, key string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", gw+"/api/v1/key", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data map[string]any `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/key: %d %v", resp.StatusCode, err)
	}
	return out.Data
}

// TestBudgetIsNeverOverspent: 40 concurrent requests against a budget
// that holds exactly 10 of them: exactly 10 reach the upstream, all at
// once, the others are refused at once, and the spend is the budget.
func TestBudgetIsNeverOverspent(t *testing.T) {
	arrived := make(chan struct{}, 40)
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		_, _ = io.WriteString(w, meteredAnswer(100))
	})
	gw := budgetGateway(t, up.URL, nil, &Budget{Limit: 1_000_000, Period: Period{Calendar: Daily}}) // $0.001
	spentBefore := testutil.ToFloat64(costTotal.WithLabelValues("metered", "oai"))
	refusedBefore := testutil.ToFloat64(budgetExceededTotal)

	statuses := make(chan *http.Response, 40)
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			resp, err := http.Post(gw+"/v1/chat/completions", "application/json", strings.NewReader(meteredAsk))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp
		})
	}
	// The ten that fit are at the upstream together; the thirty others
	// were refused without waiting for them.
	for range 10 {
		<-arrived
	}
	for refused := 0; refused < 30; refused++ {
		var resp *http.Response
		select {
		case <-arrived:
			close(release)
			wg.Wait()
			t.Fatal("an eleventh call reached the upstream while ten were under way")
		case resp = <-statuses:
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("a request beyond the budget got %d while ten were under way", resp.StatusCode)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q, want whole seconds to the next day", resp.Header.Get("Retry-After"))
		}
	}
	close(release)
	wg.Wait()
	close(statuses)
	for resp := range statuses {
		if resp.StatusCode != http.StatusOK {
			t.Errorf("a request within the budget got %d", resp.StatusCode)
		}
	}
	if len(up.requests) != 10 {
		t.Errorf("the upstream got %d calls, want exactly 10", len(up.requests))
	}
	figures := keyFigures(t, gw, "")
	if figures["usage"] != 0.001 || figures["limit"] != 0.001 || figures["limit_remaining"] != 0.0 || figures["limit_reset"] != "daily" {
		t.Errorf("GET /api/v1/key = %v, want usage = limit = 0.001, nothing remaining", figures)
	}
	if got := testutil.ToFloat64(costTotal.WithLabelValues("metered", "oai")) - spentBefore; math.Abs(got-0.001) > 1e-12 {
		t.Errorf("cost metric grew by %v, want the budget, 0.001", got)
	}
	if got := testutil.ToFloat64(budgetExceededTotal) - refusedBefore; got != 30 {
		t.Errorf("llm_gateway_budget_exceeded_total grew by %v, want 30", got)
	}

	resp, body := postWith(t, gw+"/v1/chat/completions", meteredAsk, nil)
	var e struct {
		Error struct{ Type, Code, Message string }
	}
	_ = json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != http.StatusTooManyRequests || e.Error.Type != "insufficient_quota" || e.Error.Code != "budget_exceeded" ||
		!strings.Contains(e.Error.Message, "$0.001 of $0.001 per day") {
		t.Errorf("a spent budget answered %d %s", resp.StatusCode, body)
	}
}

// TestBudgetSettlesToWhatWasUsed: a call that used less than it could
// gives back the rest of its reservation; a stream cut before its usage
// is charged what it produced; a call that failed costs nothing.
func TestBudgetSettlesToWhatWasUsed(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		body := readAll(t, r.Body)
		switch {
		case strings.Contains(body, "fail"):
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}`)
		case strings.Contains(body, `"stream":true`):
			writeSSE(w, roleChunk, chunk("c", "a"), chunk("c", "b")) // and gone: no usage
		default:
			_, _ = io.WriteString(w, meteredAnswer(30))
		}
	})
	gw := budgetGateway(t, up.URL, nil, &Budget{Limit: 10_000_000, Period: Period{Every: time.Hour}})
	spent := func() float64 { return keyFigures(t, gw, "")["usage"].(float64) }

	if resp, _ := postWith(t, gw+"/v1/chat/completions", meteredAsk, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := spent(); got != 0.00003 {
		t.Errorf("after 30 of 100 tokens: spent %v, want 0.00003", got)
	}
	if resp, _ := postWith(t, gw+"/v1/chat/completions", strings.Replace(meteredAsk, "hi", "fail", 1), nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := spent(); got != 0.00003 {
		t.Errorf("after a failed call: spent %v, want it unchanged", got)
	}
	if resp, _ := postWith(t, gw+"/v1/chat/completions", strings.Replace(meteredAsk, `"max_tokens"`, `"stream":true,"max_tokens"`, 1), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Three chunks relayed at the output price; the prompt is free.
	if got := spent(); math.Abs(got-0.000033) > 1e-12 {
		t.Errorf("after a stream cut after three chunks: spent %v, want 0.000033", got)
	}
}

// TestGroupBudgetIsShared: two keys of a team spend one budget; a key
// outside the team is not held back by it, and each member's own budget
// still applies.
func TestGroupBudgetIsShared(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, meteredAnswer(100)) })
	team := &Group{Name: "team", Budget: &Budget{Limit: 300_000, Period: Period{Calendar: Monthly}}}
	auth := NewKeyAuth([]APIKey{
		{SHA256: sha256.Sum256([]byte("key-a")), Name: "a", Group: team},
		{SHA256: sha256.Sum256([]byte("key-b")), Name: "b", Group: team},
		{SHA256: sha256.Sum256([]byte("key-c")), Name: "c", Budget: &Budget{Limit: 100_000, Period: Period{Calendar: Weekly}}},
	})
	gw := budgetGateway(t, up.URL, auth, nil)
	ask := func(key string) int {
		resp, _ := postWith(t, gw+"/v1/chat/completions", meteredAsk, map[string]string{"Authorization": "Bearer " + key})
		return resp.StatusCode
	}
	for i, tc := range []struct {
		key  string
		want int
	}{
		{"key-a", 200}, {"key-b", 200}, {"key-a", 200}, // the team's three calls
		{"key-b", 429}, {"key-a", 429}, // for either member
		{"key-c", 200}, {"key-c", 429}, // c's own budget of one call
	} {
		if got := ask(tc.key); got != tc.want {
			t.Errorf("call %d by %s: %d, want %d", i+1, tc.key, got, tc.want)
		}
	}
	a := keyFigures(t, gw, "key-a")
	group, _ := a["group"].(map[string]any)
	if a["limit"] != nil || group["name"] != "team" || group["usage"] != 0.0003 || group["limit_remaining"] != 0.0 || group["limit_reset"] != "monthly" {
		t.Errorf("key a's figures = %v", a)
	}
	if c := keyFigures(t, gw, "key-c"); c["label"] != "c" || c["usage"] != 0.0001 || c["limit_reset"] != "weekly" || c["group"] != nil {
		t.Errorf("key c's figures = %v", c)
	}
}

func TestRequestThatCouldCostMoreThanTheBudget(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, meteredAnswer(1)) })
	gw := budgetGateway(t, up.URL, nil, &Budget{Limit: 50_000, Period: Period{Calendar: Daily}})
	resp, body := postWith(t, gw+"/v1/chat/completions", meteredAsk, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `could cost up to $0.0001, more than the whole budget of $0.00005 per day`) ||
		!strings.Contains(body, `"code":"budget_exceeded"`) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	if len(up.requests) != 0 {
		t.Error("the upstream was called")
	}
}

func TestPeriodBounds(t *testing.T) {
	at := time.Date(2026, 12, 9, 15, 4, 5, 0, time.UTC) // a Wednesday
	for _, tc := range []struct {
		period     Period
		start, end string
	}{
		{Period{Calendar: Daily}, "2026-12-09T00:00:00Z", "2026-12-10T00:00:00Z"},
		{Period{Calendar: Weekly}, "2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z"},
		{Period{Calendar: Monthly}, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{Period{Every: 6 * time.Hour}, "2026-12-09T12:00:00Z", "2026-12-09T18:00:00Z"},
	} {
		start, end := tc.period.bounds(at.In(time.FixedZone("UTC+9", 9*3600)))
		if start.Format(time.RFC3339) != tc.start || end.Format(time.RFC3339) != tc.end {
			t.Errorf("%s: %s – %s, want %s – %s", tc.period, start.Format(time.RFC3339), end.Format(time.RFC3339), tc.start, tc.end)
		}
	}
	sunday := time.Date(2026, 12, 13, 23, 0, 0, 0, time.UTC)
	if start, _ := (Period{Calendar: Weekly}).bounds(sunday); start.Format(time.DateOnly) != "2026-12-07" {
		t.Errorf("a Sunday's week starts %s, want the Monday before", start)
	}
	for in, want := range map[string]string{"daily": "day", "24h": "24h", "90m": "1h30m", "30s": "30s"} {
		p, err := ParsePeriod(in, time.ParseDuration)
		if err != nil || p.describe() != want {
			t.Errorf("ParsePeriod(%q).describe() = %q, %v; want %q", in, p.describe(), err, want)
		}
	}
	if _, err := ParsePeriod("yearly", time.ParseDuration); err == nil {
		t.Error("yearly was accepted")
	}
}

// TestJWTGroupClaim: identities whose tokens name the same group spend
// its budget together; a token naming a group the gateway does not know
// is refused.
func TestJWTGroupClaim(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	v, err := jwtauth.New(jwtauth.Config{Secret: secret, GroupClaim: "team"})
	if err != nil {
		t.Fatal(err)
	}
	token := func(sub, team string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "team": team, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, meteredAnswer(100)) })
	team := &Group{Name: "research", Budget: &Budget{Limit: 200_000, Period: Period{Calendar: Daily}}}
	gw := budgetGateway(t, up.URL, JWTAuth{Verifier: v, Groups: map[string]*Group{"research": team}}, nil)
	for i, tc := range []struct {
		sub, team string
		want      int
	}{
		{"alice", "research", 200}, {"bob", "research", 200}, {"alice", "research", 429},
		{"eve", "ghosts", 403},
	} {
		resp, body := postWith(t, gw+"/v1/chat/completions", meteredAsk, map[string]string{"Authorization": "Bearer " + token(tc.sub, tc.team)})
		if resp.StatusCode != tc.want {
			t.Errorf("call %d by %s of %s: %d %s, want %d", i+1, tc.sub, tc.team, resp.StatusCode, body, tc.want)
		}
		if tc.want == 403 && !strings.Contains(body, `"code":"unknown_group"`) {
			t.Errorf("unknown group: %s", body)
		}
	}
}
