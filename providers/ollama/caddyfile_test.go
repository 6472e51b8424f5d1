package ollama

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

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
			var o Ollama
			err := o.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(&o)
			if canonical(t, got) != canonical(t, []byte(tc.want)) {
				t.Errorf("config = %s\nwant %s", got, tc.want)
			}
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
