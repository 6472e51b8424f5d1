// Package native is the gateway's native API, a door onto the chat hub:
// the simple generation API (`/api/v1/generate`, its stream and its
// batch), model management (`/api/v1/models`, `/api/v1/models/{name}/load`)
// and the streaming chat at `/api/chat`. Generations become chat requests
// that run through the whole pipeline (auth, limits, routing, fallback,
// metrics, log line); their answers, streams and errors are turned into
// the native shapes as they go out. Errors have the shape
// `{"error":{"code","message","details"}}`.
package native

import (
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Door serves the native API. Its settings come ready for use: the root
// module owns their defaults and checks (batch_concurrency, batch_max).
type Door struct {
	// BatchConcurrency bounds the items of one `/api/v1/batch/generate`
	// request that run at once.
	BatchConcurrency int
	// BatchMax is the most items one batch may hold.
	BatchMax int
}

// Endpoints lists the native API's routes.
func (d *Door) Endpoints() []inbound.Endpoint {
	return []inbound.Endpoint{
		{Method: "POST", Path: "/api/v1/generate", Summary: "native generation: {prompt, model, max_tokens, temperature} -> {text, usage, latency}", Serve: serveGenerate},
		{Method: "POST", Path: "/api/v1/generate/stream", Summary: "native streamed generation: SSE {token, finished}", Serve: serveGenerateStream},
		{Method: "POST", Path: "/api/v1/batch/generate", Summary: "several native generations at once: {requests:[...]} -> {results:[...]}", Serve: d.serveBatch},
		{Method: "GET", Path: "/api/v1/models", Summary: "model management: installed and loaded models", Serve: serveModels},
		{Method: "POST", Path: "/api/v1/models/{name}/load", Summary: "load a model into the provider's memory", Serve: serveLoad},
		{Method: "POST", Path: "/api/chat", Summary: "streamed chat: SSE {content} then [DONE]", Serve: serveChat},
	}
}

// WriteError answers with the native error envelope.
func (*Door) WriteError(w http.ResponseWriter, e *providers.Error, fromUpstream bool) {
	writeError(w, e, fromUpstream)
}

// Interface guards
var _ inbound.Door = (*Door)(nil)
