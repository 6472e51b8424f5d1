package handler

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// batchRequest is the body of /api/v1/batch/generate.
type batchRequest struct {
	// Model is used by the items that name none.
	Model    string            `json:"model,omitempty"`
	Requests []json.RawMessage `json:"requests"`
}

// batchResponse answers a batch: one result per item, in request order,
// each a generateResponse or a native error object.
type batchResponse struct {
	Results []any   `json:"results"`
	Latency float64 `json:"latency"`
}

// serveBatch answers POST /api/v1/batch/generate. Each item is a
// generation of its own through the whole pipeline: it is counted against
// the caller's limits, metered and logged on its own, and fails on its
// own. The batch answers 200 whenever it could be read; a caller that is
// not let in at all gets one error for the whole batch.
func (h *Handler) serveBatch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if _, perr := h.authenticate(r); perr != nil {
		h.refuse(w, r, perr)
		return
	}
	body, perr := readBody(w, r, h.cfg.MaxBody)
	var batch batchRequest
	if perr == nil {
		if err := json.Unmarshal(body, &batch); err != nil {
			perr = invalidBody("the request body is not a valid batch request: " + err.Error())
		}
	}
	switch {
	case perr != nil:
	case len(batch.Requests) == 0:
		perr = fieldError("requests", "requests must be a non-empty array of generate requests")
	case len(batch.Requests) > h.cfg.BatchMax:
		perr = fieldError("requests", "a batch holds at most "+strconv.Itoa(h.cfg.BatchMax)+
			" requests; this one has "+strconv.Itoa(len(batch.Requests))+": split it")
	}
	if perr != nil {
		h.refuse(w, r, perr)
		return
	}

	results := make([]any, len(batch.Requests))
	overheads := make([]float64, len(batch.Requests))
	items := make(chan int)
	var wg sync.WaitGroup
	for range min(h.cfg.BatchConcurrency, len(batch.Requests)) {
		wg.Go(func() {
			for i := range items {
				results[i], overheads[i] = h.batchItem(r, batch.Model, batch.Requests[i])
			}
		})
	}
	for i := range batch.Requests {
		items <- i
	}
	close(items)
	wg.Wait()

	var overhead float64
	for _, o := range overheads {
		overhead += o
	}
	w.Header().Set("X-Llm-Gateway-Overhead-Ms", strconv.FormatFloat(overhead, 'f', 3, 64))
	writeJSONStatus(w, http.StatusOK, batchResponse{Results: results, Latency: time.Since(start).Seconds()})
}

// batchItem runs one item and returns its result and the gateway's
// overhead on it, in milliseconds.
func (h *Handler) batchItem(r *http.Request, model string, raw json.RawMessage) (any, float64) {
	start := time.Now()
	// Each item gets Caddy vars and log fields of its own: the tables in
	// the request's context are not safe for concurrent use.
	ctx := context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{requestIDVar: requestID(r)})
	ctx = context.WithValue(ctx, caddyhttp.ExtraLogFieldsCtxKey, new(caddyhttp.ExtraLogFields))
	r = r.WithContext(ctx)

	header := make(http.Header)
	res, fail := h.batchGenerate(header, r, model, raw, start)
	overhead, _ := strconv.ParseFloat(header.Get("X-Llm-Gateway-Overhead-Ms"), 64)
	if fail != nil {
		return toNative(fail.err, fail.fromUpstream), overhead
	}
	if res == nil { // the client left
		return toNative(&providers.Error{Status: statusClientClosed, Message: "client closed the request"}, false), overhead
	}
	return res, overhead
}

func (h *Handler) batchGenerate(header http.Header, r *http.Request, model string, raw json.RawMessage, start time.Time) (*generateResponse, *failure) {
	g, perr := parseGenerate(raw)
	if perr != nil {
		cw := &captureWriter{header: header}
		h.refuse(cw, r, perr)
		return nil, cw.failure
	}
	if g.Model == "" {
		g.Model = model
	}
	chat, err := g.chatBody(false)
	if err != nil {
		return nil, &failure{invalidBody("encoding the request failed"), false}
	}
	return h.generateOnce(headerOnly(header), r, chat, start)
}

// headerOnly is a response writer of which only the header is used.
type headerOnly http.Header

func (h headerOnly) Header() http.Header       { return http.Header(h) }
func (headerOnly) Write(p []byte) (int, error) { return len(p), nil }
func (headerOnly) WriteHeader(int)             {}
