package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingUpstream answers every request with a 400 in OpenAI's shape
// and keeps the Host and the exact request-target it was sent.
type recordingUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []recorded
}

type recorded struct{ host, uri string }

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	t.Helper()
	u := &recordingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, recorded{r.Host, r.RequestURI})
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"recorded","type":"invalid_request_error","param":null,"code":null}}`)
	}))
	t.Cleanup(u.Close)
	return u
}

// take returns the requests seen since the last call.
func (u *recordingUpstream) take() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	seen := u.seen
	u.seen = nil
	return seen
}

// ssrfProvider is a provider type, its block, and a check that a request
// path is one the gateway may call for model: under the configured
// prefix, with the model (when in the path) escaped in its own segment.
type ssrfProvider struct {
	typ, block string
	pathOK     func(p, model string) bool
	query      string
}

// inSegment reports whether p is prefix + one segment + suffix, the
// segment decoding to model exactly.
func inSegment(p, prefix, suffix, model string) bool {
	seg, ok := strings.CutPrefix(p, prefix)
	if !ok {
		return false
	}
	if seg, ok = strings.CutSuffix(seg, suffix); !ok || strings.Contains(seg, "/") {
		return false
	}
	got, err := url.PathUnescape(seg)
	return err == nil && got == model
}

func ssrfProviders(base string) []ssrfProvider {
	fixed := func(paths ...string) func(string, string) bool {
		return func(p, _ string) bool {
			for _, want := range paths {
				if p == want {
					return true
				}
			}
			return false
		}
	}
	return []ssrfProvider{
		{typ: "openai", block: "base_url " + base + "/pfx/v1", pathOK: fixed("/pfx/v1/chat/completions")},
		{typ: "azure", block: "base_url " + base + "/pfx\n\t\t\tapi_version 2024-10-21", query: "api-version=2024-10-21",
			pathOK: func(p, model string) bool {
				return inSegment(p, "/pfx/openai/deployments/", "/chat/completions", model)
			}},
		{typ: "anthropic", block: "base_url " + base + "/pfx", pathOK: fixed("/pfx/v1/messages")},
		{typ: "dashscope", block: "base_url " + base + "/pfx",
			pathOK: fixed("/pfx/api/v1/services/aigc/text-generation/generation", "/pfx/api/v1/services/aigc/multimodal-generation/generation")},
		{typ: "gemini", block: "base_url " + base + "/pfx", pathOK: func(p, model string) bool {
			collection, id, found := strings.Cut(model, "/")
			if !found || (collection != "models" && collection != "tunedModels") {
				collection, id = "models", model
			}
			return inSegment(p, "/pfx/v1beta/"+collection+"/", ":generateContent", id)
		}},
		{typ: "ollama", block: "base_url " + base + "/pfx", pathOK: fixed("/pfx/api/chat")},
	}
}

// ssrfCase is one request that tries to steer the upstream call.
type ssrfCase struct {
	name   string
	model  string
	extra  map[string]any    // extra body fields
	header map[string]string // extra request headers; "Host" sets the Host
}

func ssrfCases() []ssrfCase {
	var cases []ssrfCase
	for _, m := range []string{
		"http://evil.test/x", "https://evil.test", "//evil.test", "//evil.test/x", "../../admin", "..", ".", "x/../../y",
		"x/./y", "a?b=c", "a#b", "%2e%2e%2f", "%2e%2e", "%2F..%2F..", "@evil.test", "user@evil.test:80", `\\evil.test`,
		`..\..\admin`, "\uff0e\uff0e", "\uff0e\uff0e/\uff0e\uff0e/admin", "\u3002\u3002", "\u2025", "x\r\nHost: evil.test",
		"x\nX-Injected: 1", "x\x00y", "models/../../x", "tunedModels/..", "models/%2e%2e", "evil.test:443", " ../x", "",
		"m/..", "m;x=y", "m%00", "m\t..",
	} {
		cases = append(cases, ssrfCase{name: "model " + strings.ToValidUTF8(m, "?"), model: m})
	}
	for _, field := range []string{"base_url", "url", "api_base", "endpoint", "baseURL", "host", "api_version"} {
		cases = append(cases, ssrfCase{name: "body " + field, model: "m", extra: map[string]any{field: "http://evil.test/x"}})
	}
	for name, value := range map[string]string{
		"Host": "evil.test", "X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/admin",
		"Forwarded": "for=1.2.3.4;host=evil.test;proto=https", "X-Original-URL": "/admin", "X-Rewrite-URL": "/admin",
		"Api-Version": "../../admin", "X-Http-Method-Override": "DELETE",
	} {
		cases = append(cases, ssrfCase{name: "header " + name, model: "m", header: map[string]string{name: value}})
	}
	return cases
}

// awaitConfig waits until requests reach up, the upstream of the config
// just loaded.
func awaitConfig(t *testing.T, client *http.Client, up *recordingUpstream) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		resp, err := client.Post(gatewayURL+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if len(up.take()) > 0 {
			return
		}
	}
	t.Fatal("the new config did not take over")
}

// TestNoRequestFieldSteersTheUpstream sends, for every provider type,
// model names, body fields and headers that try to change which host or
// path the gateway calls. Every call that reached the upstream must have
// gone to its configured host, to a path under its configured prefix
// with the model kept in its own segment; every other request must have
// been refused by the gateway without an upstream call.
func TestNoRequestFieldSteersTheUpstream(t *testing.T) {
	for i := range ssrfProviders("") {
		// Each provider has an upstream of its own: a request that lands on
		// the previous config as it is replaced calls another recorder.
		up := newRecordingUpstream(t)
		upHost := strings.TrimPrefix(up.URL, "http://")
		p := ssrfProviders(up.URL)[i]
		t.Run(p.typ, func(t *testing.T) {
			tester := caddyTester(t)
			tester.InitServer(testGlobals("")+`
