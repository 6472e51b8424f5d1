package faultupstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, ctx context.Context, s *Server, body string) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/v1/chat/completions", strings.NewReader(body))
	resp, err := s.Client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return resp, got, err
}

// contents is StreamContents, failing t on a bad event.
func contents(t *testing.T, stream []byte) []string {
	t.Helper()
	c, err := StreamContents(stream)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHealthyStreamIsOpenAIsWireFormatAndRecorded(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	resp, got, err := post(t, context.Background(), s, `{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":5,"user":"u1"}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Type") != "text/event-stream" || !bytes.HasSuffix(got, []byte("}\n\ndata: [DONE]\n\n")) {
		t.Fatalf("%s\n%s", resp.Header, got)
	}
	if c := strings.Join(contents(t, got), ","); c != "1,2,3,4,5" {
		t.Errorf("contents %s", c)
	}
	if !bytes.Contains(got, []byte(`"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":5,"total_tokens":6}}`)) {
		t.Errorf("no usage chunk: %s", got)
	}
	recs, err := s.Settle(context.Background(), "u1")
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %v, %v", recs, err)
	}
	r := recs[0]
	if !bytes.Equal(r.Sent, got) || !bytes.Equal(r.EventBytes(), got) || r.Events != 9 || !r.Completed || r.Cancelled {
		t.Errorf("record %+v", r)
	}
	if len(s.Records()) != 0 {
		t.Error("a settled record was kept")
	}
}

func TestErrorStatusCarriesRetryAfterAndEnvelope(t *testing.T) {
	s := New(Options{Plan: Sequence(Fault{Status: 429, RetryAfter: 2}, Fault{Status: 529})})
	defer s.Close()
	for _, want := range []struct {
		status     int
		retryAfter string
	}{{429, "2"}, {529, ""}, {200, ""}} {
		resp, got, err := post(t, context.Background(), s, `{"model":"m"}`)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != want.status || resp.Header.Get("Retry-After") != want.retryAfter {
			t.Errorf("status %d retry-after %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), want.status, want.retryAfter)
		}
		var body struct {
			Error *struct{ Message, Type string } `json:"error"`
		}
		if err := json.Unmarshal(got, &body); err != nil || (body.Error != nil) != (want.status != 200) {
			t.Errorf("body %s: %v", got, err)
		}
	}
	if c := s.Counts(); c.Requests != 3 || c.Status[429] != 1 || c.Status[529] != 1 || c.Status[200] != 1 || c.Completed != 3 {
		t.Errorf("counts %+v", c)
	}
}

func TestDropAndGarbageBreakAStreamAfterTheirEvents(t *testing.T) {
	s := New(Options{Plan: Sequence(Fault{Break: Drop, At: 3}, Fault{Break: Garbage, At: 2})})
	defer s.Close()
	_, got, err := post(t, context.Background(), s, `{"model":"m","stream":true}`)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a dropped stream read as %v", err)
	}
	if c := contents(t, got); len(c) != 2 {
		t.Errorf("dropped after the role chunk and 2 chunks, read %v", c)
	}
	_, got, err = post(t, context.Background(), s, `{"model":"m","stream":true}`)
	if err != nil || !bytes.HasSuffix(got, []byte(GarbageBytes)) {
		t.Errorf("garbage stream: %v %q", err, got)
	}
	// A dropped connection reaches the client before its handler has
	// recorded it.
	if err := s.Idle(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := s.Records()
	if len(recs) != 2 || recs[0].Events != 3 || recs[0].Completed || recs[0].Cancelled ||
		!bytes.Equal(recs[1].EventBytes(), bytes.TrimSuffix(got, []byte(GarbageBytes))) {
		t.Errorf("records %+v", recs)
	}
	if c := s.Counts(); c.Dropped != 1 || c.Garbage != 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestStallUntilCancelledIsRecordedAsCancelled(t *testing.T) {
	s := New(Options{Plan: Sequence(Fault{Break: Stall, At: 1})})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL, strings.NewReader(`{"stream":true,"user":"c"}`))
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 1)
	if _, err := resp.Body.Read(first); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	wait, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	recs, err := s.Settle(wait, "c")
	if err != nil || len(recs) != 1 || !recs[0].Cancelled || recs[0].Completed || recs[0].Events != 1 {
		t.Fatalf("records %+v, %v", recs, err)
	}
}

func TestGateHoldsStreamsUntilOpened(t *testing.T) {
	gate := NewGate(2)
	s := New(Options{Gate: gate, Chunks: 4})
	defer s.Close()
	done := make(chan []byte, 3)
	for range 3 {
		go func() {
			_, got, _ := post(t, context.Background(), s, `{"stream":true}`)
			done <- got
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := gate.WaitHeld(ctx, 3); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatal("a stream passed the closed gate")
	default:
	}
	gate.Open()
	for range 3 {
		if c := contents(t, <-done); strings.Join(c, "") != "1234" {
			t.Errorf("contents %v", c)
		}
	}
}

func TestRandomPlanIsReproducible(t *testing.T) {
	a, b := Random(7, 0.3, Fault{Status: 500}), Random(7, 0.3, Fault{Status: 500})
	failed := 0
	for n := 1; n <= 1000; n++ {
		fa := a(Request{N: n})
		if fa != b(Request{N: n}) {
			t.Fatalf("request %d differs", n)
		}
		if fa.Status == 500 {
			failed++
		}
	}
	if failed < 250 || failed > 350 {
		t.Errorf("%d of 1000 failed at a ratio of 0.3", failed)
	}
	if c := Every(3, Fault{Status: 502}); c(Request{N: 3}).Status != 502 || c(Request{N: 4}).Status != 0 {
		t.Error("Every")
	}
}
