package handler

import (
	"io"
	"net/http"
	"regexp"
	"testing"
)

// TestModelListInAnthropicShape answers Anthropic's clients, which send
// anthropic-version, in Anthropic's shape, and everyone else in OpenAI's.
func TestModelListInAnthropicShape(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {})
	p := openAIProvider(t, "up", up.URL)
	srv := gateway(t, Config{Routes: []Route{route("claude-sonnet", Target{Provider: p}), route("gpt-4o", Target{Provider: p})}})
	created := regexp.MustCompile(`"created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"`)
	get := func(path string, anthropicVersion string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if anthropicVersion != "" {
			req.Header.Set("anthropic-version", anthropicVersion)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		return created.ReplaceAllString(string(body), `"created_at":"T"`)
	}
	want := `{"data":[{"type":"model","id":"claude-sonnet","display_name":"claude-sonnet","created_at":"T"},` +
		`{"type":"model","id":"gpt-4o","display_name":"gpt-4o","created_at":"T"}],"has_more":false,"first_id":"claude-sonnet","last_id":"gpt-4o"}`
	if got := get("/v1/models", "2023-06-01"); got != want {
		t.Errorf("Anthropic's list:\n got %s\nwant %s", got, want)
	}
	if got := get("/v1/models/gpt-4o", "2023-06-01"); got != `{"type":"model","id":"gpt-4o","display_name":"gpt-4o","created_at":"T"}` {
		t.Errorf("Anthropic's model: %s", got)
	}
	openAI := regexp.MustCompile(`^\{"object":"list","data":\[\{"id":"claude-sonnet","object":"model","created":\d+,"owned_by":"up"\},`)
	if got := get("/v1/models", ""); !openAI.MatchString(got) {
		t.Errorf("OpenAI's list: %s", got)
	}
}
