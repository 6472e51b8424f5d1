package handler

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// The events of a stream that arrive together are taken from the
// stream's own buffer: what the client gets must be what the filter makes
// of each chunk on its own, in order, whether a chunk passes as it is, is
// shortened in place, is rebuilt elsewhere or is dropped, across reads
// that end mid-event.
func TestLentEventsReachTheClientAsTheFilterLeavesThem(t *testing.T) {
	obfuscated := strings.Replace(chunk("chatcmpl-9x2", "o"), `"usage":null}`, `"usage":null,"obfuscation":"k3Jd"}`, 1)
	promptFilter := `data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0}]}`
	usageOnFinish := strings.Replace(finishChunk, `"usage":null`, `"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}`, 1)
	events := []string{roleChunk, promptFilter}
	// Well over the stream reader's 4 KiB buffer, so that runs end
	// mid-event.
	for i := range 60 {
		events = append(events, chunk("chatcmpl-9x2", strings.Repeat("w", i%7)))
		if i%9 == 0 {
			events = append(events, obfuscated)
		}
		if i == 30 {
			events = append(events, usageOnFinish, promptFilter)
		}
	}
	events = append(events, finishChunk, usageChunk)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		// One write: the gateway reads many events at once.
		_, _ = io.WriteString(w, strings.Join(append(events, doneEventLine), "\n\n")+"\n\n")
	})
	gw := gateway(t, Config{Routes: []Route{route(Wildcard, Target{Provider: openAIProvider(t, "oai", up.URL)})}})

	for _, includeUsage := range []bool{false, true} {
		// The oracle: each chunk through the filter alone.
		f := chunkFilter{includeUsage: includeUsage}
		var want strings.Builder
		for _, e := range events {
			if payload, keep := f.apply([]byte(strings.TrimPrefix(e, "data: "))); keep {
				want.WriteString("data: " + string(payload) + "\n\n")
			}
		}
		want.WriteString(doneEventLine + "\n\n")

		body := `{"model":"m","stream":true,"messages":[]}`
		if includeUsage {
			body = `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}`
		}
		got := readAll(t, post(t, gw.URL+"/v1/chat/completions", body).Body)
		if got != want.String() {
			t.Errorf("include_usage %v: the client got\n%s\nwant\n%s", includeUsage, got, want.String())
		}
		if !includeUsage && strings.Contains(got, `"usage"`) {
			t.Error("usage reached a client that did not ask for it")
		}
	}
}

// Relaying a stream's lent events, and Next's chunks between them, must
// give the client what the filter makes of every chunk Next reads, and
// meter the same usage.
func FuzzPassLent(f *testing.F) {
	obfuscated := strings.Replace(chunk("c", "o"), `"usage":null}`, `"usage":null,"obfuscation":"k"}`, 1)
	usageOnFinish := strings.Replace(finishChunk, `"usage":null`, `"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}`, 1)
	for _, events := range [][]string{
		{roleChunk, chunk("c", "a"), finishChunk, usageChunk, doneEventLine},
		{roleChunk, obfuscated, `data: {"choices":[],"id":""}`, usageOnFinish, obfuscated, doneEventLine},
		{roleChunk, ": keep-alive", chunk("c", "b") + "\r", `data: {"error":{"message":"x"}}`},
		{"event: x\ndata: " + strings.TrimPrefix(chunk("c", "d"), "data: "), "data:{}", "data:  {} ", chunk("c", "e")},
	} {
		f.Add([]byte(strings.Join(events, "\n\n")+"\n\n"), false, uint8(0))
		f.Add([]byte(strings.Join(events, "\n\n")+"\n\n"), true, uint8(7))
	}
	f.Fuzz(func(t *testing.T, in []byte, includeUsage bool, split uint8) {
		relay := func(lending bool) (string, usage) {
			// The reads end every split+1 bytes, as the upstream's
			// segments would.
			body := io.NopCloser(&sizedReader{b: bytes.Clone(in), n: int(split) + 1})
			stream := providers.OpenAIResponse(&http.Response{Body: body}, true).Stream
			defer stream.Close()
			lend := stream.(providers.Lending)
			rec := httptest.NewRecorder()
			out := newEventWriter(rec, chatEncoder{})
			f := chunkFilter{includeUsage: includeUsage}
			x := &exchange{}
			for {
				if lending {
					took, err := passLent(out, lend, &f, nil, x)
					if err != nil {
						t.Fatal(err)
					}
					if took {
						continue
					}
				}
				chunk, err := stream.Next()
				if err != nil {
					break
				}
				if payload, keep := f.apply(chunk); keep {
					if err := out.chunk(payload); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := out.flush(); err != nil {
				t.Fatal(err)
			}
			return rec.Body.String(), f.usage
		}
		wantOut, wantUsage := relay(false)
		if gotOut, gotUsage := relay(true); gotOut != wantOut || gotUsage != wantUsage {
			t.Fatalf("lent:\n%q %+v\nchunk by chunk:\n%q %+v", gotOut, gotUsage, wantOut, wantUsage)
		}
	})
}

// sizedReader reads b at most n bytes at a time.
type sizedReader struct {
	b []byte
	n int
}

func (r *sizedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[n:]
	return n, nil
}
