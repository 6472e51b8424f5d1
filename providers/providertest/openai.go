package providertest

// OpenAI is the wire format of OpenAI's API, which the passthrough
// providers speak: SSE events of data alone, ended by `data: [DONE]`.
var OpenAI = Wire{jsonType: "application/json", streamType: "text/event-stream", pieces: sseEvents}

// OpenAIEvent frames one event of an OpenAI stream.
func OpenAIEvent(data string) string {
	return "data: " + data + "\n\n"
}

// OpenAIError is the body of an OpenAI error; param is null.
func OpenAIError(message, typ, code string) string {
	type detail struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	}
	return encode(map[string]detail{"error": {message, typ, nil, code}})
}
