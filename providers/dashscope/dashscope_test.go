package dashscope

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const testKey = "sk-test-dashscope"

// A minimal answer, whole and as DashScope streams it.
const minimalBody = `{"output":{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}]},"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4},"request_id":"req-min"}`

var minimalEvent = providertest.DashScopeEvent(1, minimalBody)

// newFake is an upstream speaking DashScope's native API. Until told
// otherwise it answers the minimal answer, as an event stream when asked
// with X-DashScope-SSE.
func newFake(t *testing.T) *providertest.Upstream {
	t.Helper()
	return providertest.NewUpstream(t, providertest.Script(func(r *http.Request) providertest.Reply {
		if r.Header.Get("X-DashScope-SSE") == "enable" {
			return providertest.DashScope.Stream(minimalEvent)
		}
		return providertest.DashScope.JSON(http.StatusOK, minimalBody)
	}))
}

// newDashScope returns a provisioned provider in front of the upstream at
// url.
func newDashScope(t *testing.T, url string) *DashScope {
	t.Helper()
	return providertest.Provision(t, &DashScope{Base: providers.Base{Name: "ds", BaseURL: url, APIKey: testKey}})
}

// chatCall is the handler's call for body, from a client that asked for
// the model "client-model".
func chatCall(t *testing.T, body string) *providers.Call {
	t.Helper()
	return providertest.NewCall(t, providers.Chat, []byte(body), "client-model")
}

// normalise replaces the per-answer id and clock so answers compare.
func normalise(t *testing.T, doc []byte) []byte {
	t.Helper()
	return providertest.SetMembers(t, doc, "id", `"chatcmpl-ID"`, "created", "0")
}

func TestModuleInfo(t *testing.T) {
	info := DashScope{}.CaddyModule()
	if info.ID != "http.llm_gateway.providers.dashscope" {
		t.Errorf("module ID %s", info.ID)
	}
	if _, ok := info.New().(*DashScope); !ok {
		t.Error("New does not return a *DashScope")
	}
	if _, ok := info.New().(providers.ModelLister); ok {
		t.Error("DashScope has no model list, it must not claim one")
	}
}

// TestBaseURL: the default host, DASHSCOPE_BASE_URL when base_url is
// empty (as the public DashScope service is set up), an explicit
// base_url, and a pasted /api/v1 suffix.
func TestBaseURL(t *testing.T) {
	cases := []struct {
		name, env, baseURL, want string
	}{
		{"default", "", "", "https://dashscope.aliyuncs.com"},
		{"environment", "https://dashscope-intl.aliyuncs.com", "", "https://dashscope-intl.aliyuncs.com"},
		{"explicit wins", "https://dashscope-intl.aliyuncs.com", "https://dashscope-us.aliyuncs.com/", "https://dashscope-us.aliyuncs.com"},
		{"api/v1 suffix", "", "https://dashscope-intl.aliyuncs.com/api/v1/", "https://dashscope-intl.aliyuncs.com"},
		{"proxy prefix", "", "http://proxy.internal:8080/dashscope", "http://proxy.internal:8080/dashscope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(BaseURLEnv, tc.env)
			d := &DashScope{Base: providers.Base{Name: "ds", BaseURL: tc.baseURL}}
			if err := d.Provision(caddy.Context{}); err != nil {
				t.Fatal(err)
			}
			if got := d.URL().String(); got != tc.want {
				t.Errorf("base URL %s, want %s", got, tc.want)
			}
			if got := d.target(textPath); got != tc.want+"/api/v1/services/aigc/text-generation/generation" {
				t.Errorf("chat URL %s", got)
			}
		})
	}
}

func TestProvisionDefaultsAndPatterns(t *testing.T) {
	d := &DashScope{Base: providers.Base{Name: "ds"}}
	if err := d.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	for model, want := range map[string]bool{
		"qwen-vl-max": true, "qwen2.5-vl-72b-instruct": true, "qwen3-vl-plus": true, "qvq-max": true,
		"qwen-omni-turbo": true, "qwen3.5-plus": true, "qwen-plus": false, "qwen3-max": false, "farui-plus": false,
	} {
		if got := matches(d.MultimodalModels, model); got != want {
			t.Errorf("multimodal %s = %v", model, got)
		}
	}
	for model, want := range map[string]bool{"qwq-plus": true, "qvq-max": true, "qwen3-omni-flash": true, "qwen-plus": false} {
		if got := matches(d.StreamOnlyModels, model); got != want {
			t.Errorf("stream only %s = %v", model, got)
		}
	}
	bad := &DashScope{Base: providers.Base{Name: "ds"}, MultimodalModels: []string{"qwen[-vl"}}
	if err := bad.Provision(caddy.Context{}); err == nil || !strings.Contains(err.Error(), "qwen[-vl") {
		t.Errorf("bad pattern: %v", err)
	}
	empty := &DashScope{Base: providers.Base{Name: "ds"}}
	if err := json.Unmarshal([]byte(`{"multimodal_models":[]}`), empty); err != nil {
		t.Fatal(err)
	}
	if err := empty.Provision(caddy.Context{}); err != nil || matches(empty.MultimodalModels, "qwen-vl-max") {
		t.Errorf("an explicit empty list must turn the defaults off: %v %v", err, empty.MultimodalModels)
	}
}

func TestUnmarshalCaddyfile(t *testing.T) {
	input := `provider ali dashscope {
		base_url https://dashscope-intl.aliyuncs.com
		api_key {env.DASHSCOPE_API_KEY}
		multimodal_models qwen*-vl* my-vision-model
		multimodal_models qvq*
		stream_only_models qwq*
		header X-DashScope-WorkSpace ws-123
		dial_timeout 5s
	}`
	var d DashScope
	if err := d.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	if d.Name != "ali" || d.BaseURL != "https://dashscope-intl.aliyuncs.com" || d.APIKey != "{env.DASHSCOPE_API_KEY}" ||
		!reflect.DeepEqual(d.MultimodalModels, []string{"qwen*-vl*", "my-vision-model", "qvq*"}) ||
		!reflect.DeepEqual(d.StreamOnlyModels, []string{"qwq*"}) || d.Header.Get("X-DashScope-WorkSpace") != "ws-123" {
		t.Errorf("parsed %+v", d)
	}
	for _, bad := range []string{
		"provider ali dashscope {\n multimodal_models\n}",
		"provider ali dashscope {\n stream_only_models\n}",
		"provider ali dashscope {\n model_list x\n}",
	} {
		var d DashScope
		if err := d.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	opts := (&DashScope{}).CaddyfileOptions()
	for _, name := range []string{"multimodal_models", "stream_only_models"} {
		if opts[name] == nil {
			t.Errorf("option %s is not documented", name)
		}
	}
}
