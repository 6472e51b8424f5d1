package inbound

import (
	"context"
	"net/http"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Hub is what the pipeline offers a door.
type Hub interface {
	// ReadBody reads r's body, at most max_body bytes.
	ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, *providers.Error)
	// Serve runs x through the whole pipeline, as a chat request is run:
	// auth, request and token limits, routing, fallback, circuit breaking,
	// timeouts, keepalives, metrics, placeholders and the log line. Its
	// answer, stream or error reaches w through x.Translator, or untouched
	// when the target that answers serves x.API natively.
	Serve(w http.ResponseWriter, r *http.Request, x *Exchange)
	// Refuse answers a request the door turns away before Serve (a body
	// it cannot read) with e in shape's form; the request is metered and
	// logged like any other.
	Refuse(w http.ResponseWriter, r *http.Request, e *providers.Error, shape ErrorWriter)
	// Batch is for a request that the door serves as several at once (a
	// batch's items).
	Batch(r *http.Request) Batch
	// Catalog authenticates r's caller and returns its view of the
	// configured models, for endpoints that manage models rather than
	// call one. On an error the Catalog is still there, for its
	// WriteHeaders alone.
	Catalog(r *http.Request) (Catalog, *providers.Error)
	// Logger is the gateway's logger.
	Logger() *zap.Logger
}

// Batch runs the items of one client request.
type Batch interface {
	// Item is the request for one item: its Caddy vars, placeholders and
	// log fields are its own, its request id is the client request's.
	Item() *http.Request
	// Done publishes the items together as the client request's
	// placeholders and vars (for Caddy's access log line): the models
	// and providers they used, their attempts, tokens and overhead
	// summed. Call it once every item has ended.
	Done()
}

// Catalog is one caller's view of the configured models. It is used by
// one goroutine, for one request.
type Catalog interface {
	// Admit counts the request against the caller's request limit.
	Admit(r *http.Request) *providers.Error
	// Route is the route of a public model the caller may use: 404
	// model_not_found when no route serves it, 403 model_not_allowed when
	// the caller's key does not allow it.
	Route(model string) (Route, *providers.Error)
	// Routes are the routes of the public models the caller may use, in
	// configured order, without the wildcard route.
	Routes() []Route
	// Wildcard is the route of every other model (`model *`); its Targets
	// are empty when there is none.
	Wildcard() Route
	// Allows reports whether the caller's key allows model.
	Allows(model string) bool
	// CallerID identifies the caller for data a door keeps per caller:
	// its key, token subject or passed-through key; empty for the
	// anonymous callers of `auth none`, who are one caller.
	CallerID() string
	// Ask runs fn, which asks t's provider about its models, and counts
	// its time as upstream wait. callerKey is the caller's own key when
	// the provider uses callers' keys, else empty.
	Ask(ctx context.Context, t Target, fn func(ctx context.Context, callerKey string) error) error
	// Call runs fn, which acts on model at t's provider (loads it), under
	// the gateway's timeout. Its time counts as upstream wait, its outcome
	// toward that target's circuit as a model call's does, and a failure
	// comes back as the error the client gets (status 499 when the client
	// left, with nothing to answer).
	Call(r *http.Request, t Target, model string, fn func(ctx context.Context, callerKey string) error) *providers.Error
	// WriteHeaders sets the gateway's own response headers (overhead,
	// rate limits); call it just before the answer's status.
	WriteHeaders(h http.Header)
}

// Route is the targets of one public model name.
type Route struct {
	Name    string
	Targets []Target
}

// Target is one provider a route sends requests to.
type Target struct {
	// Provider is the configured provider itself, whose optional
	// interfaces (providers.ModelInventory, ModelLoader, ModelLister)
	// model management uses.
	Provider providers.Provider
	// Model is the upstream model name; empty keeps the requested name.
	Model string
}

// UpstreamModel is the name t's provider is asked for when a client asks
// for requested.
func (t Target) UpstreamModel(requested string) string {
	if t.Model != "" {
		return t.Model
	}
	return requested
}
