package providers

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"weak"
)

// TestStreamDoesNotKeepItsRequestBody: once a streamed answer has begun,
// nothing keeps the request's bytes (a long prompt) alive for the rest of
// the stream.
func TestStreamDoesNotKeepItsRequestBody(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	const promptSize = 64 << 10
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if n != promptSize || r.ContentLength != promptSize {
			http.Error(w, "short body", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	b := setupBase(t, &Base{Name: "p", BaseURL: up.URL})

	resp, body := startStream(t, b, promptSize)
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: {}\n" {
		t.Fatalf("first event: %q, %v", line, err)
	}
	runtime.GC()
	runtime.GC()
	if body.Value() != nil {
		t.Error("the request body is still reachable while the stream is open")
	}
}

// startStream posts a body of size bytes as a streamed call and returns
// the answer and a weak pointer to the body, which nothing on the
// caller's side holds.
func startStream(t *testing.T, b *Base, size int) (*http.Response, weak.Pointer[byte]) {
	t.Helper()
	body := bytes.Repeat([]byte("x"), size)
	resp, err := b.Post(context.Background(), b.URL().String()+"/chat", &Call{Stream: true}, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp, weak.Make(&body[0])
}

// TestRequestBodyRetryCopy: GetBody gives the whole body again until the
// answer has begun, and an error after.
func TestRequestBodyRetryCopy(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	if err != nil {
		t.Fatal(err)
	}
	forget := setRequestBody(req, []byte("hello"))
	if req.ContentLength != 5 {
		t.Errorf("ContentLength %d, want 5", req.ContentLength)
	}
	for range 2 {
		got, err := io.ReadAll(req.Body)
		if err != nil || string(got) != "hello" {
			t.Fatalf("body %q, %v", got, err)
		}
		if req.Body, err = req.GetBody(); err != nil {
			t.Fatal(err)
		}
	}
	forget()
	if _, err := req.GetBody(); err == nil {
		t.Error("GetBody after forget gave a body")
	}

	empty, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	setRequestBody(empty, nil)
	if empty.Body != http.NoBody || empty.ContentLength != 0 || empty.GetBody != nil {
		t.Errorf("empty body: %v, %d", empty.Body, empty.ContentLength)
	}
}
