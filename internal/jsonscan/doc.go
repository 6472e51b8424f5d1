// Package jsonscan locates and rewrites top-level members of a JSON object
// without decoding it.
//
// The gateway relays request bodies and streamed chunk payloads verbatim;
// decoding them into Go values only to read "model" or "usage" and encode
// them again would cost allocations and could subtly change the bytes sent
// upstream (number formatting, key order, escapes). Scanning the raw bytes
// keeps the payload byte-for-byte intact and allocation-free.
//
// Keys are compared as raw bytes (escapes are not decoded); every key the
// gateway looks for is plain ASCII, and senders practically never escape
// those.
package jsonscan
