package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A site address written for one host answers every other host with
// Caddy's empty 200: check must say so rather than "not a model list".
func TestCheckExplainsAnEmpty200(t *testing.T) {
	startGateway(t, `		provider mock
		auth keys {
			key `+hygieneGatewayKey+` tests
		}`)
	out := runCheckCommand(t, "http://127.0.0.1:9080")
	for _, want := range []string{"answered 200 with an empty body", "site address does not match the host", "`:8080`"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}

// Clients such as Claude Code send dated model names; a trailing `*`
// routes them all, an exact name still wins, and the model list shows
// the provider's models, never the pattern.
func TestPrefixPatternRoutesDatedNames(t *testing.T) {
	up := fakeOpenAI(t)
	startGateway(t, `		provider up openai {
			base_url `+up.URL+`/v1
			api_key sk-upstream
		}
		provider echo mock {
			models claude-sonnet-4-20250514 claude-3-5-haiku-20241022
		}
		model claude-3-5-haiku-20241022 echo
		model claude-* up/gpt-4o-mini
		model claude-3-* echo
		auth keys {
			key `+clientKey+` tests
		}`)

	for model, wantUpstream := range map[string]bool{
		"claude-sonnet-4-20250514":  true,  // claude-*
		"claude-opus-4-1-20250805":  true,  // claude-*
		"claude-3-7-sonnet-latest":  false, // claude-3-* is longer
		"claude-3-5-haiku-20241022": false, // exact
	} {
		before := up.Count()
		resp, body := do(t, http.MethodPost, "/v1/chat/completions",
			`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"Authorization": "Bearer " + clientKey})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", model, resp.StatusCode, body)
		}
		switch reached := up.Count() > before; {
		case reached != wantUpstream:
			t.Errorf("%s reached the openai provider: %v, want %v", model, reached, wantUpstream)
		case reached && !strings.Contains(string(up.Last(t).Body), `"model":"gpt-4o-mini"`):
			t.Errorf("%s: upstream got %s", model, up.Last(t).Body)
		}
	}

	resp, body := do(t, http.MethodPost, "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"Authorization": "Bearer " + clientKey})
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "model_not_found") {
		t.Errorf("a name no pattern catches: %d %s", resp.StatusCode, body)
	}

	_, body = do(t, http.MethodGet, "/v1/models", "", map[string]string{"Authorization": "Bearer " + clientKey})
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range list.Data {
		ids = append(ids, m.ID)
	}
	// The openai fake lists nothing under claude-; the mock lists its two,
	// but only the one no other route catches is the `claude-3-*` route's.
	want := []string{"claude-3-5-haiku-20241022"}
	if !slices.Equal(ids, want) {
		t.Errorf("/v1/models lists %v, want %v", ids, want)
	}
}

// The client is told only that the upstream could not be reached; the
// log line says where and why.
func TestLogNamesTheUnreachableUpstreamsHostAndCause(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	host := closed.Listener.Addr().String()
	closed.Close()
	logFile := filepath.Join(t.TempDir(), "gateway.log")
	tester := caddyTester(t)
	tester.InitServer(testGlobals("\tlog {\n\t\toutput file "+logFile+"\n\t\tformat json\n\t}\n")+`
http://localhost:9080 {
	llm_gateway {
		provider vllm openai {
			base_url http://`+host+`/v1
		}
	}
}
`, "caddyfile")
	resp, body := do(t, http.MethodPost, "/v1/chat/completions", `{"model":"llama","messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != http.StatusBadGateway || strings.Contains(body, host) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	// The line is written once the answer is out: the client may read the
	// answer first.
	var line map[string]any
	var raw []byte
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(10 * time.Second); line == nil && time.Now().Before(deadline); <-tick.C {
		raw, _ = os.ReadFile(logFile)
		for _, l := range strings.Split(string(raw), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "handled request" && m["provider"] == "vllm" {
				line = m
			}
		}
	}
	if line == nil {
		t.Fatalf("no log line for the request:\n%s", raw)
	}
	if line["upstream_host"] != host || !strings.HasPrefix(fmt.Sprint(line["cause"]), "connection refused") {
		t.Errorf("the log line does not say where and why: %v", line)
	}
}

// A typo in an API path is a 404 in its namespace's shape through Caddy,
// not the site's empty 200; other paths still reach the next handler.
func TestUnknownAPIPathsAre404ThroughCaddy(t *testing.T) {
	startGateway(t, `		provider mock`)
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/v1/chat/completion", `{"error":{"message":"Invalid URL (POST /v1/chat/completion)","type":"invalid_request_error","param":null,"code":null}}`},
		{"POST", "/chat/completions", "the API is under /v1"},
		{"GET", "/api/v1/model", `"code":"NOT_FOUND"`},
	} {
		resp, body := do(t, tc.method, tc.path, `{}`, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, tc.want) || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, body)
		}
	}
	// The test site serves files after the gateway.
	if resp, body := do(t, "GET", "/hello.txt", "", nil); resp.StatusCode != http.StatusOK || body == "" {
		t.Errorf("a file of the site: %d %q", resp.StatusCode, body)
	}
}

// The quickstart's site address answers whatever host the client names:
// `curl 127.0.0.1:8080` must reach the gateway, not Caddy's empty 200.
func TestQuickstartAnswersOnAnyHost(t *testing.T) {
	data, err := os.ReadFile("../examples/quickstart.Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	config := string(data)
	for _, edit := range [][2]string{{"{\n\tadmin localhost:2019\n}\n", testGlobals("")}, {":8080 {", ":9080 {"}} {
		if !strings.Contains(config, edit[0]) {
			t.Fatalf("the quickstart no longer has %q; adapt this test to it", edit[0])
		}
		config = strings.Replace(config, edit[0], edit[1], 1)
	}
	caddyTester(t).InitServer(config, "caddyfile")
	for _, host := range []string{"127.0.0.1:9080", "localhost:9080", "gateway.example"} {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:9080/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello, gateway!"}]}`))
		req.Host = host
		resp, err := freshHTTP().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"content":"Hello, gateway!"`) {
			t.Errorf("Host %s: %d %q", host, resp.StatusCode, body)
		}
	}
}
