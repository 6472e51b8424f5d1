package gemini

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestStreamGolden has the fake upstream stream each
// testdata/stream_<name>.sse (with Gemini's CRLF framing) and compares the
// chunks the client gets, one per line, and how the stream ended with
// stream_<name>.chunks.
func TestStreamGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/stream_*.sse")
	if err != nil || len(files) == 0 {
		t.Fatal("no stream golden files", err)
	}
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	for _, file := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "stream_"), ".sse")
		t.Run(name, func(t *testing.T) {
			native := strings.ReplaceAll(string(providertest.ReadFile(t, file)), "\n", "\r\n")
			fake.Reply(providertest.Gemini.Stream(native))
			resp, err := g.Send(t.Context(), chatCall([]byte(`{"model":"gemini-2.5-flash","stream":true,"n":2,"messages":[{"role":"user","content":"hi"}]}`), true))
			if err != nil {
				t.Fatal(err)
			}
			chunks, end := providertest.Drain(t, resp.Stream)
			providertest.ValidateStream(t, chunks, end)
			var out bytes.Buffer
			for _, c := range chunks {
				out.WriteString(providertest.Canonical(t, normalize(t, c)))
				out.WriteByte('\n')
			}
			out.WriteString("# end: " + describeEnd(end) + "\n")
			providertest.Golden(t, "testdata/stream_"+name+".chunks", out.Bytes())
		})
	}
}

func describeEnd(err error) string {
	if e, ok := errors.AsType[*providers.Error](err); ok {
		return fmt.Sprintf("error %d %s %s retry=%s: %s", e.Status, e.Type, e.Code, e.RetryAfter, e.Message)
	}
	switch {
	case err == nil:
		return "EOF"
	case errors.Is(err, providers.ErrTruncated):
		return "truncated"
	}
	return err.Error()
}

// TestStreamChunksArriveAsSent checks that a chunk reaches the client
// while the upstream is still holding the connection open: the reader
// must not wait for more input than one event.
func TestStreamChunksArriveAsSent(t *testing.T) {
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	release := make(chan struct{})
	fake.Reply(providertest.Gemini.Stream(
		providertest.GeminiEvent(`{"candidates":[{"content":{"parts":[{"text":"first"}],"role":"model"},"index":0}]}`)+
			providertest.GeminiEvent(`{"candidates":[{"content":{"parts":[{"text":"!"}],"role":"model"},"finishReason":"STOP","index":0}]}`)).
		PauseAfter(1, release))
	resp, err := g.Send(t.Context(), chatCall([]byte(`{"messages":[{"role":"user","content":"hi"}]}`), true))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	got := make(chan string, 1)
	go func() {
		_, _ = resp.Stream.Next() // role
		c, _ := resp.Stream.Next()
		got <- string(c)
	}()
	select {
	case c := <-got:
		if !strings.Contains(c, `"content":"first"`) {
			t.Errorf("second chunk = %s", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first text chunk did not arrive before the upstream finished")
	}
	close(release)
	for {
		if _, err := resp.Stream.Next(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("stream ended with %v", err)
			}
			break
		}
	}
}

// TestStreamBrokenConnection: a body that fails mid-read is a truncated
// answer, unless every candidate had already finished.
func TestStreamBrokenConnection(t *testing.T) {
	cases := map[string]struct {
		event string
		want  error
	}{
		"before the finish": {`data: {"candidates":[{"content":{"parts":[{"text":"a"}]}}]}`, providers.ErrTruncated},
		"after the finish":  {`data: {"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"}]}`, nil},
	}
	for name, tc := range cases {
		body := io.NopCloser(io.MultiReader(strings.NewReader(tc.event+"\n\n"), errReader{io.ErrUnexpectedEOF}))
		chunks, err := providertest.Drain(t, newStream(body, "m"))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
		providertest.ValidateStream(t, chunks, err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
