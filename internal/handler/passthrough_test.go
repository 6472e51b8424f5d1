package handler

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPassthroughKeepsEveryFieldAndRewritesOnlyModel(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req_abc")
		w.Header().Set("X-Ratelimit-Remaining-Requests", "99")
		w.Header().Set("Openai-Organization", "org-secret")
		_, _ = w.Write([]byte(chatCompletion))
	})
	p := openAIProvider(t, "oai", up.URL)
	gw := gateway(t, Config{Routes: []Route{route("fast", Target{Provider: p, Model: "gpt-4o-mini"})}})

	// Fields no Go struct knows, odd spacing and a zero temperature must all survive.
	sent := `{"temperature":0, "model" : "fast","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}],"some_future_field":{"x":[1,2,3]},"verbosity":"low"}`
	resp := post(t, gw.URL+"/v1/chat/completions", sent)
	body := readAll(t, resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if body != chatCompletion {
		t.Errorf("body changed in transit:\n got %s\nwant %s", body, chatCompletion)
	}
	got := up.last(t)
	want := strings.Replace(sent, `"model" : "fast"`, `"model" : "gpt-4o-mini"`, 1)
	if string(got.body) != want {
		t.Errorf("upstream got\n %s\nwant\n %s", got.body, want)
	}
	if got.path != "/v1/chat/completions" || got.header.Get("Authorization") != "Bearer sk-upstream-secret" {
		t.Errorf("upstream request: path %q, auth %q", got.path, got.header.Get("Authorization"))
	}
	if resp.Header.Get("X-Request-Id") != "req_abc" || resp.Header.Get("X-Ratelimit-Remaining-Requests") != "99" {
		t.Errorf("upstream id and rate-limit headers not relayed: %v", resp.Header)
	}
	if resp.Header.Get("Openai-Organization") != "" {
		t.Error("an upstream header outside the relay list reached the client")
	}
	if resp.Header.Get("X-Llm-Gateway-Overhead-Ms") == "" {
		t.Error("no X-LLM-Gateway-Overhead-Ms header")
	}
	if v := testutil.ToFloat64(tokensTotal.WithLabelValues("fast", "oai", "prompt")); v < 82 {
		t.Errorf("prompt tokens metric = %v, want the upstream's usage counted", v)
	}
}

func TestPassthroughSameModelSendsBodyUnchanged(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(chatCompletion)) })
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	sent := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	post(t, gw.URL+"/v1/chat/completions", sent)
	if got := up.last(t); string(got.body) != sent {
		t.Errorf("upstream got %s, want the client's bytes %s", got.body, sent)
	}
}

func TestDefaultModelIsInsertedWhenMissing(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(chatCompletion)) })
	p := openAIProvider(t, "oai", up.URL)
	gw := gateway(t, Config{DefaultModel: "gpt4", Routes: []Route{route("gpt4", Target{Provider: p, Model: "gpt-4o"})}})
	resp := post(t, gw.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var body map[string]any
	if err := json.Unmarshal(up.last(t).body, &body); err != nil || body["model"] != "gpt-4o" {
		t.Errorf("upstream body model = %v (%v), want gpt-4o", body["model"], err)
	}
}

func TestCompletionsAndEmbeddingsGoToTheirPaths(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"object":"list","model":"text-embedding-3-small","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"usage":{"prompt_tokens":5,"total_tokens":5}}`))
	})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})
	for path, body := range map[string]string{
		"/v1/completions": `{"model":"gpt-3.5-turbo-instruct","prompt":"Say"}`,
		"/v1/embeddings":  `{"model":"text-embedding-3-small","input":"hello","stream":true}`,
	} {
		resp := post(t, gw.URL+path, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		got := up.last(t)
		if got.path != path || string(got.body) != body {
			t.Errorf("%s: upstream got %s %s", path, got.path, got.body)
		}
	}
}
