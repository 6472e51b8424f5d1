package llmgateway

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

func TestCacheAdapt(t *testing.T) {
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(`:8080 {
	llm_gateway {
		provider m mock
		cache redis {env.REDIS_URL} {
			ttl 10m
			max_size 1MiB
			scope group
			models gpt-* text-embedding-3-small
		}
	}
}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `"cache":{"max_size":1048576,"models":["gpt-*","text-embedding-3-small"],"scope":"group","ttl":600000000000,"type":"redis","url":"{env.REDIS_URL}"}`
	if !strings.Contains(string(adapted), want) {
		t.Errorf("adapted JSON lacks %s: %s", want, adapted)
	}
}

func TestCacheDefaults(t *testing.T) {
	g, err := provision(t, "llm_gateway {\n\tprovider m mock\n\tcache memory\n}")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Cleanup() })
	if c := g.Cache; c.TTL != caddy.Duration(time.Hour) || c.MaxSize != 256<<20 || c.Scope != "caller" || c.Models != nil {
		t.Errorf("cache defaults = %+v", c)
	}
	if g.cacheKey == "" {
		t.Error("the memory cache was not taken from the pool")
	}
}

func TestCacheParseErrors(t *testing.T) {
	cases := map[string]struct{ input, want string }{
		"no store":      {"llm_gateway {\n\tcache\n}", "usage: cache memory|redis <redis-url>"},
		"redis, no url": {"llm_gateway {\n\tcache redis\n}", "usage: cache memory|redis <redis-url>"},
		"twice":         {"llm_gateway {\n\tcache memory\n\tcache memory\n}", "cache already specified"},
		"bad scope":     {"llm_gateway {\n\tcache memory {\n\t\tscope everyone\n\t}\n}", `unknown cache scope "everyone" (want caller, group, shared)`},
		"no models":     {"llm_gateway {\n\tcache memory {\n\t\tmodels\n\t}\n}", "wrong argument count"},
		"ttl zero":      {"llm_gateway {\n\tcache memory {\n\t\tttl 0\n\t}\n}", "invalid ttl '0'"},
		"unknown":       {"llm_gateway {\n\tcache memory {\n\t\tsize 1MB\n\t}\n}", "cache: unrecognized subdirective 'size'"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parse(t, tc.input)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := provision(t, "llm_gateway {\n\tprovider m mock\n\tcache memory {\n\t\tmodels gpt*4\n\t}\n}"); err == nil || !strings.Contains(err.Error(), "cache: models:") {
		t.Errorf("a pattern with an inner * was accepted: %v", err)
	}
}
