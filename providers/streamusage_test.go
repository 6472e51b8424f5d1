package providers

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestWithStreamUsage(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"absent":            {`{"model":"m","stream":true}`, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`},
		"null":              {`{"stream_options":null}`, `{"stream_options":{"include_usage":true}}`},
		"false":             {`{"stream_options":{"include_usage":false,"include_obfuscation":false}}`, `{"stream_options":{"include_usage":true,"include_obfuscation":false}}`},
		"other option only": {`{"stream_options":{"continuous_usage_stats":true}}`, `{"stream_options":{"continuous_usage_stats":true,"include_usage":true}}`},
		"already true":      {`{"stream_options":{"include_usage":true}}`, `{"stream_options":{"include_usage":true}}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := WithStreamUsage([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("invalid JSON %s: %v", got, err)
			}
			_ = json.Unmarshal([]byte(tc.want), &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := WithStreamUsage([]byte(`{"stream_options":"yes"}`)); err == nil {
		t.Error("a non-object stream_options was accepted")
	}
}

func TestRelayHeader(t *testing.T) {
	h := map[string][]string{
		"X-Request-Id":                   {"req_1"},
		"X-Ratelimit-Limit-Requests":     {"100"},
		"X-Ratelimit-Remaining-Tokens":   {"5000"},
		"X-Ratelimit-Reset-Tokens":       {"6m0s"},
		"Openai-Organization":            {"org-secret"},
		"Set-Cookie":                     {"a=b"},
		"X-Ratelimit-Something-Internal": {"x"},
	}
	got := RelayHeader(h)
	if len(got) != 4 || got.Get("X-Request-Id") != "req_1" || got.Get("Openai-Organization") != "" || got.Get("Set-Cookie") != "" {
		t.Errorf("relayed %v", got)
	}
}
