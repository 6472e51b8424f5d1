package anthropic

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

const streamRequest = `{"model":"claude","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`

// streamOf sends a streamed request answered with the SSE body sse and
// reads the whole translated stream.
func streamOf(t *testing.T, request string, sse []byte) ([][]byte, error) {
	t.Helper()
	up := providertest.NewUpstream(t, providertest.Anthropic.Stream(string(sse)))
	resp, err := send(t, newAnthropic(t, up.URL), []byte(request))
	if err != nil {
		return nil, err
	}
	if resp.Stream == nil || resp.Body != nil {
		t.Fatal("a streamed call must answer with a Stream only")
	}
	return providertest.Drain(t, resp.Stream)
}

// checkChunks validates the chunks as the client would receive them and
// requires one id, created and model for all of them.
func checkChunks(t *testing.T, chunks [][]byte, end error) {
	t.Helper()
	providertest.ValidateStream(t, chunks, end)
	if model := providertest.SameIdentity(t, chunks).Model; model != "claude" {
		t.Errorf("model = %q, want the client's model name", model)
	}
}

// TestStreamGolden streams each testdata/stream/<name>.sse (answering the
// request in <name>.request.json, if any) and compares the chunks with
// <name>.openai.jsonl.
func TestStreamGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/stream/*.sse")
	if len(files) == 0 {
		t.Fatal("no stream cases")
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".sse")
		t.Run(name, func(t *testing.T) {
			req := streamRequest
			if b, err := os.ReadFile(filepath.Join("testdata/stream", name+".request.json")); err == nil {
				req = string(b)
			}
			chunks, err := streamOf(t, req, providertest.ReadFile(t, in))
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			checkChunks(t, chunks, nil)
			var out bytes.Buffer
			for _, c := range chunks {
				out.Write(normalise(t, c))
				out.WriteByte('\n')
			}
			providertest.Golden(t, filepath.Join("testdata/stream", name+".openai.jsonl"), out.Bytes())
		})
	}
}

// TestStreamCRLF reads a stream written with CRLF line ends, which SSE
// allows, the same way.
func TestStreamCRLF(t *testing.T) {
	sse := providertest.ReadFile(t, "testdata/stream/tools.sse")
	lf, err := streamOf(t, streamRequest, sse)
	if err != nil {
		t.Fatal(err)
	}
	crlf, err := streamOf(t, streamRequest, bytes.ReplaceAll(sse, []byte("\n"), []byte("\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if len(lf) != len(crlf) {
		t.Fatalf("%d chunks with CRLF, %d with LF", len(crlf), len(lf))
	}
	for i := range lf {
		if !bytes.Equal(normalise(t, lf[i]), normalise(t, crlf[i])) {
			t.Errorf("chunk %d differs:\n%s\n%s", i, lf[i], crlf[i])
		}
	}
}

// TestStreamTruncated cuts a stream before message_stop at every event
// boundary: the chunks so far arrive, then ErrTruncated, never a finish.
func TestStreamTruncated(t *testing.T) {
	full := providertest.ReadFile(t, "testdata/stream/tools.sse")
	events := bytes.SplitAfter(full, []byte("\n\n"))
	for n := 1; n < len(events)-2; n++ { // the last is empty, the one before it message_stop
		cut := bytes.Join(events[:n], nil)
		chunks, err := streamOf(t, streamRequest, cut)
		if !errors.Is(err, providers.ErrTruncated) {
			t.Fatalf("cut after %d events: err = %v, want ErrTruncated", n, err)
		}
		for _, c := range chunks {
			if bytes.Contains(c, []byte(`"finish_reason":"`)) || bytes.Contains(c, []byte(`"usage"`)) {
				t.Errorf("cut after %d events: a truncated stream sent %s", n, c)
			}
		}
	}
	// A cut inside an event is truncation too.
	chunks, err := streamOf(t, streamRequest, full[:len(full)-20])
	if !errors.Is(err, providers.ErrTruncated) || len(chunks) == 0 {
		t.Errorf("cut inside the last event: %d chunks, err = %v", len(chunks), err)
	}
}

// TestStreamErrorEvent delivers Anthropic's error event after a 200 as a
// *providers.Error, after the chunks that preceded it.
func TestStreamErrorEvent(t *testing.T) {
	sse := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Par\"}}\n\n" +
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	chunks, err := streamOf(t, streamRequest, []byte(sse))
	var e *providers.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *providers.Error", err)
	}
	if e.Status != http.StatusServiceUnavailable || e.Code != "overloaded" || e.Type != "server_error" || e.Message != "Overloaded" {
		t.Errorf("error = %+v", e)
	}
	if len(chunks) != 2 {
		t.Errorf("got %d chunks before the error, want the role and text chunks", len(chunks))
	}
	checkChunks(t, chunks, e)

	// An error as the very first event reaches the handler on its first
	// Next, so it can still fall back to another target.
	chunks, err = streamOf(t, streamRequest, []byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}\n\n"))
	if !errors.As(err, &e) || e.Status != http.StatusTooManyRequests || len(chunks) != 0 {
		t.Errorf("first-event error: %d chunks, err = %v", len(chunks), err)
	}
}

func TestStreamMalformedEvent(t *testing.T) {
	for name, sse := range map[string]string{
		"not JSON":          "event: message_start\ndata: {oops\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n",
		"error without one": "event: error\ndata: {\"type\":\"error\"}\n\n",
	} {
		_, err := streamOf(t, streamRequest, []byte(sse))
		var e *providers.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadGateway {
			t.Errorf("%s: err = %v, want a 502 *providers.Error", name, err)
		}
	}
}

// TestStreamEventNameFallback accepts events whose data lacks the type
// member by their event: name.
func TestStreamEventNameFallback(t *testing.T) {
	sse := "event: message_start\ndata: {\"message\":{\"usage\":{\"input_tokens\":2}}}\n\n" +
		"event: message_delta\ndata: {\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":3}}\n\n" +
		"event: message_stop\ndata: {}\n\n"
	chunks, err := streamOf(t, streamRequest, []byte(sse))
	if err != nil {
		t.Fatal(err)
	}
	checkChunks(t, chunks, nil)
	if len(chunks) != 3 || !bytes.Contains(chunks[1], []byte(`"finish_reason":"length"`)) ||
		!bytes.Contains(chunks[2], []byte(`"prompt_tokens":2,"completion_tokens":3`)) {
		t.Errorf("chunks = %s", bytes.Join(chunks, []byte("\n")))
	}
}
