package gemini

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

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
			var g Gemini
			err := g.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(g)
			want, _ := json.Marshal(tc.want)
			if string(got) != string(want) {
				t.Errorf("got %s, want %s", got, want)
			}
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
	readAll(t, resp)
	seen := fake.last(t)
	if seen.Key != "AIzaSy-caller" || strings.Contains(seen.Query, "key") {
		t.Errorf("upstream saw key %q, query %q", seen.Key, seen.Query)
	}
}

func TestListModels(t *testing.T) {
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	fake.setReply(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("pageToken") == "" {
			_, _ = io.WriteString(w, `{"models":[
				{"name":"models/gemini-2.5-flash","version":"001","displayName":"Gemini 2.5 Flash","inputTokenLimit":1048576,"supportedGenerationMethods":["generateContent","countTokens","createCachedContent","batchGenerateContent"]},
				{"name":"models/gemini-embedding-001","supportedGenerationMethods":["embedContent","countTextTokens","countTokens","asyncBatchEmbedContent"]},
				{"name":"models/imagen-4.0-generate-001","supportedGenerationMethods":["predict"]}],
				"nextPageToken":"Ch1tb2RlbHMv+page2"}`)
			return
		}
		_, _ = io.WriteString(w, `{"models":[{"name":"models/gemini-2.5-pro","supportedGenerationMethods":["generateContent"]},{"name":"models/aqa","supportedGenerationMethods":["generateAnswer"]}]}`)
	})
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
	seen := fake.last(t)
	if seen.Method != http.MethodGet || seen.Path != "/v1beta/models" || seen.Query != "pageSize=1000&pageToken=Ch1tb2RlbHMv%2Bpage2" || seen.Key != testKey {
		t.Errorf("upstream saw %s %s?%s key %q", seen.Method, seen.Path, seen.Query, seen.Key)
	}

	fake.setReply(replyJSON(http.StatusForbidden, googleError(403, "PERMISSION_DENIED", "denied", ""), nil))
	if _, err := g.ListModels(context.Background(), ""); err == nil {
		t.Error("a refused list gave no error")
	}
}
