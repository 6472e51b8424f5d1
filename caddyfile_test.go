package llmgateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parse unmarshals a Caddyfile llm_gateway block.
func parse(t *testing.T, input string) (*Gateway, error) {
	t.Helper()
	g := new(Gateway)
	return g, g.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
}

// provision parses input, round-trips it through JSON as Caddy does, and
// provisions and validates it.
func provision(t *testing.T, input string) (*Gateway, error) {
	t.Helper()
	parsed, err := parse(t, input)
	if err != nil {
		t.Fatalf("parsing: %v", err)
	}
	raw, err := json.Marshal(parsed)
	if err != nil {
		t.Fatal(err)
	}
	g := new(Gateway)
	if err := json.Unmarshal(raw, g); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := g.Provision(ctx); err != nil {
		return g, err
	}
	t.Cleanup(func() { _ = g.Cleanup() })
	return g, g.Validate()
}

func TestParseErrors(t *testing.T) {
	cases := map[string]struct{ input, want string }{
		"unknown subdirective":    {"llm_gateway {\n\tbogus 1\n}", "llm_gateway: unrecognized subdirective 'bogus' (known: auth, batch_concurrency, "},
		"subdirective typo":       {"llm_gateway {\n\trate_limt 10 1m\n}", "llm_gateway: unrecognized subdirective 'rate_limt' (did you mean 'rate_limit'?)"},
		"provider option typo":    {"llm_gateway {\n\tprovider openai {\n\t\tapi_kye k\n\t}\n}", "provider openai: unrecognized subdirective 'api_kye' (did you mean 'api_key'?)"},
		"model option typo":       {"llm_gateway {\n\tmodel m a b {\n\t\tweigth a 2\n\t}\n}", "model m: unrecognized subdirective 'weigth' (did you mean 'weight'?)"},
		"auth keys typo":          {"llm_gateway {\n\tauth keys {\n\t\tkye k1\n\t}\n}", "auth keys: unrecognized subdirective 'kye' (did you mean 'key'?)"},
		"key option typo":         {"llm_gateway {\n\tauth keys {\n\t\tkey k1 ops {\n\t\t\tmodel m\n\t\t}\n\t}\n}", "auth key ops: unrecognized subdirective 'model' (did you mean 'models'?)"},
		"responses typo":          {"llm_gateway {\n\tprovider openai {\n\t\tresponse translate\n\t}\n}", "provider openai: unrecognized subdirective 'response' (did you mean 'responses'?)"},
		"responses mode":          {"llm_gateway {\n\tprovider az azure {\n\t\tresponses relay\n\t}\n}", "invalid responses 'relay': want native or translate"},
		"auth jwt typo":           {"llm_gateway {\n\tauth jwt {\n\t\tisuer me\n\t}\n}", "auth jwt: unrecognized subdirective 'isuer' (did you mean 'issuer'?)"},
		"unknown provider type":   {"llm_gateway {\n\tprovider x nope\n}", "unknown provider type 'nope' (known: anthropic, azure, "},
		"provider without name":   {"llm_gateway {\n\tprovider\n}", "usage: provider <name> [<type>]"},
		"provider option":         {"llm_gateway {\n\tprovider openai {\n\t\tfrobnicate\n\t}\n}", "provider openai: unrecognized subdirective 'frobnicate'"},
		"api_key twice":           {"llm_gateway {\n\tprovider openai {\n\t\tapi_key a\n\t\tapi_key b\n\t}\n}", "api_key already specified"},
		"model without target":    {"llm_gateway {\n\tmodel gpt4\n}", "model gpt4: name at least one target"},
		"model twice":             {"llm_gateway {\n\tmodel a p\n\tmodel a q\n}", "model a already specified"},
		"wildcard renames":        {"llm_gateway {\n\tmodel * p/x\n}", "a wildcard route keeps the requested name"},
		"target without name":     {"llm_gateway {\n\tmodel a /x\n}", "target '/x' has no provider name"},
		"bad max_body":            {"llm_gateway {\n\tmax_body lots\n}", "invalid max_body 'lots'"},
		"bad timeout":             {"llm_gateway {\n\ttimeout soon\n}", "invalid timeout 'soon'"},
		"unknown auth mode":       {"llm_gateway {\n\tauth magic\n}", "unknown auth mode 'magic'"},
		"auth keys without keys":  {"llm_gateway {\n\tauth keys {\n\t}\n}", "add at least one `key <secret> [<name>]` line"},
		"bad delay":               {"llm_gateway {\n\tprovider m mock {\n\t\tdelay slow\n\t}\n}", "invalid delay 'slow'"},
		"azure deployment args":   {"llm_gateway {\n\tprovider az azure {\n\t\tdeployment gpt-4o\n\t}\n}", "wrong argument count"},
		"batch_concurrency zero":  {"llm_gateway {\n\tbatch_concurrency 0\n}", "invalid batch_concurrency '0'"},
		"batch_max words":         {"llm_gateway {\n\tbatch_max many\n}", "invalid batch_max 'many'"},
		"batch_max twice":         {"llm_gateway {\n\tbatch_max 3\n\tbatch_max 4\n}", "batch_max already specified"},
		"batch_max no value":      {"llm_gateway {\n\tbatch_max\n}", "wrong argument count"},
		"response_store redis":    {"llm_gateway {\n\tresponse_store redis\n}", "usage: response_store memory|redis <redis-url>|off"},
		"response_store sqlite":   {"llm_gateway {\n\tresponse_store sqlite\n}", "usage: response_store memory|redis <redis-url>|off"},
		"response_store twice":    {"llm_gateway {\n\tresponse_store off\n\tresponse_store memory\n}", "response_store already specified"},
		"response_store ttl zero": {"llm_gateway {\n\tresponse_store memory {\n\t\tttl 0\n\t}\n}", "invalid ttl '0'"},
		"response_store unknown":  {"llm_gateway {\n\tresponse_store memory {\n\t\tsize 1MB\n\t}\n}", "response_store: unrecognized subdirective 'size'"},
		"max_attempts zero":       {"llm_gateway {\n\tmax_attempts 0\n}", "invalid max_attempts '0'"},
		"max_attempts twice":      {"llm_gateway {\n\tmax_attempts 2\n\tmax_attempts 3\n}", "max_attempts already specified"},
		"first_token_timeout bad": {"llm_gateway {\n\tfirst_token_timeout soon\n}", "invalid first_token_timeout 'soon'"},
		"first_token_timeout 0":   {"llm_gateway {\n\tfirst_token_timeout 0s\n}", "invalid first_token_timeout '0'"},
		"stream_idle_timeout neg": {"llm_gateway {\n\tstream_idle_timeout -1s\n}", "invalid stream_idle_timeout '-1s'"},
		"keepalive no value":      {"llm_gateway {\n\tkeepalive\n}", "wrong argument count"},
		"keepalive twice":         {"llm_gateway {\n\tkeepalive 15s\n\tkeepalive 20s\n}", "keepalive already specified"},
		"unknown lb":              {"llm_gateway {\n\tlb fastest\n}", "unknown load-balancing policy 'fastest' (known: first, round_robin, weighted, least_busy)"},
		"unknown model lb":        {"llm_gateway {\n\tmodel m a b {\n\t\tlb random\n\t}\n}", "unknown load-balancing policy 'random'"},
		"model lb twice":          {"llm_gateway {\n\tmodel m a b {\n\t\tlb weighted\n\t\tlb first\n\t}\n}", "lb already specified"},
		"model block option":      {"llm_gateway {\n\tmodel m a b {\n\t\tpriority a\n\t}\n}", "model m: unrecognized subdirective 'priority' (known: lb, weight)"},
		"weight zero":             {"llm_gateway {\n\tmodel m a b {\n\t\tweight a 0\n\t}\n}", "model m: invalid weight '0' for a: want a whole number of at least 1"},
		"weight words":            {"llm_gateway {\n\tmodel m a b {\n\t\tweight a heavy\n\t}\n}", "invalid weight 'heavy'"},
		"weight no value":         {"llm_gateway {\n\tmodel m a b {\n\t\tweight a\n\t}\n}", "wrong argument count"},
		"weight twice":            {"llm_gateway {\n\tmodel m a b {\n\t\tweight a 2\n\t\tweight a 3\n\t}\n}", "weight for a already specified"},
		"weight unknown target": {"llm_gateway {\n\tmodel m az/gpt-4o b {\n\t\tweight az 2\n\t}\n}",
			"model m: weight names 'az', which is not one of the model's targets (az/gpt-4o, b)"},
		"cooldown negative":       {"llm_gateway {\n\tcooldown -1s\n}", "invalid cooldown '-1s'"},
		"cooldown zero":           {"llm_gateway {\n\tcooldown 0s\n}", "invalid cooldown '0'"},
		"probe_interval bad":      {"llm_gateway {\n\tprobe_interval often\n}", "invalid probe_interval 'often'"},
		"fail_threshold negative": {"llm_gateway {\n\tfail_threshold -1\n}", "invalid fail_threshold '-1'"},
		"fail_threshold twice":    {"llm_gateway {\n\tfail_threshold 2\n\tfail_threshold off\n}", "fail_threshold already specified"},
		"prices twice":            {"llm_gateway {\n\tprices a.json\n\tprices b.json\n}", "prices already specified"},
		"price without model":     {"llm_gateway {\n\tprice {\n\t\tinput 1\n\t}\n}", "usage: price <model>"},
		"price without prices":    {"llm_gateway {\n\tprice m {\n\t}\n}", "price m: set input or output, or both"},
		"price not a number":      {"llm_gateway {\n\tprice m {\n\t\tinput cheap\n\t}\n}", `input: invalid price "cheap"`},
		"price negative":          {"llm_gateway {\n\tprice m {\n\t\toutput -2\n\t}\n}", "a price cannot be negative"},
		"price typo":              {"llm_gateway {\n\tprice m {\n\t\tcached 1\n\t}\n}", "price m: unrecognized subdirective 'cached' (known: cache_write, cached_input, input, output)"},
		"price twice":             {"llm_gateway {\n\tprice m {\n\t\tinput 1\n\t}\n\tprice m {\n\t\tinput 2\n\t}\n}", "price m already specified"},
		"budget no period":        {"llm_gateway {\n\tbudget 5\n}", "usage: budget <usd> <period>"},
		"budget bad period":       {"llm_gateway {\n\tbudget 5 yearly\n}", `invalid period "yearly"`},
		"budget zero":             {"llm_gateway {\n\tbudget 0 daily\n}", "the amount must be above 0"},
		"budget words":            {"llm_gateway {\n\tbudget lots daily\n}", `invalid amount "lots"`},
		"budget twice":            {"llm_gateway {\n\tbudget 5 daily\n\tbudget 6 daily\n}", "budget already specified"},
		"group without name":      {"llm_gateway {\n\tgroup {\n\t}\n}", "usage: group <name>"},
		"group twice":             {"llm_gateway {\n\tgroup t\n\tgroup t\n}", "group t already specified"},
		"group option":            {"llm_gateway {\n\tgroup t {\n\t\tbudgets 5 daily\n\t}\n}", "group t: unrecognized subdirective 'budgets' (did you mean 'budget'?)"},
		"key budget bad":          {"llm_gateway {\n\tauth keys {\n\t\tkey k1 a {\n\t\t\tbudget 5 often\n\t\t}\n\t}\n}", `invalid period "often"`},
		"price input twice":       {"llm_gateway {\n\tprice m {\n\t\tinput 1\n\t\tinput 2\n\t}\n}", "input already specified"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parse(t, tc.input)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "Testfile:") {
				t.Errorf("error %q does not name the line", err)
			}
		})
	}
}

