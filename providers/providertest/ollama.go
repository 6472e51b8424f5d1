package providertest

// Ollama is the wire format of Ollama's native API: streams are
// newline-delimited JSON, one object a line.
var Ollama = Wire{jsonType: "application/json; charset=utf-8", streamType: "application/x-ndjson", pieces: ndjsonLines}

// OllamaError is the body of an Ollama error.
func OllamaError(message string) string {
	return encode(map[string]string{"error": message})
}
