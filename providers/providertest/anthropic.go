package providertest

import "net/http"

// AnthropicRequestID is the request-id header of every Anthropic answer.
const AnthropicRequestID = "req_011CTest"

// Anthropic is the wire format of Anthropic's Messages API: named SSE
// events, and a request-id header on every answer.
var Anthropic = Wire{jsonType: "application/json", streamType: "text/event-stream",
	header: http.Header{"Request-Id": {AnthropicRequestID}}, pieces: sseEvents}

// AnthropicEvent frames one event of a Messages stream.
func AnthropicEvent(name, data string) string {
	return "event: " + name + "\ndata: " + data + "\n\n"
}

// AnthropicError is the body of an Anthropic error of type typ.
func AnthropicError(typ, message string) string {
	type detail struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	return encode(struct {
		Type      string `json:"type"`
		Error     detail `json:"error"`
		RequestID string `json:"request_id"`
	}{"error", detail{typ, message}, "req_011CSHoE"})
}
