package handler

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestRequestID(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "upstream-id-1")
		_, _ = io.WriteString(w, chatCompletion)
	})
	base := gateway(t, Config{Routes: []Route{route("fast", Target{Provider: openAIProvider(t, "up", up.URL)})}}).URL
	cases := []struct{ sent, want string }{
		{"client-id-42", "client-id-42"},
		{"tab\tinside", ""},
		{"naïve", ""},
		{strings.Repeat("a", 129), ""},
	}
	for _, tc := range cases {
		resp, _ := postWith(t, base+"/v1/chat/completions", `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"X-Request-Id": tc.sent})
		got := resp.Header.Get("X-Request-Id")
		// A refused id is not echoed; outside Caddy there is no UUID to
		// stand in for it (integration tests check that one).
		if (tc.want != "" && got != tc.want) || (tc.want == "" && got == tc.sent) {
			t.Errorf("sent %q: X-Request-Id = %q, want %q", tc.sent, got, tc.want)
		}
		if tc.want != "" && resp.Header.Get("X-Upstream-Request-Id") != "upstream-id-1" {
			t.Errorf("the upstream's id is not relayed apart: %v", resp.Header)
		}
	}
}
