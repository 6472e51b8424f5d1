package handler

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPIDocument describes every endpoint of the endpoints table; a test
// keeps the two in step.
//
//go:embed openapi.json
var openAPIDocument []byte

// serveOpenAPI answers GET /openapi.json. Like `GET /`, it is open: it
// describes the API, not any caller's data.
func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(openAPIDocument)
	}
}
