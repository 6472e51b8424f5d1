package gemini

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const testKey = "AIzaSy-test-key"

// A short text answer, whole and as a two-event stream.
const plainAnswer = `{"candidates":[{"content":{"parts":[{"text":"Hello."}],"role":"model"},"finishReason":"STOP","index":0}],` +
	`"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6},"modelVersion":"gemini-2.5-flash","responseId":"r1"}`

var plainStream = providertest.GeminiEvent(`{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1,"totalTokenCount":5}}`) +
	providertest.GeminiEvent(`{"candidates":[{"content":{"parts":[{"text":"lo."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"totalTokenCount":6}}`)

// plainReply answers the plain answer, streamed to streamGenerateContent.
var plainReply = providertest.Script(func(r *http.Request) providertest.Reply {
	if strings.HasSuffix(r.URL.Path, ":streamGenerateContent") {
		return providertest.Gemini.Stream(plainStream)
	}
	return providertest.Gemini.JSON(http.StatusOK, plainAnswer)
})

// newFake is an upstream speaking Gemini's wire format; until told
// otherwise it gives the plain answer.
func newFake(t *testing.T) *providertest.Upstream {
	t.Helper()
	return providertest.NewUpstream(t, plainReply)
}

func newGemini(t *testing.T, baseURL string) *Gemini {
	t.Helper()
	return providertest.Provision(t, &Gemini{Base: providers.Base{Name: "gem", BaseURL: baseURL, APIKey: testKey}})
}

func chatCall(body []byte, stream bool) *providers.Call {
	return &providers.Call{Op: providers.Chat, Model: "gemini-2.5-flash", ClientModel: "flash", Body: body, Stream: stream}
}

// randomCallID is the random part of a tool-call id; its signature part
// stays.
var randomCallID = regexp.MustCompile(`call_[0-9a-f]{24}`)

// normalize replaces what differs between runs: the answer's id and time,
// and the random part of tool-call ids.
func normalize(t *testing.T, b []byte) []byte {
	t.Helper()
	b = providertest.SetMembers(t, b, "id", `"chatcmpl-ID"`, "created", "0")
	return randomCallID.ReplaceAll(b, []byte(`call_RANDOM`))
}

func TestUnmarshalCaddyfile(t *testing.T) {
	cases := []struct {
		name, input string
		want        Gemini
		wantErr     string
	}{
		{"all options", `provider gem gemini {
			base_url https://proxy.example.com/gemini
			api_key {env.GEMINI_API_KEY}
			api_version v1alpha
			header X-Team research
			dial_timeout 5s
		}`, Gemini{Base: providers.Base{Name: "gem", BaseURL: "https://proxy.example.com/gemini", APIKey: "{env.GEMINI_API_KEY}",
			Header: http.Header{"X-Team": {"research"}}, DialTimeout: caddy.Duration(5e9)}, APIVersion: "v1alpha"}, ""},
		{"defaults", `provider google gemini`, Gemini{Base: providers.Base{Name: "google"}}, ""},
		{"passthrough", `provider gem gemini {
			api_key passthrough
		}`, Gemini{Base: providers.Base{Name: "gem", APIKey: "passthrough"}}, ""},
		{"api_version twice", `provider gem gemini {
			api_version v1
			api_version v1beta
		}`, Gemini{}, "already specified"},
		{"unknown option", `provider gem gemini {
			deployment a b
		}`, Gemini{}, "unrecognized subdirective"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			providertest.CheckCaddyfile(t, tc.input, new(Gemini), tc.want, tc.wantErr)
		})
	}
}

