package providertest

import "encoding/json"

// Gemini is the wire format of Google's Gemini API: SSE events framed with
// CRLF, and a stream that ends with a plain close.
var Gemini = Wire{jsonType: "application/json; charset=UTF-8", streamType: "text/event-stream", pieces: sseEvents}

// GeminiEvent frames one event of a Gemini stream.
func GeminiEvent(data string) string {
	return "data: " + data + "\r\n\r\n"
}

// GoogleError is the body of a Google API error: code is the HTTP status,
// status its name (RESOURCE_EXHAUSTED), details a JSON array or "".
func GoogleError(code int, status, message, details string) string {
	if details == "" {
		details = "[]"
	}
	return encode(map[string]any{"error": struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Status  string          `json:"status"`
		Details json.RawMessage `json:"details"`
	}{code, message, status, json.RawMessage(details)}})
}
