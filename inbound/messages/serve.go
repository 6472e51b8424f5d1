package messages

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// serveMessages answers POST /v1/messages.
func serveMessages(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	body, perr := hub.ReadBody(w, r)
	var req request
	if perr == nil && json.Unmarshal(body, &req) != nil {
		perr = invalid("", "the request body is not a valid Messages request")
	}
	var chat *chatRequest
	if perr == nil {
		chat, perr = req.toChat(routeTakesTopK(hub, r, req))
	}
	var chatBody []byte
	if perr == nil {
		var err error
		if chatBody, err = providers.MarshalJSON(chat); err != nil {
			perr = providers.NewError(http.StatusInternalServerError, "", "encoding the chat request failed")
		}
	}
	if perr != nil {
		hub.Refuse(w, r, perr, errorShape{})
		return
	}
	hub.Serve(w, r, &inbound.Exchange{Chat: chatBody, Translator: translator{stops: req.StopSequences}})
}

// topKProviders are the provider types whose upstream APIs take top_k;
// OpenAI's and Azure's refuse a request that has it.
var topKProviders = map[string]bool{"anthropic": true, "dashscope": true, "gemini": true, "ollama": true}

// routeTakesTopK reports whether every target of the model's route is of
// a provider type that takes top_k: the chat request is built before the
// pipeline picks a target, so top_k goes only where no target refuses it.
// A request whose caller or model the pipeline will refuse gets none.
func routeTakesTopK(hub inbound.Hub, r *http.Request, req request) bool {
	if req.TopK == nil {
		return false
	}
	catalog, perr := hub.Catalog(r)
	if perr != nil {
		return false
	}
	route, perr := catalog.Route(req.Model)
	if perr != nil || len(route.Targets) == 0 {
		return false
	}
	for _, t := range route.Targets {
		m, ok := t.Provider.(caddy.Module)
		if !ok {
			return false
		}
		id := string(m.CaddyModule().ID)
		if !topKProviders[id[strings.LastIndexByte(id, '.')+1:]] {
			return false
		}
	}
	return true
}

// errorShape writes errors in Anthropic's shape.
type errorShape struct{}

func (errorShape) WriteError(w http.ResponseWriter, e *providers.Error, _ bool) { writeError(w, e) }

// translator turns chat answers into Messages; stops are the request's
// stop sequences, one of which may have ended the answer.
type translator struct {
	errorShape
	stops []string
}

func (t translator) Answer(chat []byte, model string) ([]byte, error) {
	return answer(chat, model, t.stops)
}

func (t translator) Stream(model string) inbound.StreamEncoder {
	return &eventStream{model: model, stops: t.stops}
}

// pingEvent is Anthropic's keepalive, which its SDKs skip wherever it
// comes.
var pingEvent = []byte("event: ping\ndata: {\"type\":\"ping\"}\n\n")

// Keepalive sends Anthropic's ping while a stream waits for its first
// chunk.
func (translator) Keepalive() []byte { return pingEvent }

// Interface guards
var (
	_ inbound.Translator = translator{}
	_ inbound.Keepaliver = translator{}
)
