// Package inbound is the contract between the gateway's pipeline around
// OpenAI's chat API (the hub) and the other client-facing APIs (the
// doors), each of which lives in a package of its own below this one.
//
// A door turns its request into an Exchange: the chat request it becomes
// and the Translator that turns the chat answer, stream or error back
// into the door's shape. Hub.Serve runs it through the whole pipeline.
// When the target the pipeline picks serves the door's own API natively
// (see providers.NativeAPIs), the client's body goes upstream instead,
// only `model` rewritten, and the answer comes back untouched.
//
// This package imports only the standard library, providers and
// internal/jsonscan, so the pipeline and every door can import it.
package inbound

import (
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Door is one client-facing API beside OpenAI chat.
type Door interface {
	ErrorWriter
	// Endpoints lists the door's routes; the hub serves them beside its
	// own, lists them on `GET /` and answers another method on one of
	// their paths with 405 in the door's error shape.
	Endpoints() []Endpoint
}

// Endpoint is one route of a door.
type Endpoint struct {
	// Method is POST or GET; GET endpoints answer HEAD too.
	Method string
	// Path is written as in the OpenAPI document. A `{param}` segment
	// stands for one path segment or more (model names such as
	// meta-llama/Llama-3-8B have slashes); Serve reads it with
	// r.PathValue.
	Path string
	// Summary describes the endpoint on `GET /`.
	Summary string
	// Serve answers a request. The hub has given it its request id.
	Serve func(hub Hub, w http.ResponseWriter, r *http.Request)
}

// ErrorWriter answers with an error in a door's shape.
type ErrorWriter interface {
	// WriteError writes e's status and body (and Retry-After where the
	// door's clients expect one). fromUpstream says a provider answered
	// with e rather than the gateway's own checks: an upstream's 404 means
	// it lacks the model the gateway routed to it, the gateway's that no
	// route serves the model.
	WriteError(w http.ResponseWriter, e *providers.Error, fromUpstream bool)
}
