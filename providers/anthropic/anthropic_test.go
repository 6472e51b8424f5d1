package anthropic

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const (
	testKey   = "sk-ant-test-key"
	testModel = "claude-sonnet-4-5"
)

// newAnthropic returns a provisioned provider in front of the upstream at
// url.
func newAnthropic(t *testing.T, url string) *Anthropic {
	t.Helper()
	return providertest.Provision(t, &Anthropic{Base: providers.Base{Name: "claude", BaseURL: url, APIKey: testKey,
		Header: http.Header{"Anthropic-Beta": {"interleaved-thinking-2025-05-14"}}}})
}

// chatCall is the call the handler makes for an OpenAI chat body sent to
// the public model "claude".
func chatCall(t *testing.T, body []byte) *providers.Call {
	t.Helper()
	call := providertest.NewCall(t, providers.Chat, body, "claude")
	call.Model = testModel
	return call
}

func send(t *testing.T, a *Anthropic, body []byte) (*providers.Response, error) {
	t.Helper()
	return a.Send(t.Context(), chatCall(t, body))
}

// normalise replaces the per-answer id and creation time, which are
// random and clock-bound, with fixed values, keeping the member order.
func normalise(t *testing.T, b []byte) []byte {
	t.Helper()
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	if !strings.HasPrefix(head.ID, "chatcmpl-") {
		t.Errorf("id %q is not a chatcmpl- id", head.ID)
	}
	return providertest.SetMembers(t, b, "id", `"chatcmpl-test"`, "created", "1700000000")
}

func TestUnmarshalCaddyfile(t *testing.T) {
	cases := []struct {
		name, input string
		want        Anthropic
		wantErr     string
	}{
		{"minimal", `provider claude anthropic`, Anthropic{Base: providers.Base{Name: "claude"}}, ""},
		{"every option", `provider claude anthropic {
			base_url https://proxy.example.com
			api_key {env.ANTHROPIC_API_KEY}
			version 2023-01-01
			max_tokens 8192
			header anthropic-beta token-efficient-tools-2025-02-19
			dial_timeout 5s
		}`, Anthropic{Base: providers.Base{Name: "claude", BaseURL: "https://proxy.example.com", APIKey: "{env.ANTHROPIC_API_KEY}",
			Header: http.Header{"Anthropic-Beta": {"token-efficient-tools-2025-02-19"}}, DialTimeout: caddy.Duration(5e9)},
			Version: "2023-01-01", MaxTokens: 8192}, ""},
		{"passthrough key", `provider claude anthropic {
			api_key passthrough
		}`, Anthropic{Base: providers.Base{Name: "claude", APIKey: "passthrough"}}, ""},
		{"zero max_tokens", "provider c anthropic {\n max_tokens 0\n}", Anthropic{}, "invalid max_tokens"},
		{"word max_tokens", "provider c anthropic {\n max_tokens many\n}", Anthropic{}, "invalid max_tokens"},
		{"max_tokens twice", "provider c anthropic {\n max_tokens 5\n max_tokens 6\n}", Anthropic{}, "already specified"},
		{"version without value", "provider c anthropic {\n version\n}", Anthropic{}, "argument"},
		{"unknown option", "provider c anthropic {\n deployment a b\n}", Anthropic{}, "unrecognized subdirective"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			providertest.CheckCaddyfile(t, tc.input, new(Anthropic), tc.want, tc.wantErr)
		})
	}
	// The documented option table is the parser's.
	var a Anthropic
	for _, opt := range []string{"version", "max_tokens"} {
		if _, ok := a.CaddyfileOptions()[opt]; !ok {
			t.Errorf("option %s is missing from CaddyfileOptions", opt)
		}
	}
}

func TestProvision(t *testing.T) {
	cases := []struct {
		baseURL, wantURL string
	}{
		{"", "https://api.anthropic.com"},
		{"https://api.anthropic.com/v1", "https://api.anthropic.com"},
		{"https://api.anthropic.com/v1/", "https://api.anthropic.com"},
		{"https://proxy.example.com/anthropic/", "https://proxy.example.com/anthropic"},
	}
	for _, tc := range cases {
		a := &Anthropic{Base: providers.Base{Name: "c", BaseURL: tc.baseURL}}
		if err := a.Provision(caddy.Context{}); err != nil {
			t.Fatal(err)
		}
		if got := a.URL().String(); got != tc.wantURL {
			t.Errorf("base_url %q: URL %s, want %s", tc.baseURL, got, tc.wantURL)
		}
		if a.Version != DefaultVersion || a.MaxTokens != DefaultMaxTokens {
			t.Errorf("defaults: version %q, max_tokens %d", a.Version, a.MaxTokens)
		}
	}
	bad := &Anthropic{Base: providers.Base{Name: "c"}, MaxTokens: -1}
	if err := bad.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if bad.Validate() == nil {
		t.Error("a negative max_tokens passed validation")
	}
	unset := &Anthropic{Base: providers.Base{Name: "c", APIKey: "{env.LLM_GATEWAY_TEST_UNSET_VARIABLE}"}}
	if err := unset.Provision(caddy.Context{}); err == nil {
		t.Error("an api_key that resolves to nothing was accepted")
	}
}

