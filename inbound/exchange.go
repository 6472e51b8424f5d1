package inbound

import (
	"io"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Exchange is a door's request in the hub's terms.
type Exchange struct {
	// Chat is the OpenAI chat completion request the door's request
	// becomes, as JSON. Its `model` (default_model when absent) is routed
	// and its `stream` decides whether the answer is streamed, whichever
	// way it is served. Its `max_tokens` bounds the token reservation.
	Chat []byte
	// Translator turns the chat answer, stream or error into the door's
	// shape.
	Translator Translator
	// Authorized, when set, is called once the hub has authenticated the
	// request, before it reads Chat, with the caller's id (see
	// Catalog.CallerID). A door that keeps data per caller reads it there
	// and may complete Chat; an error answers the request.
	Authorized func(callerID string) *providers.Error

	// API is the provider operation of the door's own API. A target whose
	// provider serves it natively gets Body instead of Chat, and its
	// answer reaches the client untouched. Empty when no provider could.
	API providers.Operation
	// Body is the door's request as the client sent it; only its `model`
	// is rewritten on the way upstream.
	Body []byte
	// Meter reads the token usage out of an answer relayed untouched, for
	// token limits, metrics and the log line; streamed tells a stream.
	Meter func(streamed bool) UsageMeter
	// Relayed, when set, is called once an answer relayed untouched has
	// gone out (whole, or as far as the client or upstream let it), with
	// the name of the provider that served it and the meter that read it.
	Relayed func(provider string, meter UsageMeter)
	// Pin, when set, keeps the request to one provider's targets.
	Pin *Pin
}

// Pin keeps a request to the route's targets of one provider that serve
// the door's API natively: the request continues state that only that
// provider's upstream has. Fallback stays among those targets.
type Pin struct {
	// Provider is the provider's name.
	Provider string
	// Refusal answers the request when the route has no such target.
	Refusal *providers.Error
}

// Translator turns the hub's chat answers into a door's.
type Translator interface {
	ErrorWriter
	// Answer turns a non-streamed chat completion into the door's answer,
	// which goes out as JSON with status 200. model is the public model
	// that served it. An error answers 502: the upstream's answer could
	// not be read.
	Answer(chat []byte, model string) ([]byte, error)
	// Stream returns the encoder of one streamed answer, called once per
	// stream, as it begins.
	Stream(model string) StreamEncoder
}

// Keepaliver is implemented by a Translator whose clients expect
// keepalives of their own, such as Anthropic's `ping` event; the hub
// sends the SSE comment `: keepalive` otherwise.
type Keepaliver interface {
	// Keepalive is the event written while a stream waits for its first
	// chunk.
	Keepalive() []byte
}

// StreamEncoder turns a chat stream into the door's event stream. Each
// method appends whole Server-Sent Events (`event:` lines are allowed) to
// buf and returns it extended; the hub writes them out and flushes as it
// does for chat streams: the first chunk's events at once, then once per
// burst of chunks.
type StreamEncoder interface {
	// Chunk is called for each chat.completion.chunk the client of the
	// chat API would get (its JSON), the usage chunk included when the
	// chat request asked for it. It may append nothing.
	Chunk(buf, chunk []byte) []byte
	// End is called once a stream completed.
	End(buf []byte) []byte
	// Fail is called instead of End when the stream is cut by e after
	// its headers went out: the upstream broke or timed out midway.
	Fail(buf []byte, e *providers.Error) []byte
}

// UsageMeter reads the token usage of an answer relayed untouched. It is
// written the answer's bytes, the body or the raw event stream, as they
// go to the client; its writes never fail.
type UsageMeter interface {
	io.Writer
	// Usage is what the answer reported, and whether it reported any.
	Usage() (Usage, bool)
}

// Usage is the token count of one answer.
type Usage struct {
	// PromptTokens counts the whole prompt, the parts read from or
	// written to the provider's prompt cache included.
	PromptTokens     int
	CompletionTokens int
	// CachedTokens is the part of the prompt read from the cache.
	CachedTokens int
	// CacheWriteTokens is the part of the prompt written to the cache.
	CacheWriteTokens int
}

// AppendData appends one `data: <payload>` event to buf.
func AppendData(buf, payload []byte) []byte {
	buf = append(buf, "data: "...)
	buf = append(buf, payload...)
	return append(buf, '\n', '\n')
}