func TestProvision(t *testing.T) {
	cases := []struct {
		base, version, wantBase, wantVersion, wantErr string
	}{
		{"", "", DefaultBaseURL, "v1beta", ""},
		{"https://generativelanguage.googleapis.com/v1beta/", "", DefaultBaseURL, "v1beta", ""},
		{"https://proxy.example.com/gemini/v1", "v1", "https://proxy.example.com/gemini", "v1", ""},
		{"", "v1beta/../x", "", "", "invalid api_version"},
		{"ftp://example.com", "", "", "", "absolute http"},
	}
	for _, tc := range cases {
		g := &Gemini{Base: providers.Base{Name: "gem", BaseURL: tc.base}, APIVersion: tc.version}
		err := g.Provision(caddy.Context{})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q %q: got %v, want %q", tc.base, tc.version, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if g.URL().String() != tc.wantBase || g.APIVersion != tc.wantVersion {
			t.Errorf("%q %q: got %s %s", tc.base, tc.version, g.URL(), g.APIVersion)
		}
	}
}

// TestCallerKey: with `api_key passthrough` the caller's key goes in the
// header, and no key ever goes in the URL.
func TestCallerKey(t *testing.T) {
	fake := newFake(t)
	g := &Gemini{Base: providers.Base{Name: "gem", BaseURL: fake.URL, APIKey: providers.KeyPassthrough}}
	if err := g.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if !g.UsesCallerKey(false) {
		t.Fatal("passthrough does not use the caller's key")
	}
	call := chatCall([]byte(`{"messages":[{"role":"user","content":"hi"}]}`), false)
	call.CallerKey = "AIzaSy-caller"
	resp, err := g.Send(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	providertest.ReadAnswer(t, resp)
	seen := fake.Last(t)
	if seen.Header.Get("X-Goog-Api-Key") != "AIzaSy-caller" || strings.Contains(seen.Query, "key") {
		t.Errorf("upstream saw key %q, query %q", seen.Header.Get("X-Goog-Api-Key"), seen.Query)
	}
}

func TestListModels(t *testing.T) {
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	fake.Reply(providertest.Script(func(r *http.Request) providertest.Reply {
		if r.URL.Query().Get("pageToken") == "" {
			return providertest.Gemini.JSON(http.StatusOK, `{"models":[
				{"name":"models/gemini-2.5-flash","version":"001","displayName":"Gemini 2.5 Flash","inputTokenLimit":1048576,"supportedGenerationMethods":["generateContent","countTokens","createCachedContent","batchGenerateContent"]},
				{"name":"models/gemini-embedding-001","supportedGenerationMethods":["embedContent","countTextTokens","countTokens","asyncBatchEmbedContent"]},
				{"name":"models/imagen-4.0-generate-001","supportedGenerationMethods":["predict"]}],
				"nextPageToken":"Ch1tb2RlbHMv+page2"}`)
		}
		return providertest.Gemini.JSON(http.StatusOK, `{"models":[{"name":"models/gemini-2.5-pro","supportedGenerationMethods":["generateContent"]},{"name":"models/aqa","supportedGenerationMethods":["generateAnswer"]}]}`)
	}))
	models, err := g.ListModels(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range models {
		ids = append(ids, m.ID)
		b, _ := json.Marshal(m)
		if err := openaischema.Validate(openaischema.Model, b); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
	if strings.Join(ids, " ") != "gemini-2.5-flash gemini-embedding-001 gemini-2.5-pro" {
		t.Errorf("models = %v", ids)
	}
	seen := fake.Last(t)
	if seen.Method != http.MethodGet || seen.Path != "/v1beta/models" || seen.Query != "pageSize=1000&pageToken=Ch1tb2RlbHMv%2Bpage2" || seen.Header.Get("X-Goog-Api-Key") != testKey {
		t.Errorf("upstream saw %s %s?%s key %q", seen.Method, seen.Path, seen.Query, seen.Header.Get("X-Goog-Api-Key"))
	}

	fake.Reply(providertest.Gemini.JSON(http.StatusForbidden, providertest.GoogleError(403, "PERMISSION_DENIED", "denied", "")))
	if _, err := g.ListModels(context.Background(), ""); err == nil {
		t.Error("a refused list gave no error")
	}
}
