package providertest

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func TestUpstreamRecordsAndReplies(t *testing.T) {
	up := NewUpstream(t, nil)
	resp, err := http.Post(up.URL+"/v1/x?a=1", "application/json", strings.NewReader(`{"k":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d without a reply, want 404", resp.StatusCode)
	}
	up.Reply(Script(func(r *http.Request) Reply {
		body, _ := io.ReadAll(r.Body)
		return Anthropic.JSON(http.StatusTeapot, string(body)).With("X-Extra", "1")
	}))
	resp, err = http.Post(up.URL+"/again", "application/json", strings.NewReader(`{"k":2}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || string(body) != `{"k":2}` || resp.Header.Get("X-Extra") != "1" ||
		resp.Header.Get("Request-Id") != AnthropicRequestID || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("reply %d %v %s", resp.StatusCode, resp.Header, body)
	}
	seen := up.Requests()
	if up.Count() != 2 || seen[0].Method != http.MethodPost || seen[0].Path != "/v1/x" || seen[0].Query != "a=1" ||
		string(seen[0].Body) != `{"k":1}` || seen[0].Header.Get("Content-Type") != "application/json" || up.Last(t).Path != "/again" {
		t.Errorf("recorded %+v", seen)
	}
}

// TestStreamPausesBetweenPieces reads the first event while the reply
// still holds the second: each piece is flushed as it is written.
func TestStreamPausesBetweenPieces(t *testing.T) {
	release := make(chan struct{})
	up := NewUpstream(t, OpenAI.Stream(OpenAIEvent(`{"n":1}`)+OpenAIEvent(`{"n":2}`)).PauseAfter(1, release))
	resp, err := http.Get(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || line != "data: {\"n\":1}\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(r)
	if string(rest) != "\ndata: {\"n\":2}\n\n" {
		t.Errorf("rest %q", rest)
	}
}

func TestCutDropsTheConnection(t *testing.T) {
	up := NewUpstream(t, OpenAI.Stream(OpenAIEvent(`{"n":1}`)).Cut())
	resp, err := http.Get(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(body) != "data: {\"n\":1}\n\n" {
		t.Errorf("read %q, %v; want the event, then a broken body", body, err)
	}
}

func TestPieces(t *testing.T) {
	for _, tc := range []struct {
		split func(string) []string
		body  string
		want  []string
	}{
		{sseEvents, "data: a\n\ndata: b\n\n", []string{"data: a\n\n", "data: b\n\n"}},
		{sseEvents, "data: a\r\n\r\ndata: b\r\n\r\n", []string{"data: a\r\n\r\n", "data: b\r\n\r\n"}},
		{sseEvents, "event: x\ndata: a\n\ndata: cut", []string{"event: x\ndata: a\n\n", "data: cut"}},
		{ndjsonLines, "{\"a\":1}\n{\"b\":2}\n", []string{"{\"a\":1}\n", "{\"b\":2}\n"}},
		{ndjsonLines, "{\"a\":1}\n{\"b\"", []string{"{\"a\":1}\n", "{\"b\""}},
	} {
		if got := tc.split(tc.body); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestWireErrors(t *testing.T) {
	for got, want := range map[string]string{
		AnthropicError("overloaded_error", "a < b"):      `{"type":"error","error":{"type":"overloaded_error","message":"a < b"},"request_id":"req_011CSHoE"}`,
		DashScopeError("Throttling", "slow"):             `{"code":"Throttling","message":"slow","request_id":"` + DashScopeRequestID + `"}`,
		GoogleError(429, "RESOURCE_EXHAUSTED", "q", ""):  `{"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED","details":[]}}`,
		OllamaError(`model "x" not found`):               `{"error":"model \"x\" not found"}`,
		OpenAIError("bad", "invalid_request_error", "c"): `{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":"c"}}`,
	} {
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestGolden(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// Each compares equal: JSON by content, JSON lines line by line,
	// anything else by its bytes.
	Golden(t, write("a.json", "{\n  \"b\": 1,\n  \"a\": [1.0]\n}\n"), []byte(`{"a":[1.0],"b":1}`))
	Golden(t, write("a.jsonl", "{\"a\":1}\n\n{\"b\":2}\n"), []byte("{ \"a\": 1 }\n{\"b\":2}"))
	Golden(t, write("a.chunks", "x\n"), []byte("x\n"))

	*update = true
	defer func() { *update = false }()
	path := filepath.Join(dir, "new", "b.json")
	Golden(t, path, []byte(`{"z":1,"a":2}`))
	if got := string(ReadFile(t, path)); got != "{\n  \"z\": 1,\n  \"a\": 2\n}\n" {
		t.Errorf("-update wrote %q", got)
	}
}

// word is a provider block of one argument.
type word struct {
	Word string `json:"word"`
}

func (w *word) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if !d.NextArg() {
		return d.ArgErr()
	}
	w.Word = d.Val()
	return nil
}

func TestCheckCaddyfile(t *testing.T) {
	CheckCaddyfile(t, "provider hello", new(word), word{"hello"}, "")
	CheckCaddyfile(t, "provider hello", new(word), json.RawMessage(`{"word":"hello"}`), "")
	CheckCaddyfile(t, "provider", new(word), nil, "argument")
}

func TestSetMembers(t *testing.T) {
	got := SetMembers(t, []byte(`{"id":"chatcmpl-x7","object":"chat.completion","created":1754000000}`), "id", `"chatcmpl-ID"`, "created", "0", "absent", "1")
	if string(got) != `{"id":"chatcmpl-ID","object":"chat.completion","created":0}` {
		t.Errorf("got %s", got)
	}
}

func TestSSE(t *testing.T) {
	chunks := [][]byte{[]byte(`{"a":1}`)}
	for end, want := range map[error]string{
		nil:                    "data: {\"a\":1}\n\ndata: [DONE]\n\n",
		providers.ErrTruncated: "data: {\"a\":1}\n\ndata: {\"error\":{\"message\":\"" + providers.ErrTruncated.Error() + "\",\"type\":\"server_error\",\"param\":null,\"code\":\"upstream_error\"}}\n\n",
	} {
		if got := string(SSE(chunks, end)); got != want {
			t.Errorf("end %v:\n got %q\nwant %q", end, got, want)
		}
	}
}