func TestVersionOptionAndMaxTokensDefault(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Anthropic.JSON(http.StatusOK, minimalMessage))
	a := &Anthropic{Base: providers.Base{Name: "c", BaseURL: up.URL, APIKey: testKey,
		Header: http.Header{"anthropic-version": {"2000-01-01"}}}, Version: "2099-01-01", MaxTokens: 777}
	if err := a.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	resp, err := send(t, a, []byte(simpleRequest))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Close()
	got := up.Last(t)
	if v := got.Header.Values("Anthropic-Version"); len(v) != 1 || v[0] != "2099-01-01" {
		t.Errorf("anthropic-version = %q, want the version option's alone", v)
	}
	if !strings.Contains(string(got.Body), `"max_tokens":777`) {
		t.Errorf("body %s lacks the configured max_tokens", got.Body)
	}
}

func TestCallerKeyPassthrough(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Anthropic.JSON(http.StatusOK, minimalMessage))
	a := &Anthropic{Base: providers.Base{Name: "c", BaseURL: up.URL, APIKey: providers.KeyPassthrough}}
	if err := a.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if !a.UsesCallerKey(false) {
		t.Fatal("api_key passthrough does not use the caller's key")
	}
	call := chatCall(t, []byte(simpleRequest))
	call.CallerKey = "sk-ant-callers-own"
	resp, err := a.Send(t.Context(), call)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Close()
	if got := up.Last(t).Header; got.Get("X-Api-Key") != "sk-ant-callers-own" || got.Get("Authorization") != "" {
		t.Errorf("upstream headers %v", got)
	}
}

func TestOtherOperationsRefused(t *testing.T) {
	up := providertest.NewUpstream(t, nil)
	a := newAnthropic(t, up.URL)
	for op, body := range map[providers.Operation]string{
		providers.Embeddings:  `{"model":"m","input":"hello"}`,
		providers.Completions: `{"model":"m","prompt":"hello"}`,
	} {
		_, err := a.Send(t.Context(), &providers.Call{Op: op, Model: "m", ClientModel: "m", Body: []byte(body)})
		var e *providers.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "unsupported_operation" {
			t.Errorf("%s: got %v", op, err)
		}
	}
	if up.Count() != 0 {
		t.Error("a refused operation reached the upstream")
	}
}

func TestListModels(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Script(func(r *http.Request) providertest.Reply {
		if r.URL.Path != "/v1/models" || r.Header.Get("X-Api-Key") != testKey || r.Header.Get("Anthropic-Version") != DefaultVersion {
			return providertest.Anthropic.JSON(http.StatusNotFound, providertest.AnthropicError("not_found_error", "Not found"))
		}
		page := `{"data":[{"type":"model","id":"claude-3-5-haiku-20241022","display_name":"Claude Haiku 3.5","created_at":"2024-10-22T00:00:00Z"}],"has_more":false,"first_id":"claude-3-5-haiku-20241022","last_id":"claude-3-5-haiku-20241022"}`
		if r.URL.Query().Get("after_id") == "" {
			page = `{"data":[{"type":"model","id":"claude-sonnet-4-5-20250929","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":true,"first_id":"claude-sonnet-4-5-20250929","last_id":"claude-sonnet-4-5-20250929"}`
		}
		return providertest.Anthropic.JSON(http.StatusOK, page)
	}))
	a := providertest.Provision(t, &Anthropic{Base: providers.Base{Name: "claude", BaseURL: up.URL, APIKey: testKey}})
	models, err := a.ListModels(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.Model{
		{ID: "claude-sonnet-4-5-20250929", Object: "model", Created: 1759104000, OwnedBy: "claude"},
		{ID: "claude-3-5-haiku-20241022", Object: "model", Created: 1729555200, OwnedBy: "claude"},
	}
	if len(models) != len(want) || models[0] != want[0] || models[1] != want[1] {
		t.Errorf("models = %+v", models)
	}
	if seen := up.Requests(); len(seen) != 2 || seen[0].Query != "limit=1000" || seen[1].Query != "limit=1000&after_id=claude-sonnet-4-5-20250929" {
		t.Errorf("requests = %+v", seen)
	}
	list, _ := json.Marshal(map[string]any{"object": "list", "data": models})
	if err := openaischema.Validate(openaischema.ModelList, list); err != nil {
		t.Error(err)
	}

	broken := &Anthropic{Base: providers.Base{Name: "claude", BaseURL: up.URL + "/elsewhere", APIKey: testKey}}
	if err := broken.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if _, err := broken.ListModels(t.Context(), ""); err == nil {
		t.Error("a failing model list gave no error")
	}
}