// TestProviderLineErrorsPointAtIt: errors about a provider's own line
// name that line, not the end of its block.
func TestProviderLineErrorsPointAtIt(t *testing.T) {
	for _, input := range []string{
		"llm_gateway {\n\tprovider x nope {\n\t\tbase_url http://127.0.0.1:1\n\t}\n}",
		"llm_gateway {\n\tprovider a b c {\n\t\tbase_url http://127.0.0.1:1\n\t}\n}",
	} {
		if _, err := parse(t, input); err == nil || !strings.HasSuffix(err.Error(), "at Testfile:2") {
			t.Errorf("%q: error = %v, want it at Testfile:2", input, err)
		}
	}
}

func TestParseEveryOption(t *testing.T) {
	g, err := parse(t, `llm_gateway {
		provider azure {
			endpoint https://res.openai.azure.com
			api_key {env.AZURE_KEY}
			api_version 2024-10-21
			deployment gpt-4o prod-4o
			header X-Team research
			dial_timeout 5s
		}
		provider local openai {
			base_url http://127.0.0.1:8000/v1
			disable_stream_usage
		}
		model gpt4 azure/gpt-4o local/meta-llama/Llama-3-8B
		model * local
		auth keys {
			key {env.TEAM_KEY} team {
				models gpt4
			}
			key sha256:0000000000000000000000000000000000000000000000000000000000000000
		}
		default_model gpt4
		max_body 1MiB
		timeout 2m
		max_attempts 4
		first_token_timeout 20s
		stream_idle_timeout 90s
		keepalive 15s
		batch_concurrency 8
		batch_max 64
		response_store memory {
			ttl 24h
			max_size 1MiB
		}
		lb least_busy
		fail_threshold 5
		cooldown 30s
		probe_interval 1m
		budget 2.50 daily
		group research {
			budget 100 monthly
			rate_limit 100 1m
		}
		prices {env.PRICES}
		price gpt4 {
			input 2.50
			output 10
			cached_input 1.25
		}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if b := g.Budget; b == nil || b.USD != "2.50" || b.Period != "daily" {
		t.Errorf("budget = %+v", b)
	}
	if r := g.Groups["research"]; r == nil || r.Budget == nil || r.Budget.USD != "100" || r.Budget.Period != "monthly" || r.RateLimit == nil || r.RateLimit.Limit != 100 {
		t.Errorf("group research = %+v", r)
	}
	if p := g.Price["gpt4"]; g.Prices != "{env.PRICES}" || p == nil || p.Input != "2.50" || p.Output != "10" || p.CachedInput != "1.25" || p.CacheWrite != "" {
		t.Errorf("prices = %q, price gpt4 = %+v", g.Prices, p)
	}
	if g.LB != "least_busy" || *g.FailThreshold != 5 || g.Cooldown != caddy.Duration(30*time.Second) || g.ProbeInterval != caddy.Duration(time.Minute) {
		t.Errorf("balancing options = %q, %d, %v, %v", g.LB, *g.FailThreshold, g.Cooldown, g.ProbeInterval)
	}
	if g.MaxAttempts != 4 || g.FirstTokenTimeout != caddy.Duration(20*time.Second) ||
		g.StreamIdleTimeout != caddy.Duration(90*time.Second) || g.Keepalive != caddy.Duration(15*time.Second) {
		t.Errorf("retry options = %d, %v, %v, %v", g.MaxAttempts, g.FirstTokenTimeout, g.StreamIdleTimeout, g.Keepalive)
	}
	if g.BatchConcurrency != 8 || g.BatchMax != 64 {
		t.Errorf("batch options = %d, %d", g.BatchConcurrency, g.BatchMax)
	}
	if rs := g.ResponseStore; rs == nil || rs.Type != "memory" || rs.TTL != caddy.Duration(24*time.Hour) || rs.MaxSize != 1<<20 {
		t.Errorf("response_store = %+v", rs)
	}
	if len(g.ProvidersRaw) != 2 || len(g.Models) != 2 || g.MaxBody != 1<<20 || g.DefaultModel != "gpt4" {
		t.Fatalf("parsed %+v", g)
	}
	if got := g.Models[0].Targets[1]; got.Provider != "local" || got.Model != "meta-llama/Llama-3-8B" {
		t.Errorf("a target is split at its first slash only; got %+v", got)
	}
	var az map[string]any
	if err := json.Unmarshal(g.ProvidersRaw[0], &az); err != nil {
		t.Fatal(err)
	}
	if az["provider"] != "azure" || az["name"] != "azure" || az["api_key"] != "{env.AZURE_KEY}" || az["base_url"] != "https://res.openai.azure.com" {
		t.Errorf("azure provider JSON = %v", az)
	}
	if k := g.Auth.Keys[0]; k.Key != "{env.TEAM_KEY}" || k.Name != "team" || k.Models[0] != "gpt4" {
		t.Errorf("auth key = %+v", k)
	}
}

func TestProvisionErrors(t *testing.T) {
	t.Setenv("EMPTY_KEY", "")
	for _, name := range []string{"UNSET_KEY", "UNSET_REDIS_URL"} {
		t.Setenv(name, "") // restored after the test
		if err := os.Unsetenv(name); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]struct{ input, want string }{
		"no provider": {"llm_gateway {\n}", "no provider configured"},
		"unknown target provider": {"llm_gateway {\n\tprovider a mock\n\tmodel m azur/gpt-4o\n}",
			`model "m": target "azur/gpt-4o" names unknown provider "azur" (configured: a)`},
		"several providers, no routes": {"llm_gateway {\n\tprovider a mock\n\tprovider b mock\n}", "2 providers are configured but no `model` line"},
		"duplicate provider":           {"llm_gateway {\n\tprovider a mock\n\tprovider a mock\n}", `provider "a" is defined twice`},
		"azure without api_version":    {"llm_gateway {\n\tprovider az azure {\n\t\tendpoint https://x.openai.azure.com\n\t}\n}", "azure needs api_version"},
		"azure without endpoint":       {"llm_gateway {\n\tprovider az azure {\n\t\tapi_version 2024-10-21\n\t}\n}", "azure needs the resource endpoint"},
		"malformed url":                {"llm_gateway {\n\tprovider o openai {\n\t\tbase_url api.openai.com/v1\n\t}\n}", "must be an absolute http:// or https:// URL"},
		"empty env key": {"llm_gateway {\n\tprovider m mock\n\tauth keys {\n\t\tkey {env.EMPTY_KEY} ops\n\t}\n}",
			"auth key ops: the key is empty: {env.EMPTY_KEY} resolved to an empty value: environment variable EMPTY_KEY is empty"},
		"unset env key": {"llm_gateway {\n\tprovider m mock\n\tauth keys {\n\t\tkey {env.UNSET_KEY} ops\n\t}\n}",
			"auth key ops: the key is empty: {env.UNSET_KEY} resolved to an empty value: environment variable UNSET_KEY is not set"},
		"unset redis url": {"llm_gateway {\n\tprovider m mock\n\trate_limit 10 1m\n\trate_limit_store redis {env.UNSET_REDIS_URL}\n}",
			"rate_limit_store redis: the URL is empty: {env.UNSET_REDIS_URL} resolved to an empty value: environment variable UNSET_REDIS_URL is not set"},
		"empty jwt secret": {"llm_gateway {\n\tprovider m mock\n\tauth jwt {\n\t\tsecret {env.EMPTY_KEY}\n\t}\n}",
			"auth jwt: the secret is empty: {env.EMPTY_KEY} resolved to an empty value: environment variable EMPTY_KEY is empty"},
		"empty provider key": {"llm_gateway {\n\tprovider o openai {\n\t\tapi_key {env.EMPTY_KEY}\n\t}\n}", "api_key {env.EMPTY_KEY} resolved to an empty value"},
		"empty endpoint":     {"llm_gateway {\n\tprovider az azure {\n\t\tendpoint {env.EMPTY_KEY}\n\t\tapi_version v1\n\t}\n}", "resolved to an empty value"},
		"bad sha256":         {"llm_gateway {\n\tprovider m mock\n\tauth keys {\n\t\tkey sha256:abc\n\t}\n}", "wants 64 hex digits"},
		"allow-list without route": {"llm_gateway {\n\tprovider m mock\n\tmodel a m\n\tauth keys {\n\t\tkey k1 ops {\n\t\t\tmodels b\n\t\t}\n\t}\n}",
			`auth key ops: model "b" has no`},
		"default_model without route": {"llm_gateway {\n\tprovider m mock\n\tmodel a m\n\tdefault_model b\n}", `default_model "b" has no`},
		"weight without weighted": {"llm_gateway {\n\tprovider a mock\n\tprovider b mock\n\tlb round_robin\n\tmodel m a b {\n\t\tweight a 3\n\t}\n}",
			`model "m": target "a" has a weight, but the route's lb policy is round_robin; weights apply to lb weighted only`},
		"weight under the default policy": {"llm_gateway {\n\tprovider a mock\n\tmodel m a {\n\t\tweight a 3\n\t}\n}",
			"the route's lb policy is first"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := provision(t, tc.input)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRetryAndTimeoutDefaults(t *testing.T) {
	g, err := provision(t, "llm_gateway {\n\tprovider mock\n}")
	if err != nil {
		t.Fatal(err)
	}
	if g.MaxAttempts != 0 || g.Keepalive != 0 ||
		g.FirstTokenTimeout != caddy.Duration(60*time.Second) || g.StreamIdleTimeout != caddy.Duration(5*time.Minute) ||
		g.Timeout != caddy.Duration(10*time.Minute) {
		t.Errorf("defaults: max_attempts %d, keepalive %v, first_token_timeout %v, stream_idle_timeout %v, timeout %v",
			g.MaxAttempts, g.Keepalive, g.FirstTokenTimeout, g.StreamIdleTimeout, g.Timeout)
	}
	for name, g := range map[string]*Gateway{
		"max_attempts":        {MaxAttempts: -1},
		"first_token_timeout": {FirstTokenTimeout: -1},
		"stream_idle_timeout": {StreamIdleTimeout: -1},
		"keepalive":           {Keepalive: -1},
	} {
		if err := g.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("negative %s: %v", name, err)
		}
	}
}

// TestResponsesModeAdapt writes `responses` of the openai and azure
// types into their JSON, and a config with it provisions.
func TestResponsesModeAdapt(t *testing.T) {
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(`:8080 {
	llm_gateway {
		provider vllm openai {
			base_url http://127.0.0.1:8000/v1
			responses translate
		}
		provider az azure {
			endpoint https://res.openai.azure.com
			api_version 2024-10-21
			responses native
		}
		model a vllm
		model b az
	}
}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"vllm","provider":"openai","responses":"translate"`, `"provider":"azure","responses":"native"`} {
		if !strings.Contains(string(adapted), want) {
			t.Errorf("adapted JSON lacks %s: %s", want, adapted)
		}
	}
	if _, err := provision(t, "llm_gateway {\n\tprovider o openai {\n\t\tresponses translate\n\t}\n}"); err != nil {
		t.Fatal(err)
	}
}

func TestRetryOptionsAdapt(t *testing.T) {
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(`:8080 {
	llm_gateway {
		provider mock
		max_attempts 3
		first_token_timeout 20s
		stream_idle_timeout 2m
		keepalive 15s
	}
}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"max_attempts":3`, `"first_token_timeout":20000000000`, `"stream_idle_timeout":120000000000`, `"keepalive":15000000000`} {
		if !strings.Contains(string(adapted), want) {
			t.Errorf("adapted JSON lacks %s: %s", want, adapted)
		}
	}
}

func TestModelBlockAndBalancingOptions(t *testing.T) {
	g, err := parse(t, `llm_gateway {
		model gpt-4o azure-east/gpt-4o azure-west/gpt-4o openai-backup {
			lb weighted
			weight azure-east/gpt-4o 3
			weight azure-west/gpt-4o 1
		}
		model fast openai
		fail_threshold off
	}`)
	if err != nil {
		t.Fatal(err)
	}
	m := g.Models[0]
	if m.LB != "weighted" || m.Targets[0].Weight != 3 || m.Targets[1].Weight != 1 || m.Targets[2].Weight != 0 {
		t.Errorf("route = %+v", m)
	}
	if g.Models[1].LB != "" || g.Models[1].Name != "fast" {
		t.Errorf("the next model line = %+v", g.Models[1])
	}
	if g.FailThreshold == nil || *g.FailThreshold != 0 {
		t.Errorf("fail_threshold off = %v", g.FailThreshold)
	}

	// Weights are accepted where the policy is weighted by default.
	if _, err := provision(t, "llm_gateway {\n\tprovider a mock\n\tprovider b mock\n\tlb weighted\n\tmodel m a b {\n\t\tweight b 2\n\t}\n}"); err != nil {
		t.Errorf("weighted by default: %v", err)
	}
	// Defaults: breaking on, threshold 3, cooldown 10s, no probes.
	g, err = provision(t, "llm_gateway {\n\tprovider mock\n}")
	if err != nil {
		t.Fatal(err)
	}
	if *g.FailThreshold != 3 || g.Cooldown != caddy.Duration(10*time.Second) || g.ProbeInterval != 0 || g.LB != "" {
		t.Errorf("defaults: fail_threshold %d, cooldown %v, probe_interval %v, lb %q", *g.FailThreshold, g.Cooldown, g.ProbeInterval, g.LB)
	}
	negative := -1
	for name, g := range map[string]*Gateway{
		"fail_threshold": {FailThreshold: &negative},
		"cooldown":       {Cooldown: -1},
		"probe_interval": {ProbeInterval: -1},
	} {
		if err := g.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("negative %s: %v", name, err)
		}
	}
	// JSON config gets the same checks as the Caddyfile.
	bad := new(Gateway)
	if err := json.Unmarshal([]byte(`{"lb":"fastest"}`), bad); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := bad.Provision(ctx); err == nil || !strings.Contains(err.Error(), "unknown load-balancing policy 'fastest'") {
		t.Errorf("JSON lb fastest: %v", err)
	}
}

func TestCleanupStopsTheProbes(t *testing.T) {
	before := goleak.IgnoreCurrent()
	probed := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case probed <- struct{}{}:
		default:
		}
		_, _ = io.WriteString(w, `{"object":"list","data":[]}`)
	}))
	parsed, err := parse(t, "llm_gateway {\n\tprovider o openai {\n\t\tbase_url "+up.URL+"/v1\n\t\tapi_key k\n\t}\n\tprobe_interval 5ms\n}")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(parsed)
	g := new(Gateway)
	if err := json.Unmarshal(raw, g); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	if err := g.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	<-probed
	// Caddy calls Cleanup when it unloads the config.
	if err := g.Cleanup(); err != nil {
		t.Fatal(err)
	}
	cancel()
	up.Close()
	goleak.VerifyNone(t, before)
}
