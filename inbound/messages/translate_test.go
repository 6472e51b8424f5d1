package messages

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// eachGolden renders each testdata/<dir>/*<in> file and compares the
// result with the golden file beside it whose name ends in out instead
// (go test -update rewrites those).
func eachGolden(t *testing.T, dir, in, out string, render func(t *testing.T, input []byte) []byte) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"+in))
	if len(files) == 0 {
		t.Fatalf("no %s files in testdata/%s", in, dir)
	}
	for _, file := range files {
		name := strings.TrimSuffix(file, in)
		t.Run(filepath.Base(name), func(t *testing.T) {
			providertest.Golden(t, name+out, render(t, providertest.ReadFile(t, file)))
		})
	}
}

// TestToChat translates Messages requests into chat requests.
func TestToChat(t *testing.T) {
	eachGolden(t, "translate", ".request.json", ".chat.json", func(t *testing.T, input []byte) []byte {
		var req request
		if err := json.Unmarshal(input, &req); err != nil {
			t.Fatal(err)
		}
		chat, perr := req.toChat(true)
		if perr != nil {
			t.Fatal(perr)
		}
		got, err := providers.MarshalJSON(chat)
		if err != nil {
			t.Fatal(err)
		}
		return got
	})
}

func TestToChatRefuses(t *testing.T) {
	cases := []struct{ name, body, param string }{
		{"no max_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "max_tokens"},
		{"no messages", `{"model":"m","max_tokens":5,"messages":[]}`, "messages"},
		{"unknown role", `{"max_tokens":5,"messages":[{"role":"tool","content":"hi"}]}`, "messages.0.role"},
		{"bad content", `{"max_tokens":5,"messages":[{"role":"user","content":5}]}`, "messages.0.content"},
		{"document block", `{"max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","data":"x"}}]}]}`, "messages.0.content.0.type"},
		{"file image", `{"max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages.0.content.0.source.type"},
		{"tool input not an object", `{"max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":[1]}]}]}`, "messages.0.content.0.input"},
		{"server tool", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, "tools.0.type"},
		{"tool choice without name", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"tool"}}`, "tool_choice.name"},
		{"unknown tool choice", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"some"}}`, "tool_choice.type"},
		{"system image", `{"max_tokens":5,"system":[{"type":"image"}],"messages":[{"role":"user","content":"hi"}]}`, "system.0.type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var req request
			if err := json.Unmarshal([]byte(tc.body), &req); err != nil {
				t.Fatal(err)
			}
			_, perr := req.toChat(false)
			if perr == nil {
				t.Fatal("translated")
			}
			if perr.Status != 400 || perr.Param != tc.param {
				t.Errorf("got %d %q (%s), want 400 %q", perr.Status, perr.Param, perr.Message, tc.param)
			}
		})
	}
}

func TestReasoningEffort(t *testing.T) {
	cases := []struct{ thinking, effort, want string }{
		{``, ``, ``},
		{`{"type":"disabled"}`, ``, ``},
		{`{"type":"enabled","budget_tokens":1024}`, ``, `low`},
		{`{"type":"enabled","budget_tokens":4096}`, ``, `medium`},
		{`{"type":"enabled","budget_tokens":16384}`, `low`, `high`},
		{`{"type":"adaptive"}`, ``, `medium`},
		{`{"type":"adaptive"}`, `low`, `low`},
		{`{"type":"adaptive"}`, `max`, `xhigh`},
	}
	for _, tc := range cases {
		var req request
		if tc.thinking != "" {
			req.Thinking = new(thinking)
			if err := json.Unmarshal([]byte(tc.thinking), req.Thinking); err != nil {
				t.Fatal(err)
			}
		}
		if tc.effort != "" {
			req.OutputConfig = &outputConfig{Effort: tc.effort}
		}
		if got := req.reasoningEffort(); got != tc.want {
			t.Errorf("thinking %s, effort %q: got %q, want %q", tc.thinking, tc.effort, got, tc.want)
		}
	}
}

// randomIDs are the random parts of message and tool-use ids.
var randomIDs = regexp.MustCompile(`(msg|toolu)_[A-Z2-7]{26}`)

// pinIDs replaces the random ids in an answer or event stream.
func pinIDs(b []byte) []byte { return randomIDs.ReplaceAll(b, []byte("${1}_ID")) }

// TestAnswer turns chat completions into Messages; the request asked
// for the model "fast" with the stop sequence "END".
func TestAnswer(t *testing.T) {
	eachGolden(t, "answer", ".chat.json", ".message.json", func(t *testing.T, input []byte) []byte {
		got, err := answer(input, "fast", []string{"END"})
		if err != nil {
			t.Fatal(err)
		}
		return pinIDs(got)
	})
}

// TestStream renders chat streams, one chunk a line, as event streams; a
// line of `FAIL` cuts the stream there with an upstream error.
func TestStream(t *testing.T) {
	eachGolden(t, "stream", ".chunks.jsonl", ".events", func(t *testing.T, input []byte) []byte {
		enc := translator{stops: []string{"END"}}.Stream("fast")
		var buf []byte
		for _, line := range providertest.Lines(input) {
			if string(line) == "FAIL" {
				buf = enc.Fail(buf, providers.NewError(502, "upstream_error", "the upstream broke off"))
				checkEventOrder(t, buf)
				return pinIDs(buf)
			}
			buf = enc.Chunk(buf, line)
		}
		buf = enc.End(buf)
		checkEventOrder(t, buf)
		return pinIDs(buf)
	})
}
