package handler

import (
	"context"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// maxRequestIDLen bounds a client's X-Request-Id; a longer one is not used.
const maxRequestIDLen = 128

// requestMeta is what the gateway knows of a request's identity; it
// lives in the request's context so the log line can read it.
type requestMeta struct {
	id         string
	upstreamID string // the upstream's own x-request-id, when it sent one
}

type requestMetaKey struct{}

// withRequestID gives the request its id, the client's X-Request-Id when
// it is usable, else Caddy's `{http.request.uuid}`, and echoes it in the
// response. The client's id wins over the upstream's, so a client can
// always find its request in the gateway's log; the upstream's goes to the
// log as upstream_request_id and to the client as X-Upstream-Request-Id.
func (h *Handler) withRequestID(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	meta := &requestMeta{id: sanitizeRequestID(r.Header.Get("X-Request-Id"))}
	if meta.id == "" {
		meta.id = caddyUUID(r)
	}
	r = r.WithContext(context.WithValue(r.Context(), requestMetaKey{}, meta))
	if meta.id != "" {
		w.Header().Set("X-Request-Id", meta.id)
	}
	return &idWriter{ResponseWriter: w, meta: meta}, r
}

// sanitizeRequestID keeps an id of printable ASCII of at most
// maxRequestIDLen bytes, else none: it goes into logs and a response
// header, where control characters could forge lines.
func sanitizeRequestID(id string) string {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > maxRequestIDLen {
		return ""
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return ""
		}
	}
	return id
}

// caddyUUID is Caddy's per-request UUID, the one `{http.request.uuid}`
// shows in access logs; empty outside Caddy.
func caddyUUID(r *http.Request) string {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		return repl.ReplaceKnown("{http.request.uuid}", "")
	}
	return ""
}

// requestID is the request's id as the gateway answered it.
func requestID(r *http.Request) string {
	if m, ok := r.Context().Value(requestMetaKey{}).(*requestMeta); ok {
		return m.id
	}
	return caddyUUID(r)
}

// upstreamRequestID is the upstream's own request id, when it sent one.
func upstreamRequestID(r *http.Request) string {
	if m, ok := r.Context().Value(requestMetaKey{}).(*requestMeta); ok {
		return m.upstreamID
	}
	return ""
}

// idWriter restores the gateway's X-Request-Id when a relayed upstream
// header set replaced it, just before the header goes out.
type idWriter struct {
	http.ResponseWriter
	meta        *requestMeta
	wroteHeader bool
}

func (w *idWriter) fixHeader() {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if w.meta.id == "" {
		return
	}
	h := w.ResponseWriter.Header()
	if up := h.Get("X-Request-Id"); up != "" && up != w.meta.id {
		w.meta.upstreamID = up
		h.Set("X-Upstream-Request-Id", up)
	}
	h.Set("X-Request-Id", w.meta.id)
}

// WriteHeader fixes the id, then writes the header.
func (w *idWriter) WriteHeader(status int) {
	w.fixHeader()
	w.ResponseWriter.WriteHeader(status)
}

// Write fixes the id when the header has not been written yet.
func (w *idWriter) Write(p []byte) (int, error) {
	w.fixHeader()
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's flusher.
func (w *idWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