http://:9080 {
	llm_gateway {
		provider p `+p.typ+` {
			`+p.block+`
			api_key sk-upstream
		}
		max_attempts 1
	}
}
`, "caddyfile")
			client := freshHTTP()
			awaitConfig(t, client, up)
			reached := 0
			for _, tc := range ssrfCases() {
				fields := map[string]any{"model": tc.model, "messages": []map[string]string{{"role": "user", "content": "hi"}}}
				for k, v := range tc.extra {
					fields[k] = v
				}
				body, _ := json.Marshal(fields)
				req, _ := http.NewRequest(http.MethodPost, gatewayURL+"/v1/chat/completions", strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				for k, v := range tc.header {
					if k == "Host" {
						req.Host = v
					} else {
						req.Header.Set(k, v)
					}
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				seen := up.take()
				if len(seen) == 0 {
					if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
						t.Errorf("%s: no upstream call, and the gateway answered %d %s", tc.name, resp.StatusCode, answer)
					}
					continue
				}
				reached++
				for _, s := range seen {
					rawPath, query, _ := strings.Cut(s.uri, "?")
					switch {
					case s.host != upHost:
						t.Errorf("%s: the upstream was called as host %q", tc.name, s.host)
					case rawPath != path.Clean(rawPath):
						t.Errorf("%s: the upstream path %q has dot segments or empty ones", tc.name, rawPath)
					case !p.pathOK(rawPath, tc.model):
						t.Errorf("%s: the upstream path %q is not the operation's under /pfx, with the model %q in its own segment", tc.name, rawPath, tc.model)
					case query != p.query:
						t.Errorf("%s: the upstream query %q, want %q", tc.name, query, p.query)
					}
				}
			}
			if reached < len(ssrfCases())/2 {
				t.Errorf("only %d of %d requests reached the upstream: the test shows little", reached, len(ssrfCases()))
			}
		})
	}
}
