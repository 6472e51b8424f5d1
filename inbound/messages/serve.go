package messages

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// serveMessages answers POST /v1/messages. The request goes upstream as
// a chat request; a target that serves Messages natively (anthropic) gets
// the client's body instead.
func serveMessages(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	body, perr := hub.ReadBody(w, r)
	var req request
	if perr == nil {
		if err := json.Unmarshal(body, &req); err != nil {
			perr = invalid("", "the request body is not a valid Messages request: "+err.Error())
		}
	}
	var chat []byte
	if perr == nil {
		chat, perr = chatBody(hub, r, &req)
	}
	if perr != nil {
		hub.Refuse(w, r, perr, errorShape{})
		return
	}
	hub.Serve(w, r, &inbound.Exchange{Chat: chat, Translator: translator{stops: req.StopSequences},
		API: providers.Messages, Body: body, Meter: newUsageMeter})
}

// chatBody is the chat request req becomes. The route's targets are
// looked at only when it matters: for top_k, and for a request that
// cannot be translated, which still goes to a route whose every target
// serves Messages natively, as a chat request with just what the pipeline
// reads (model, max_tokens, stream): no target will be sent it.
func chatBody(hub inbound.Hub, r *http.Request, req *request) ([]byte, *providers.Error) {
	keepTopK := req.TopK != nil && inspectRoute(hub, r, req.Model).topK
	chat, perr := req.toChat(keepTopK)
	if perr != nil {
		// Anthropic requires max_tokens too.
		if req.MaxTokens == nil || !inspectRoute(hub, r, req.Model).native {
			return nil, perr
		}
		chat = &chatRequest{Model: req.Model, MaxTokens: *req.MaxTokens, Messages: []chatMessage{}, Stream: req.Stream}
	}
	body, err := providers.MarshalJSON(chat)
	if err != nil {
		return nil, providers.NewError(http.StatusInternalServerError, "", "encoding the chat request failed")
	}
	return body, nil
}

// topKProviders are the provider types whose upstream APIs take top_k;
// OpenAI's and Azure's refuse a request that has it.
var topKProviders = map[string]bool{"anthropic": true, "dashscope": true, "gemini": true, "ollama": true}

// routeTraits is what the translation needs to know of the targets a
// request may reach.
type routeTraits struct {
	// topK: every target is of a provider type that takes top_k.
	topK bool
	// native: every target serves Messages natively.
	native bool
}

// inspectRoute looks at the targets of model's route. The chat request
// is built before the pipeline picks a target, so top_k goes only where
// no target refuses it. A request whose caller or model the pipeline will
// refuse has no route to look at.
func inspectRoute(hub inbound.Hub, r *http.Request, model string) routeTraits {
	catalog, perr := hub.Catalog(r)
	if perr != nil {
		return routeTraits{}
	}
	route, perr := catalog.Route(model)
	if perr != nil || len(route.Targets) == 0 {
		return routeTraits{}
	}
	traits := routeTraits{topK: true, native: true}
	for _, t := range route.Targets {
		n, ok := t.Provider.(providers.NativeAPIs)
		traits.native = traits.native && ok && n.ServesNatively(providers.Messages)
		m, ok := t.Provider.(caddy.Module)
		if !ok {
			traits.topK = false
			continue
		}
		id := string(m.CaddyModule().ID)
		traits.topK = traits.topK && topKProviders[id[strings.LastIndexByte(id, '.')+1:]]
	}
	return traits
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
