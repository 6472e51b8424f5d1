// Package providers defines what the llm_gateway handler needs from a model
// provider, and the pieces every provider shares: configuration common to all
// of them, the pooled HTTP client, and the OpenAI-shaped error type.
//
// Each provider type lives in its own sub-package and registers itself as a
// Caddy guest module in the namespace `http.llm_gateway.providers`.
package providers

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// Namespace is the Caddy module namespace of provider guest modules.
const Namespace = "http.llm_gateway.providers"

// Operation names one OpenAI API operation.
type Operation string

// The operations the gateway serves.
const (
	Chat        Operation = "chat/completions"
	Completions Operation = "completions"
	Embeddings  Operation = "embeddings"
	Messages    Operation = "messages"  // Anthropic's Messages API, served natively by anthropic
	Responses   Operation = "responses" // OpenAI's Responses API, served natively by openai and azure
)

// Provider sends OpenAI-shaped requests to one upstream. Implementations are
// used by many goroutines at once.
type Provider interface {
	// Config returns the configuration shared by all providers.
	Config() *Base

	// Send performs one upstream call. A response the upstream rejected
	// (non-2xx) is returned as an *Error, never as a Response. The returned
	// Response is always OpenAI-shaped, whatever the upstream speaks.
	Send(ctx context.Context, call *Call) (*Response, error)
}

// NativeAPIs is implemented by providers that serve a client-facing API
// other than OpenAI chat themselves, such as OpenAI's Responses or
// Anthropic's Messages. For an operation it serves natively, Send gets the
// client's own body in Call.Body (only `model` rewritten) and returns the
// upstream's answer untouched in Response.Body, the raw event stream too
// when Call.Stream is set.
type NativeAPIs interface {
	// ServesNatively reports whether op is one of those operations.
	ServesNatively(op Operation) bool
}

// ModelLister is implemented by providers that can list the models they
// serve; it feeds GET /v1/models for wildcard routes.
type ModelLister interface {
	// ListModels asks the upstream; callerKey is the caller's own key for
	// providers that use it (see Base.UsesCallerKey), else empty.
	ListModels(ctx context.Context, callerKey string) ([]Model, error)
}

// LocalLister is implemented by ModelListers that answer from their
// configuration without asking the upstream (azure's deployments, mock):
// such a listing says nothing about the upstream's health, so the
// gateway's active probes skip these providers.
type LocalLister interface {
	// ListsLocally reports whether ListModels stays off the network.
	ListsLocally() bool
}

// Call is one request to a provider.
type Call struct {
	// Op is the operation.
	Op Operation
	// Model is the upstream model name, after alias resolution.
	Model string
	// ClientModel is the model name the client asked for; translating
	// providers answer with it.
	ClientModel string
	// Body is the OpenAI-format JSON body as the client sent it, with
	// `model` already set to Model. Passthrough providers send it as is,
	// and so does a provider for an operation it serves natively (see
	// NativeAPIs), whose body is in that API's own format.
	Body []byte
	// Stream is true when the client asked for a streamed answer.
	Stream bool
	// RequestHeader holds the client's request headers, for providers that
	// forward a selection of them.
	RequestHeader http.Header
	// CallerKey is the caller's own provider key, set when the provider
	// passes callers' keys through (see Base.UsesCallerKey).
	CallerKey string
}

// Response is a provider's successful answer in OpenAI's format, or in the
// upstream's own for an operation it serves natively (see NativeAPIs).
// Exactly one of Body and Stream is set.
type Response struct {
	// Header holds the upstream response headers worth relaying to the
	// client (x-request-id, x-ratelimit-*); may be nil.
	Header http.Header
	// Body is the OpenAI JSON body of a non-streamed answer, or the whole
	// answer of a natively served operation.
	Body io.ReadCloser
	// Length is Body's size in bytes, or -1 when unknown.
	Length int64
	// Stream yields the chunks of a streamed answer.
	Stream EventStream
}

// BytesResponse is a non-streamed answer held in memory.
func BytesResponse(body []byte) *Response {
	return &Response{Body: io.NopCloser(bytes.NewReader(body)), Length: int64(len(body))}
}

// Close releases the response's upstream connection.
func (r *Response) Close() error {
	if r.Stream != nil {
		return r.Stream.Close()
	}
	if r.Body != nil {
		return r.Body.Close()
	}
	return nil
}

// EventStream yields the payloads of a streamed OpenAI answer: each one is
// the JSON of a chunk object (`chat.completion.chunk` or `text_completion`).
type EventStream interface {
	// Next returns the next chunk's JSON. The slice is valid until the next
	// call. It returns io.EOF after the stream's terminal marker
	// (`data: [DONE]` or the provider's own), *Error for an error the
	// upstream reported in the stream, and ErrTruncated when the upstream
	// ended without a terminal marker.
	Next() ([]byte, error)
	// Close releases the upstream connection; it is safe to call twice.
	Close() error
}

// Bursting is implemented by event streams that can tell whether their
// next chunk is already at hand; the relay then flushes once per burst of
// chunks instead of once per chunk. An event stream without it is flushed
// after every chunk.
type Bursting interface {
	// Ready reports whether Next will return without waiting on the
	// upstream.
	Ready() bool
}

// Lending is implemented by event streams of OpenAI chat chunks that
// can lend a relay the events they have buffered, as the upstream wrote
// them: `data: <chunk>\n\n` each, the form a chat stream goes to its
// client in. A relay passes the chunks it leaves unchanged on from there,
// with no copy and no call of Next for each.
type Lending interface {
	// Lend returns the input buffered from the next event on, without
	// waiting; it may be empty. It stays valid until Next or Consumed,
	// and the caller may rewrite the events it cuts and consumes.
	Lend() []byte
	// CutChunk returns the chunk of the event that begins buf, a part of
	// what Lend returned that begins at an event, and the event's size.
	// The size is 0 when that event is not one Next would hand out as a
	// chunk as it is: the end of the stream, an error, an event that is
	// not whole or not plain. Next reads those.
	CutChunk(buf []byte) (chunk []byte, size int)
	// Consumed takes the first n bytes of what Lend returned, the events
	// CutChunk cut, off the stream.
	Consumed(n int)
}

// Model is one entry of an OpenAI model list.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}
