// Package sse reads Server-Sent Events from upstream response bodies.
//
// It follows the WHATWG event-stream parsing rules closely enough for every
// provider the gateway talks to, with two deliberate leniencies: an event
// cut off by the end of input is still delivered (many servers never send
// the final blank line), and llama.cpp's non-standard `error:` field is
// surfaced as an event named "error".
package sse

import "errors"

// Event is one dispatched event. Its slices alias the Reader's buffers and
// are only valid until the next call to Next.
type Event struct {
	// Name is the `event:` field, nil when the event had none. A
	// non-standard `error:` line sets it to "error" (and its value becomes
	// a data line).
	Name []byte
	// Data is the event's `data:` lines joined with "\n".
	Data []byte
	// ID is this event's `id:` field, nil when absent. Unlike browsers,
	// the Reader does not carry an ID over from earlier events, so callers
	// see exactly what the upstream sent with each event.
	ID []byte
}

// ErrEventTooLarge is returned by Next when one event's data, or a single
// line, exceeds the limit given to NewReader. It is sticky: the stream
// cannot be resynchronised reliably, so every later Next returns it too.
var ErrEventTooLarge = errors.New("sse: event exceeds size limit")
