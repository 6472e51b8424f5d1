package native

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
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
	Results []json.RawMessage `json:"results"`
	Latency float64           `json:"latency"`
}

// overheadHeader is where the pipeline puts its overhead on each answer,
// in milliseconds; a batch's is the sum of its items'.
const overheadHeader = "X-Llm-Gateway-Overhead-Ms"

// serveBatch answers POST /api/v1/batch/generate. Each item is a
// generation of its own through the whole pipeline: it is counted against
// the caller's limits, metered and logged on its own, and fails on its
// own. The batch answers 200 whenever it could be read; a caller that is
// not let in at all gets one error for the whole batch.
func (d *Door) serveBatch(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if _, perr := hub.Catalog(r); perr != nil {
		hub.Refuse(w, r, perr, errorShape{})
		return
	}
	body, perr := hub.ReadBody(w, r)
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
	case len(batch.Requests) > d.BatchMax:
		perr = fieldError("requests", "a batch holds at most "+strconv.Itoa(d.BatchMax)+
			" requests; this one has "+strconv.Itoa(len(batch.Requests))+": split it")
	}
	if perr != nil {
		hub.Refuse(w, r, perr, errorShape{})
		return
	}

	items := hub.Batch(r)
	results := make([]json.RawMessage, len(batch.Requests))
	overheads := make([]float64, len(batch.Requests))
	queue := make(chan int)
	var wg sync.WaitGroup
	// One worker at least: with none, the items would wait forever.
	for range max(1, min(d.BatchConcurrency, len(batch.Requests))) {
		wg.Go(func() {
			for i := range queue {
				results[i], overheads[i] = batchItem(hub, items.Item(), batch.Model, batch.Requests[i])
			}
		})
	}
	for i := range batch.Requests {
		queue <- i
	}
	close(queue)
	wg.Wait()
	items.Done()

	var overhead float64
	for _, o := range overheads {
		overhead += o
	}
	w.Header().Set(overheadHeader, strconv.FormatFloat(overhead, 'f', 3, 64))
	writeJSON(w, http.StatusOK, batchResponse{Results: results, Latency: time.Since(start).Seconds()})
}

// batchItem runs one item through the pipeline and returns its answer or
// error, and the gateway's overhead on it.
func batchItem(hub inbound.Hub, r *http.Request, model string, raw json.RawMessage) (json.RawMessage, float64) {
	start := time.Now()
	item := &itemWriter{header: make(http.Header)}
	if g, perr := parseGenerate(raw); perr != nil {
		hub.Refuse(item, r, perr, errorShape{})
	} else {
		if g.Model == "" {
			g.Model = model
		}
		if chat, err := g.chatBody(false); err != nil {
			writeError(item, invalidBody("encoding the request failed"), false)
		} else {
			hub.Serve(item, r, &inbound.Exchange{Chat: chat, Translator: generation{start: start}})
		}
	}
	overhead, _ := strconv.ParseFloat(item.header.Get(overheadHeader), 64)
	if item.body.Len() == 0 { // the client left: nothing was answered
		body, _ := providers.MarshalJSON(toNative(&providers.Error{Status: statusClientClosed, Message: "client closed the request"}, false))
		return body, overhead
	}
	return item.body.Bytes(), overhead
}

// itemWriter keeps the answer to one batch item.
type itemWriter struct {
	header http.Header
	body   bytes.Buffer
}

func (w *itemWriter) Header() http.Header         { return w.header }
func (w *itemWriter) Write(p []byte) (int, error) { return w.body.Write(p) }
func (w *itemWriter) WriteHeader(int)             {}
