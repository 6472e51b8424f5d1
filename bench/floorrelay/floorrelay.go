// Package floorrelay is the smallest streaming relay Go's net/http
// allows, shared by bench/scale's floor (net/http alone) and
// bench/caddyfloor (the same relay as a Caddy handler): it sends each
// request upstream and copies the answer back, flushing after every
// read, with nothing a gateway must do (no parsing, no routing, no
// logging).
package floorrelay

import (
	"bytes"
	"io"
	"net/http"
)

// NewTransport returns the upstream transport the relay uses.
func NewTransport() *http.Transport {
	return &http.Transport{ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64, DisableCompression: true}
}

// Relay sends r's body to target and copies the answer to w. It returns
// an error, and the status it calls for, only when nothing was written
// yet; a stream cut later just ends.
func Relay(w http.ResponseWriter, r *http.Request, transport http.RoundTripper, target string) (int, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return http.StatusBadRequest, err
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return http.StatusInternalServerError, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := transport.RoundTrip(req)
	if err != nil {
		return http.StatusBadGateway, err
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	flusher := http.NewResponseController(w)
	buf := make([]byte, 1024)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return 0, nil
			}
			if flusher.Flush() != nil {
				return 0, nil
			}
		}
		if err != nil {
			return 0, nil
		}
	}
}
