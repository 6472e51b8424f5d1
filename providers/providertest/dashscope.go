package providertest

import "strconv"

// DashScopeRequestID is the request_id of every DashScopeError.
const DashScopeRequestID = "7d2c5f0e-1111-2222-3333-444455556666"

// DashScope is the wire format of DashScope's native API: SSE events with
// an id, an event name and the HTTP status as a comment.
var DashScope = Wire{jsonType: "application/json", streamType: "text/event-stream;charset=UTF-8", pieces: sseEvents}

// DashScopeEvent frames event id of a DashScope stream, carrying data.
func DashScopeEvent(id int, data string) string {
	return "id:" + strconv.Itoa(id) + "\nevent:result\n:HTTP_STATUS/200\ndata:" + data + "\n\n"
}

// DashScopeErrorEvent frames an error event of a DashScope stream: the
// status is only a comment, the error body is the data.
func DashScopeErrorEvent(id, status int, data string) string {
	return "id:" + strconv.Itoa(id) + "\nevent:error\n:HTTP_STATUS/" + strconv.Itoa(status) + "\ndata:" + data + "\n\n"
}

// DashScopeError is the body of a DashScope error with code.
func DashScopeError(code, message string) string {
	return encode(struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	}{code, message, DashScopeRequestID})
}
