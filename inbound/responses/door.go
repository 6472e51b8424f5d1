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
	// Store keeps responses for their callers; nil keeps none.
	Store *Store
}

// Endpoints lists the Responses API's routes.
func (d *Door) Endpoints() []inbound.Endpoint {
	return []inbound.Endpoint{
		{Method: "POST", Path: "/v1/responses", Summary: "OpenAI Responses API: a response, streamed or not, from any provider", Serve: d.serveCreate},
		// Before /v1/responses/{id}, whose {id} would take the rest of
		// the path.
		{Method: "GET", Path: "/v1/responses/{id}/input_items", Summary: "the input items of a kept response", Serve: d.serveInputItems},
		{Method: "GET", Path: "/v1/responses/{id}", Summary: "a kept response", Serve: d.serveGet},
		{Method: "DELETE", Path: "/v1/responses/{id}", Summary: "forget a kept response", Serve: d.serveDelete},
	}
}

// Interface guards
var _ inbound.Door = (*Door)(nil)
