package llmgateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const standInKey = "sk-check-secret-1234567890"

// standIn is a gateway stand-in that answers like llm_gateway with auth
// keys and the mock provider. health: the /health status to answer with (0:
// none, as when the site has no such endpoint). modelStar: accept every
// model name. quoteKey: put the key into error messages, which the report
// must still not show. cutShort: end streams before data: [DONE].
type standIn struct {
	health    int
	modelStar bool
	quoteKey  bool
	cutShort  bool
}

func (s standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/health" {
		if s.health == 0 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.health)
		fmt.Fprint(w, `{"status":"healthy"}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+standInKey {
		msg := "Incorrect API key provided."
		if s.quoteKey {
			msg += " You sent " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"message":%q,"type":"authentication_error","param":null,"code":"invalid_api_key"}}`, msg)
		return
	}
	switch r.URL.Path {
	case "/v1/models":
		fmt.Fprint(w, `{"object":"list","data":[{"id":"mock","object":"model","created":1,"owned_by":"mock"}]}`)
	case "/v1/chat/completions":
		b, _ := io.ReadAll(r.Body)
		req := string(b)
		if !strings.Contains(req, `"model":"mock"`) && !s.modelStar {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"message":"The model does not exist.","type":"invalid_request_error","param":"model","code":"model_not_found"}}`)
			return
		}
		w.Header().Set("X-RateLimit-Limit", "60")
		w.Header().Set("X-RateLimit-Remaining", "59")
		if !strings.Contains(req, `"stream":true`) {
			fmt.Fprint(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"mock","choices":[{"index":0,"message":{"role":"assistant","content":"Yes, it is up.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, word := range []string{"Yes, ", "it ", "is ", "up."} {
			fmt.Fprintf(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", word)
			w.(http.Flusher).Flush()
			time.Sleep(2 * time.Millisecond)
		}
		if !s.cutShort { // a stream that ends before [DONE]
			fmt.Fprint(w, "data: [DONE]\n\n")
		}
	default:
		http.NotFound(w, r)
	}
}

func runAgainst(t *testing.T, s standIn, opts checkOptions) (checkReport, string) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	if opts.URL == "" {
		opts.URL = srv.URL
	}
	opts.URL = strings.ReplaceAll(opts.URL, "SERVER", srv.URL)
	out := new(strings.Builder)
	report, err := runCheck(context.Background(), out, opts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), standInKey) {
		t.Errorf("the report shows the key:\n%s", out)
	}
	return report, out.String()
}

func statuses(r checkReport) map[string]checkStatus {
	m := map[string]checkStatus{}
	for _, x := range r.Results {
		m[x.Name] = x.Status
	}
	return m
}

func TestCheckPasses(t *testing.T) {
	report, out := runAgainst(t, standIn{health: 200}, checkOptions{URL: "SERVER/v1/", Key: standInKey, KeySource: "--key"})
	if report.Failed != 0 {
		t.Fatalf("failed checks:\n%s", out)
	}
	want := map[string]checkStatus{"health": checkPass, "models": checkPass, "chat": checkPass, "stream": checkPass, "unknown model": checkPass}
	if got := statuses(report); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses = %v, want %v\n%s", got, want, out)
	}
	for _, s := range []string{"(key: --key)", "1 models: mock", `"Yes, it is up."`, "13 tokens", "rate limit 59 of 60 left",
		"4 chunks, first after", "HTTP 404 model_not_found", "5 passed, 0 skipped, 0 failed"} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "/v1/v1") {
		t.Errorf("the /v1 suffix was not trimmed:\n%s", out)
	}
}

func TestCheckToleratesMissingHealth(t *testing.T) {
	report, out := runAgainst(t, standIn{}, checkOptions{Key: standInKey})
	if report.Failed != 0 || statuses(report)["health"] != checkSkip {
		t.Fatalf("a missing /health must be skipped, not failed:\n%s", out)
	}
	if !strings.Contains(out, "no /health endpoint") {
		t.Errorf("report:\n%s", out)
	}
}

func TestCheckFailures(t *testing.T) {
	t.Run("unhealthy", func(t *testing.T) {
		report, out := runAgainst(t, standIn{health: 503}, checkOptions{Key: standInKey})
		if statuses(report)["health"] != checkFail || report.Failed != 1 {
			t.Errorf("a 503 /health must fail:\n%s", out)
		}
	})
	t.Run("wrong key, never shown", func(t *testing.T) {
		const wrong = "sk-wrong-key-abcdef"
		report, out := runAgainst(t, standIn{health: 200, quoteKey: true}, checkOptions{Key: wrong})
		if statuses(report)["models"] != checkFail || !strings.Contains(out, "HTTP 401 invalid_api_key") || !strings.Contains(out, "--key") {
			t.Errorf("report:\n%s", out)
		}
		if strings.Contains(out, wrong) {
			t.Errorf("the report shows the key:\n%s", out)
		}
		if !strings.Contains(out, "[key]") {
			t.Errorf("the quoted key was not redacted:\n%s", out)
		}
	})
	t.Run("stream without [DONE]", func(t *testing.T) {
		report, out := runAgainst(t, standIn{cutShort: true}, checkOptions{Key: standInKey})
		if statuses(report)["stream"] != checkFail || !strings.Contains(out, "without data: [DONE]") {
			t.Errorf("report:\n%s", out)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(standIn{})
		url := srv.URL
		srv.Close()
		out := new(strings.Builder)
		report, err := runCheck(context.Background(), out, checkOptions{URL: url, Timeout: 2 * time.Second})
		if err != nil || report.Failed != len(report.Results) {
			t.Errorf("every check must fail: %v\n%s", err, out)
		}
	})
	t.Run("bad URL", func(t *testing.T) {
		if _, err := runCheck(context.Background(), new(strings.Builder), checkOptions{URL: "localhost:8080"}); err == nil {
			t.Error("a URL without a scheme was accepted")
		}
	})
}

func TestCheckModelStar(t *testing.T) {
	report, out := runAgainst(t, standIn{health: 200, modelStar: true}, checkOptions{Key: standInKey, Model: "mock"})
	if report.Failed != 0 || statuses(report)["unknown model"] != checkSkip {
		t.Errorf("a gateway that routes every model name must not fail the check:\n%s", out)
	}
}

func TestResolveKey(t *testing.T) {
	t.Setenv(keyEnv, "from-env")
	if k, src, _ := resolveKey("from-flag"); k != "from-flag" || src != "--key" {
		t.Errorf("flag: %q %q", k, src)
	}
	if k, src, _ := resolveKey(""); k != "from-env" || src != "$"+keyEnv {
		t.Errorf("env: %q %q", k, src)
	}
}
