// Package responses is OpenAI's Responses API, a door onto the chat hub:
// `POST /v1/responses` becomes a chat request that runs through the whole
// pipeline (auth, limits, routing, fallback, metrics, log line), and the
// chat answer or stream is turned into a Response object or the
// Responses event stream as it goes out. Errors have OpenAI's shape.
package responses

import (
	"github.com/llmgateway/caddy-llm-gateway/inbound"
)

// Door serves OpenAI's Responses API.
type Door struct {
	inbound.OpenAIErrors
}

// Endpoints lists the Responses API's routes.
func (*Door) Endpoints() []inbound.Endpoint {
	return []inbound.Endpoint{
		{Method: "POST", Path: "/v1/responses", Summary: "OpenAI Responses API: a response, streamed or not, from any provider", Serve: serveCreate},
	}
}

// Interface guards
var _ inbound.Door = (*Door)(nil)
