package integration

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkProxyPath sends one non-streaming chat request at a time
// through a Caddy in this process: once through a plain reverse_proxy
// site, once through an llm_gateway site with an openai provider, both to
// the same loopback upstream. The client's and the upstream's allocations
// are the same for both, so the difference of B/op and allocs/op is what
// each handler costs per request (bench/run.sh reports the ratio).
func BenchmarkProxyPath(b *testing.B) {
	const body = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Write one sentence about the sea."}],"temperature":0.2,"max_tokens":64}`
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, okCompletion)
	}))
	defer up.Close()
	targets := startProxyPair(b, up.URL)
	for _, target := range targets {
		b.Run(target.name, func(b *testing.B) {
			postEach(b, target.url, body, func(answer []byte) bool { return true })
		})
	}
}

// BenchmarkStreamPath streams one 50-chunk answer at a time through the
// same two sites, from an upstream that flushes every event on its own,
// as OpenAI does: the role chunk, the content chunks, the finish chunk,
// the usage chunk when asked for, and [DONE]. In "usage" the client asks
// for usage, so nothing needs stripping; in "plain" it does not, and the
// gateway asks the upstream for it and strips it.
func BenchmarkStreamPath(b *testing.B) {
	const chunks = 50
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		flusher := w.(http.Flusher)
		send := func(event string) {
			_, _ = io.WriteString(w, event+"\n\n")
			flusher.Flush()
		}
		send(roleEvent)
		for range chunks {
			send(wordEvent)
		}
		send(finishEvent)
		if strings.Contains(string(body), `"include_usage":true`) {
			send(`data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1735689600,"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":50,"total_tokens":59}}`)
		}
		send("data: [DONE]")
	}))
	defer up.Close()
	targets := startProxyPair(b, up.URL)
	for _, variant := range []struct{ name, body string }{
		{"usage", `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`},
		{"plain", `{"model":"m","stream":true,"messages":[{"role":"user","content":"Write one sentence about the sea."}]}`},
	} {
		for _, target := range targets {
			b.Run(variant.name+"/"+target.name, func(b *testing.B) {
				postEach(b, target.url, variant.body, func(answer []byte) bool {
					return strings.HasSuffix(string(answer), "data: [DONE]\n\n")
				})
			})
		}
	}
}

// proxyTarget is one of the two sites startProxyPair serves.
type proxyTarget struct{ name, url string }

// startProxyPair serves, in one Caddy in this process, an llm_gateway site
// with an openai provider and a plain reverse_proxy site, both in front of
// the upstream at upURL, and returns their chat completions URLs.
func startProxyPair(b *testing.B, upURL string) []proxyTarget {
	caddyTester(b).InitServer(testGlobals("")+`
http://localhost:9080 {
	llm_gateway {
		provider up openai {
			base_url `+upURL+`/v1
			api_key sk-bench
		}
	}
}

http://localhost:9081 {
	reverse_proxy `+upURL+` {
		flush_interval -1
	}
}
`, "caddyfile")
	return []proxyTarget{
		{"reverse_proxy", "http://localhost:9081/v1/chat/completions"},
		{"llm_gateway", gatewayURL + "/v1/chat/completions"},
	}
}

// postEach posts body to url once per benchmark iteration, on one
// connection, and fails unless each answer is a 200 that whole accepts.
func postEach(b *testing.B, url, body string, whole func(answer []byte) bool) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !whole(answer) {
			b.Fatalf("status %d: %s", resp.StatusCode, answer)
		}
	}
}
