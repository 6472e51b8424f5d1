package ollama

import (
	"net/http"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// parseError reads Ollama's `{"error":"text"}` answers; bodies of another
// shape (an OpenAI-style proxy in front, an HTML error page) go through
// the shared parser as they are. Ollama's status is kept, and the text
// decides the OpenAI code, as Ollama has no codes of its own.
func parseError(status int, header http.Header, body []byte) *providers.Error {
	return classify(providers.ParseError(status, header, body))
}

// streamError is an error Ollama reported as an NDJSON line after the
// status 200 was sent: the model failed while answering.
func streamError(msg string) *providers.Error {
	return classify(providers.NewError(http.StatusBadGateway, "", "ollama: "+msg))
}

// classify fills in the OpenAI status, type and code that Ollama's error
// text implies.
func classify(e *providers.Error) *providers.Error {
	msg := strings.ToLower(e.Message)
	switch {
	case contextOverflow(msg):
		// Ollama may answer 500 for it; it is the caller's request that is
		// too long, and another target with the same model fails alike.
		e.Status, e.Type, e.Code = http.StatusBadRequest, "invalid_request_error", "context_length_exceeded"
		if e.Param == "" {
			e.Param = "messages"
		}
	case e.Code != "":
	case e.Status == http.StatusNotFound && strings.Contains(msg, "model"):
		e.Code = "model_not_found"
		if e.Param == "" {
			e.Param = "model"
		}
	case e.Status == http.StatusTooManyRequests:
		e.Code = "rate_limit_exceeded"
	case e.Status == http.StatusServiceUnavailable && (strings.Contains(msg, "busy") || strings.Contains(msg, "overload")):
		// Ollama's OLLAMA_MAX_QUEUE refusal; another target may have room.
		e.Code = "overloaded"
	}
	return e
}

// contextOverflow recognises Ollama's context-window messages, such as
// "input length exceeds maximum context length" (embed) and "prompt too
// long; exceeded max context length by N tokens".
func contextOverflow(msg string) bool {
	return strings.Contains(msg, "context") && (strings.Contains(msg, "exceed") || strings.Contains(msg, "too long"))
}
