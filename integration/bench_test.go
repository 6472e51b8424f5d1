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
	tester := caddyTester(b)
	tester.InitServer(testGlobals("")+`
http://localhost:9080 {
	llm_gateway {
		provider up openai {
			base_url `+up.URL+`/v1
			api_key sk-bench
		}
	}
}

http://localhost:9081 {
	reverse_proxy `+up.URL+` {
		flush_interval -1
	}
}
`, "caddyfile")
	for _, target := range []struct{ name, url string }{
		{"reverse_proxy", "http://localhost:9081/v1/chat/completions"},
		{"llm_gateway", gatewayURL + "/v1/chat/completions"},
	} {
		b.Run(target.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Post(target.url, "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d: %s", resp.StatusCode, answer)
				}
			}
		})
	}
}
