package providers

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "lb", 2},
		{"rate_limt", "rate_limit", 1},
		{"weigth", "weight", 1},
		{"timout", "timeout", 1},
		{"api_kye", "api_key", 1},
		{"bogus", "model", 4},
		{"kitten", "sitting", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestParseSuggestsTheClosestOption(t *testing.T) {
	var base Base
	options := base.BaseOptions()
	for _, tc := range []struct{ input, want string }{
		{"provider p {\n\tbase_ulr http://x\n}", "provider p: unrecognized subdirective 'base_ulr' (did you mean 'base_url'?), at Testfile:2"},
		{"provider p {\n\tmax_concurent 2\n}", "(did you mean 'max_concurrent'?)"},
		{"provider p {\n\tfrobnicate\n}", "provider p: unrecognized subdirective 'frobnicate' (known: api_key, base_url, dial_timeout, header, max_concurrent, max_response_body, queue_timeout)"},
	} {
		d := caddyfile.NewTestDispenser(tc.input)
		d.Next()
		d.RemainingArgs()
		err := options.Parse(d, "provider p")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error = %v, want it to contain %q", tc.input, err, tc.want)
		}
	}
}
