package handler

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

func TestRouterPrefersExactThenLongestPrefixThenWildcard(t *testing.T) {
	rt := newRouter([]Route{
		route("claude-*"),
		route("*"),
		route("claude-3-5-*"),
		route("claude-3-5-haiku"),
	})
	for model, want := range map[string]string{
		"claude-3-5-haiku":          "claude-3-5-haiku",
		"claude-3-5-haiku-20241022": "claude-3-5-*",
		"claude-3-5-sonnet-latest":  "claude-3-5-*",
		"claude-sonnet-4-20250514":  "claude-*",
		"claude-":                   "claude-*",
		"claude":                    "*",
		"gpt-4o":                    "*",
	} {
		r, ok := rt.resolve(model)
		if !ok || r.Name != want {
			t.Errorf("%q resolved to %v, want %q", model, r, want)
		}
	}
	if _, ok := newRouter([]Route{route("claude-*")}).resolve("gpt-4o"); ok {
		t.Error("a model no route catches resolved")
	}
}

func TestCheckRouteNameRefusesInnerStar(t *testing.T) {
	for _, ok := range []string{"*", "claude-*", "gpt-4o", "meta-llama/Llama-3-8B"} {
		if err := CheckRouteName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "cl*ude", "**", "*-latest"} {
		if CheckRouteName(bad) == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestAllowListPrefixPattern(t *testing.T) {
	c := &Caller{Models: map[string]bool{"claude-*": true, "gpt-4o": true}}
	for model, want := range map[string]bool{
		"claude-3-5-haiku-20241022": true,
		"gpt-4o":                    true,
		"gpt-4o-mini":               false,
		"claud":                     false,
	} {
		if got := c.allows(model); got != want {
			t.Errorf("allows(%q) = %v, want %v", model, got, want)
		}
	}
}

// The model list shows what a prefix route's provider has under that
// prefix, each model where the gateway routes it, and never the pattern.
func TestModelListExpandsPrefixRoutes(t *testing.T) {
	anthropicLike := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"claude-sonnet-4-20250514","object":"model","created":1,"owned_by":"a"},{"id":"claude-3-5-haiku-20241022","object":"model","created":1,"owned_by":"a"},{"id":"other-model","object":"model","created":1,"owned_by":"a"}]}`))
	})
	other := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"claude-sonnet-4-20250514","object":"model","created":1,"owned_by":"b"},{"id":"llama3","object":"model","created":1,"owned_by":"b"}]}`))
	})
	a := openAIProvider(t, "a", anthropicLike.URL)
	b := openAIProvider(t, "b", other.URL)
	srv := gateway(t, Config{Routes: []Route{
		route("fixed", Target{Provider: b}),
		route("claude-*", Target{Provider: a}),
		route("*", Target{Provider: b}),
	}})
	resp, err := http.Get(srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID      string `json:"id"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range list.Data {
		got = append(got, m.ID+"@"+m.OwnedBy)
	}
	want := []string{"fixed@b", "claude-sonnet-4-20250514@a", "claude-3-5-haiku-20241022@a", "llama3@b"}
	if !slices.Equal(got, want) {
		t.Errorf("models %v, want %v", got, want)
	}
}
