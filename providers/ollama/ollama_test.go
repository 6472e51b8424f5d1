package ollama

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// newFake is an upstream speaking Ollama's native API; until told
// otherwise it answers with the testdata answers: NDJSON when the body
// asks for a stream (Ollama's default when `stream` is absent), one
// object otherwise.
func newFake(t *testing.T) *providertest.Upstream {
	t.Helper()
	file := func(name string) string { return string(providertest.ReadFile(t, "testdata/"+name)) }
	chat, chatStream := file("answers/chat_text.native.json"), file("streams/text.ndjson")
	generate, generateStream := file("answers/generate.native.json"), file("streams/generate.ndjson")
	embed := file("answers/embed.native.json")
	return providertest.NewUpstream(t, providertest.Script(func(r *http.Request) providertest.Reply {
		var req struct {
			Stream *bool `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		stream := req.Stream == nil || *req.Stream
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/chat" && stream:
			return providertest.Ollama.Stream(chatStream)
		case r.Method == http.MethodPost && r.URL.Path == "/api/chat":
			return providertest.Ollama.JSON(http.StatusOK, chat)
		case r.Method == http.MethodPost && r.URL.Path == "/api/generate" && stream:
			return providertest.Ollama.Stream(generateStream)
		case r.Method == http.MethodPost && r.URL.Path == "/api/generate":
			return providertest.Ollama.JSON(http.StatusOK, generate)
		case r.Method == http.MethodPost && r.URL.Path == "/api/embed":
			return providertest.Ollama.JSON(http.StatusOK, embed)
		}
		return providertest.Ollama.JSON(http.StatusNotFound, "404 page not found")
	}))
}

// newOllama provisions a provider against url; configure may set options
// before provisioning.
func newOllama(t *testing.T, url string, configure func(*Ollama)) *Ollama {
	t.Helper()
	o := &Ollama{Base: providers.Base{Name: "local", BaseURL: url}}
	if configure != nil {
		configure(o)
	}
	return providertest.Provision(t, o)
}

// configured is a provider with every option of its own set.
func configured(o *Ollama) {
	o.APIKey = "sk-proxy"
	o.KeepAlive = "10m"
	o.NumCtx = 8192
}

// generatedID is an id the provider makes up: an answer's, a legacy
// completion's or a tool call's.
var generatedID = regexp.MustCompile(`"(chatcmpl|cmpl|call)[-_][0-9a-f]{24}"`)

// normalise replaces the generated ids and the creation time.
func normalise(t *testing.T, b []byte) []byte {
	t.Helper()
	b = generatedID.ReplaceAllFunc(b, func(m []byte) []byte {
		prefix := m[1 : len(m)-25]
		return []byte(`"` + string(prefix) + `ID"`)
	})
	return providertest.SetMembers(t, b, "created", "0")
}

func TestUnmarshalCaddyfile(t *testing.T) {
	cases := []struct {
		name, input string
		want        string // the JSON config, or "" for an error
		err         string
	}{
		{"minimal", `provider local ollama`, `{"name":"local"}`, ""},
		{"every option", `provider local ollama {
			base_url http://gpu-box:11434
			api_key {env.OLLAMA_PROXY_KEY}
			header X-Team ml
			dial_timeout 3s
			keep_alive 30m
			num_ctx 16384
			think_boolean
		}`, `{"name":"local","base_url":"http://gpu-box:11434","api_key":"{env.OLLAMA_PROXY_KEY}","header":{"X-Team":["ml"]},"dial_timeout":3000000000,"keep_alive":"30m","num_ctx":16384,"think_boolean":true}`, ""},
		{"keep_alive seconds", `provider local ollama {
			keep_alive -1
		}`, `{"name":"local","keep_alive":"-1"}`, ""},
		{"bad keep_alive", `provider local ollama {
			keep_alive soon
		}`, "", "keep_alive"},
		{"bad num_ctx", `provider local ollama {
			num_ctx lots
		}`, "", "num_ctx"},
		{"twice", `provider local ollama {
			num_ctx 1
			num_ctx 2
		}`, "", "already specified"},
		{"flag with argument", `provider local ollama {
			think_boolean yes
		}`, "", "argument"},
		{"unknown", `provider local ollama {
			temperature 1
		}`, "", "unrecognized subdirective"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			providertest.CheckCaddyfile(t, tc.input, new(Ollama), json.RawMessage(tc.want), tc.err)
		})
	}
}

func TestProvision(t *testing.T) {
	cases := []struct {
		name, config, err string
	}{
		{"defaults", `{"name":"local"}`, ""},
		{"bad keep_alive", `{"name":"local","keep_alive":"soon"}`, "keep_alive"},
		{"bad url", `{"name":"local","base_url":"gpu-box:11434"}`, "base_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var o Ollama
			if err := json.Unmarshal([]byte(tc.config), &o); err != nil {
				t.Fatal(err)
			}
			err := o.Provision(caddy.Context{})
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := o.URL().String(); got != DefaultBaseURL {
					t.Errorf("base URL = %s", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.err)
			}
		})
	}
	o := Ollama{NumCtx: -1}
	if o.Validate() == nil {
		t.Error("a negative num_ctx passed validation")
	}
}

// TestCaddyfileOptionsDocumented checks that the options table is the one
// the parser uses.
func TestCaddyfileOptionsDocumented(t *testing.T) {
	var o Ollama
	opts := o.CaddyfileOptions()
	for _, name := range []string{"keep_alive", "num_ctx", "think_boolean"} {
		if _, ok := opts[name]; !ok {
			t.Errorf("option %s missing", name)
		}
	}
	if len(opts) != 3 {
		t.Errorf("%d options, want 3", len(opts))
	}
}

func TestModuleID(t *testing.T) {
	if id := (Ollama{}).CaddyModule().ID; id != "http.llm_gateway.providers.ollama" {
		t.Errorf("module ID = %s", id)
	}
}
