package native

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// serveChat answers POST /api/chat: an OpenAI chat body (messages, model,
// temperature and any other OpenAI field), always streamed. The body is
// passed on as sent, with only `stream` set.
func serveChat(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	body, perr := hub.ReadBody(w, r)
	if perr == nil && !json.Valid(body) {
		perr = invalidBody("the request body is not valid JSON")
	}
	var chat []byte
	if perr == nil {
		var err error
		if chat, err = jsonscan.Set(body, "stream", []byte("true")); err != nil {
			perr = invalidBody("the request body must be a JSON object")
		}
	}
	if perr != nil {
		hub.Refuse(w, r, perr, errorShape{})
		return
	}
	hub.Serve(w, r, &inbound.Exchange{Chat: chat, Translator: chatTranslator{}})
}

// chatTranslator translates the answers of /api/chat, which are always
// streamed.
type chatTranslator struct{ errorShape }

// errNotStreamed cannot happen: /api/chat always asks for a stream.
var errNotStreamed = errors.New("/api/chat answers only with a stream")

func (chatTranslator) Answer([]byte, string) ([]byte, error) { return nil, errNotStreamed }

func (chatTranslator) Stream(string) inbound.StreamEncoder { return &chatEvents{} }

// Interface guards
var _ inbound.Translator = chatTranslator{}
