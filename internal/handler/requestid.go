package handler

import (
	"context"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// maxRequestIDLen bounds a client's X-Request-Id; a longer one is not used.
const maxRequestIDLen = 128

// The request's ids live in Caddy's vars, where the log line, the access
// log (`log_append`) and matchers read them; keeping them there rather than
// in a context value of the gateway's own spares a copy of the request.
const (
	requestIDVar         = "llm_gateway.request_id"
	upstreamRequestIDVar = "llm_gateway.upstream_request_id"
)

// withRequestID gives the request its id, the client's X-Request-Id when
// it is usable, else Caddy's `{http.request.uuid}`, and echoes it in the
// response. The client's id wins over the upstream's, so a client can
// always find its request in the gateway's log; the upstream's goes to the
// log as upstream_request_id and to the client as X-Upstream-Request-Id.
func (h *Handler) withRequestID(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	vars, ok := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any)
	if !ok { // outside Caddy
		vars = make(map[string]any)
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, vars))
	}
	id := sanitizeRequestID(r.Header.Get("X-Request-Id"))
	if id == "" {
		id = caddyUUID(r)
	}
	if id != "" {
		vars[requestIDVar] = id
		w.Header().Set("X-Request-Id", id)
	}
	return &idWriter{ResponseWriter: w, id: id, vars: vars}, r
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
		id, _ := repl.GetString("http.request.uuid")
		return id
	}
	return ""
}

// requestID is the request's id as the gateway answered it.
func requestID(r *http.Request) string {
	if id, ok := caddyhttp.GetVar(r.Context(), requestIDVar).(string); ok {
		return id
	}
	return caddyUUID(r)
}

// upstreamRequestID is the upstream's own request id, when it sent one.
func upstreamRequestID(r *http.Request) string {
	id, _ := caddyhttp.GetVar(r.Context(), upstreamRequestIDVar).(string)
	return id
}

// idWriter restores the gateway's X-Request-Id when a relayed upstream
// header set replaced it, just before the header goes out.
type idWriter struct {
	http.ResponseWriter
	id          string
	vars        map[string]any // the request's Caddy vars
	wroteHeader bool
}

func (w *idWriter) fixHeader() {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if w.id == "" {
		return
	}
	h := w.ResponseWriter.Header()
	if up := h.Get("X-Request-Id"); up != "" && up != w.id {
		w.vars[upstreamRequestIDVar] = up
		h.Set("X-Upstream-Request-Id", up)
	}
	h.Set("X-Request-Id", w.id)
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
