package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// update rewrites the golden output files from what the code produces:
// go test ./providers/anthropic/ -update (then review the diff).
var update = flag.Bool("update", false, "rewrite golden output files")

const (
	testKey   = "sk-ant-test-key"
	testModel = "claude-sonnet-4-5"
)

// seen is what the fake upstream received.
type seen struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// fakeAnthropic speaks the Messages API's wire format: it records each
// request and answers with the status, headers and body it was given
// (SSE bodies are written in pieces, flushed, as Anthropic streams).
type fakeAnthropic struct {
	srv *httptest.Server

	mu     sync.Mutex
	got    []seen
	status int
	header http.Header
	body   []byte
}

func newFake(t *testing.T) *fakeAnthropic {
	t.Helper()
	f := &fakeAnthropic{status: http.StatusOK}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		status, header, answer := f.status, f.header, f.body
		f.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Request-Id", "req_011CTest")
		if bytes.HasPrefix(answer, []byte("event:")) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(status)
			for _, ev := range bytes.SplitAfter(answer, []byte("\n\n")) {
				_, _ = w.Write(ev)
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// answer sets the next answers.
func (f *fakeAnthropic) answer(status int, header http.Header, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.header, f.body = status, header, body
}

func (f *fakeAnthropic) last(t *testing.T) seen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		t.Fatal("the upstream received no request")
	}
	return f.got[len(f.got)-1]
}

func (f *fakeAnthropic) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

// provider returns a provisioned provider pointed at the fake upstream.
func provider(t *testing.T, f *fakeAnthropic) *Anthropic {
	t.Helper()
	a := &Anthropic{Base: providers.Base{Name: "claude", BaseURL: f.srv.URL, APIKey: testKey,
		Header: http.Header{"Anthropic-Beta": {"interleaved-thinking-2025-05-14"}}}}
	if err := a.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Cleanup() })
	return a
}

// chatCall is the call the handler makes for an OpenAI chat body.
func chatCall(t *testing.T, body []byte) *providers.Call {
	t.Helper()
	var head struct {
		Stream bool `json:"stream"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		t.Fatalf("test request: %v", err)
	}
	return &providers.Call{Op: providers.Chat, Model: testModel, ClientModel: "claude", Body: body, Stream: head.Stream}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with the golden file as canonical JSON (one value,
// or one per line for .jsonl), or rewrites the file under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readFile(t, path)
	if strings.HasSuffix(path, ".jsonl") {
		gotLines, wantLines := lines(got), lines(want)
		if len(gotLines) != len(wantLines) {
			t.Errorf("%s: got %d lines, want %d:\n%s", path, len(gotLines), len(wantLines), got)
			return
		}
		for i := range gotLines {
			if !sameJSON(t, gotLines[i], wantLines[i]) {
				t.Errorf("%s line %d:\ngot  %s\nwant %s", path, i+1, gotLines[i], wantLines[i])
			}
		}
		return
	}
	if !sameJSON(t, got, want) {
		t.Errorf("%s:\ngot  %s\nwant %s", path, got, want)
	}
}

func lines(b []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	return reflect.DeepEqual(decode(t, a), decode(t, b))
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

// pretty re-indents JSON so golden files are readable.
func pretty(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return append(buf.Bytes(), '\n')
}

// normalise replaces the per-answer id and creation time, which are
// random and clock-bound, with fixed values, keeping the member order.
func normalise(t *testing.T, b []byte) []byte {
	t.Helper()
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	if !strings.HasPrefix(head.ID, "chatcmpl-") {
		t.Errorf("id %q is not a chatcmpl- id", head.ID)
	}
	out, err := jsonscan.Set(b, "id", []byte(`"chatcmpl-test"`))
	if err == nil {
		out, err = jsonscan.Set(out, "created", []byte(`1700000000`))
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// drain reads a stream to its end: the chunks and the final error (nil
// after a clean end).
func drain(t *testing.T, s providers.EventStream) ([][]byte, error) {
	t.Helper()
	defer s.Close()
	var chunks [][]byte
	for {
		c, err := s.Next()
		if errors.Is(err, io.EOF) {
			return chunks, nil
		}
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, append([]byte(nil), c...))
	}
}

// sseBody writes chunks as the handler relays them, for schema checks.
func sseBody(chunks [][]byte, tail string) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		b.WriteString("data: ")
		b.Write(c)
		b.WriteString("\n\n")
	}
	b.WriteString(tail)
	return b.Bytes()
}

func send(t *testing.T, a *Anthropic, body []byte) (*providers.Response, error) {
	t.Helper()
	return a.Send(context.Background(), chatCall(t, body))
}
