package providers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// sizedUpstream answers with n bytes; with declare the length is sent as
// Content-Length, else the body is chunked. With header it sends a
// response header of that many bytes.
func sizedUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if h, _ := strconv.Atoi(q.Get("header")); h > 0 {
			w.Header().Set("X-Big", strings.Repeat("h", h))
		}
		n, _ := strconv.Atoi(q.Get("n"))
		if q.Get("declare") != "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		chunk := []byte(strings.Repeat("a", 1024))
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			n -= k
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func wantTooLarge(t *testing.T, err error) {
	t.Helper()
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Status != http.StatusBadGateway || e.Code != CodeResponseTooLarge {
		t.Fatalf("got %v, want 502 %s", err, CodeResponseTooLarge)
	}
	if !strings.Contains(e.Message, "8.0 KiB") || !strings.Contains(e.Message, "max_response_body") || strings.Contains(e.Message, "127.0.0.1") {
		t.Errorf("message %q must name the limit and not the upstream", e.Message)
	}
}

func TestMaxResponseBody(t *testing.T) {
	up := sizedUpstream(t)
	b := setupBase(t, &Base{Name: "p", BaseURL: up.URL, MaxResponseBody: 8 << 10, MaxConcurrent: 1})
	ctx := context.Background()

	// A declared length over the cap is refused before reading.
	_, err := post(b, ctx, "/?declare=1&n=9000", false)
	wantTooLarge(t, err)

	// An undeclared one is read up to the cap exactly.
	resp, err := post(b, ctx, "/?n=9000", false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	wantTooLarge(t, err)
	if len(got) != 8<<10 {
		t.Errorf("read %d bytes, want the cap, %d", len(got), 8<<10)
	}
	resp, err = post(b, ctx, "/?n=9000", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.ReadBody(resp)
	wantTooLarge(t, err)

	// Exactly the cap, declared or not, is whole.
	for _, q := range []string{"/?declare=1&n=8192", "/?n=8192"} {
		resp, err := post(b, ctx, q, false)
		if err != nil {
			t.Fatal(err)
		}
		if raw, err := b.ReadBody(resp); err != nil || len(raw) != 8192 {
			t.Errorf("%s: %d bytes, %v", q, len(raw), err)
		}
	}

	// Streams are not bounded as a whole.
	resp, err = post(b, ctx, "/?n=20000", true)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != 20000 {
		t.Errorf("stream: %d bytes, %v", n, err)
	}
	_ = resp.Body.Close()
	if b.slots.inFlight() != 0 {
		t.Errorf("%d slots still taken", b.slots.inFlight())
	}
}

func TestDefaultMaxResponseBody(t *testing.T) {
	up := sizedUpstream(t)
	b := setupBase(t, &Base{Name: "p", BaseURL: up.URL})
	_, err := post(b, context.Background(), "/?declare=1&n="+strconv.Itoa(DefaultMaxResponseBody+1), false)
	if e, ok := errors.AsType[*Error](err); !ok || e.Code != CodeResponseTooLarge || !strings.Contains(e.Message, "64 MiB") {
		t.Fatalf("got %v", err)
	}
}

// TestResponseHeaderBound: an upstream sending more than 1 MiB of headers
// is a failed call, not a megabytes-large allocation.
func TestResponseHeaderBound(t *testing.T) {
	up := sizedUpstream(t)
	b := setupBase(t, &Base{Name: "p", BaseURL: up.URL})
	if resp, err := post(b, context.Background(), "/?n=2&header=900000", false); err != nil {
		t.Fatalf("900 KB of headers: %v", err)
	} else {
		_ = resp.Body.Close()
	}
	_, err := post(b, context.Background(), "/?n=2&header="+strconv.Itoa(maxResponseHeader+1), false)
	var te *TransportError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "header") || strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("got %v, want a transport error about the headers", err)
	}
}
