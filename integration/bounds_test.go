package integration

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
)

// bigAnswerUpstream answers OpenAI chats and Anthropic messages with a
// 4 KiB text. For the OpenAI model "declared" the length is sent as
// Content-Length; otherwise the body is flushed in pieces, without one.
func bigAnswerUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	text := strings.Repeat("x", 4<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		var body string
		if r.URL.Path == "/v1/messages" {
			body = `{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"` + text + `"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}`
		} else {
			body = `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"` + text + `","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
		}
		w.Header().Set("Content-Type", "application/json")
		if req.Model == "declared" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = io.WriteString(w, body)
			return
		}
		for len(body) > 0 {
			n := min(len(body), 512)
			if _, err := io.WriteString(w, body[:n]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			body = body[n:]
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestMaxResponseBodyThroughCaddy: an answer over max_response_body is a
// 502 that names the limit, refused before any byte when its length is
// declared; a passthrough answer without a declared length is cut at the
// limit, and the gateway keeps serving.
func TestMaxResponseBodyThroughCaddy(t *testing.T) {
	up := bigAnswerUpstream(t)
	startGateway(t, `		provider pass openai {
			base_url `+up.URL+`/v1
			max_response_body 2KiB
		}
		provider claude anthropic {
			base_url `+up.URL+`
			api_key sk-upstream
			max_response_body 2KiB
		}
		provider roomy openai {
			base_url `+up.URL+`/v1
		}
		model declared pass
		model chunked pass
		model claude claude
		model roomy roomy/declared`)
	client := freshHTTP()
	for _, model := range []string{"declared", "claude"} {
		got := chat(t, client, gatewayURL, model, nil)
		if got.status != http.StatusBadGateway || !strings.Contains(got.body, `"code":"upstream_response_too_large"`) ||
			!strings.Contains(got.body, "2.0 KiB") || strings.Contains(got.body, "127.0.0.1") {
			t.Errorf("%s: %d %s", model, got.status, got.body)
		}
		if err := openaischema.Validate(openaischema.Error, []byte(got.body)); err != nil {
			t.Errorf("%s: error shape: %v", model, err)
		}
	}
	if got := chat(t, client, gatewayURL, "chunked", nil); len(got.body) > 2<<10 {
		t.Errorf("an undeclared answer was relayed for %d bytes, past the 2 KiB limit", len(got.body))
	}
	if got := chat(t, client, gatewayURL, "roomy", nil); got.status != http.StatusOK {
		t.Errorf("an answer under the default limit: %d %.200s", got.status, got.body)
	}

	// The native API reports it in its own shape.
	resp, err := client.Post(gatewayURL+"/api/v1/generate", "application/json", strings.NewReader(`{"prompt":"hi","model":"declared"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "max_response_body") {
		t.Errorf("native: %d %s", resp.StatusCode, body)
	}
}

// TestOversizedRequestHeaders: Caddy refuses request headers past the
// server's max_header_size with 431 before the gateway runs, and keeps
// serving; the limit is Caddy's to set.
func TestOversizedRequestHeaders(t *testing.T) {
	for _, tc := range []struct {
		name, global string
		header       int // bytes of one header value
		status       int
	}{
		{"default 16 KiB refuses 64 KiB", "", 64 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{"raised to 256 KiB takes 64 KiB", "\tservers {\n\t\tmax_header_size 256KiB\n\t}\n", 64 << 10, http.StatusOK},
		{"raised to 256 KiB refuses 512 KiB", "\tservers {\n\t\tmax_header_size 256KiB\n\t}\n", 512 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tester := caddyTester(t)
			tester.InitServer(testGlobals(tc.global)+`
http://localhost:9080 {
	llm_gateway {
		provider mock
	}
}
`, "caddyfile")
			conn, err := net.DialTimeout("tcp", "localhost:9080", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			body := chatBody("m", "")
			req := "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:9080\r\nContent-Type: application/json\r\n" +
				"X-Big: " + strings.Repeat("b", tc.header) + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
			go func() { _, _ = io.WriteString(conn, req) }() // the server may answer before reading it all
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := chat(t, freshHTTP(), gatewayURL, "m", nil); got.status != http.StatusOK {
				t.Errorf("the server stopped serving: %d %s", got.status, got.body)
			}
		})
	}
}
