package messages

import (
	"context"
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// countResponse is the answer of POST /v1/messages/count_tokens.
type countResponse struct {
	InputTokens int `json:"input_tokens"`
}

// serveCountTokens answers POST /v1/messages/count_tokens: the first
// target of the model's route whose upstream counts tokens itself
// (anthropic, gemini) is asked; for other routes the gateway estimates
// (see estimateTokens). A count is metered as a request, not as tokens.
func serveCountTokens(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	c, perr := hub.Catalog(r)
	fail := func(e *providers.Error) {
		c.WriteHeaders(w.Header())
		writeError(w, e)
	}
	if perr != nil {
		fail(perr)
		return
	}
	if perr := c.Admit(r); perr != nil {
		fail(perr)
		return
	}
	body, perr := hub.ReadBody(w, r)
	var req request
	if perr == nil {
		if err := json.Unmarshal(body, &req); err != nil {
			perr = invalid("", "the request body is not a valid count_tokens request: "+err.Error())
		}
	}
	var route inbound.Route
	if perr == nil {
		route, perr = c.Route(req.Model)
	}
	var answer []byte
	if perr == nil {
		answer, perr = count(c, r, route, &req, body)
	}
	if perr != nil {
		fail(perr)
		return
	}
	c.WriteHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(answer)
}

// count asks the first target of route that counts tokens itself: in
// Anthropic's API, which gets the client's body, or in its own, which gets
// the chat request req becomes. It estimates when no target counts.
func count(c inbound.Catalog, r *http.Request, route inbound.Route, req *request, body []byte) ([]byte, *providers.Error) {
	for _, t := range route.Targets {
		model := t.UpstreamModel(req.Model)
		switch counter := t.Provider.(type) {
		case providers.MessageTokenCounter:
			upstreamBody, err := jsonscan.Set(body, "model", jsonString(model))
			if err != nil {
				return nil, invalid("", "the request body must be a JSON object")
			}
			var answer []byte
			perr := c.Call(r, t, model, func(ctx context.Context, callerKey string) error {
				answer, err = counter.CountMessageTokens(ctx, upstreamBody, r.Header, callerKey)
				return err
			})
			return answer, perr
		case providers.ChatTokenCounter:
			chat, perr := countedChat(req)
			if perr != nil {
				return nil, perr
			}
			chat.Model = model
			chatBody, err := providers.MarshalJSON(chat)
			if err != nil {
				return nil, providers.NewError(http.StatusInternalServerError, "", "encoding the chat request failed")
			}
			var n int
			perr = c.Call(r, t, model, func(ctx context.Context, callerKey string) error {
				n, err = counter.CountChatTokens(ctx, &providers.Call{Op: providers.Chat, Model: model, ClientModel: req.Model,
					Body: chatBody, RequestHeader: r.Header, CallerKey: callerKey})
				return err
			})
			if perr != nil {
				return nil, perr
			}
			return countAnswer(n)
		}
	}
	n, perr := estimateTokens(req)
	if perr != nil {
		return nil, perr
	}
	return countAnswer(n)
}

// countAnswer is the body of a count of n tokens.
func countAnswer(n int) ([]byte, *providers.Error) {
	answer, err := providers.MarshalJSON(countResponse{InputTokens: n})
	if err != nil {
		return nil, providers.NewError(http.StatusInternalServerError, "", "encoding the count failed")
	}
	return answer, nil
}

// countedChat is the chat request whose prompt a count_tokens request
// asks about. count_tokens has no max_tokens, which the translation
// wants.
func countedChat(req *request) (*chatRequest, *providers.Error) {
	if req.MaxTokens == nil {
		one := int64(1)
		req.MaxTokens = &one
	}
	return req.toChat(false)
}

// jsonString is s as a JSON string.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// Token estimates, for upstreams that do not count: a token is about
// four characters of English text or code, each message and tool costs a
// few tokens of framing, and an image about what Anthropic charges for
// the largest it does not scale down (1.15 megapixels).
const (
	charsPerToken    = 4
	tokensPerMessage = 3
	tokensPerImage   = 1600
)

// estimateTokens estimates the input tokens of req as the chat request it
// becomes: its text (tool calls and tool definitions as their JSON), and
// a fixed cost per message and image.
func estimateTokens(req *request) (int, *providers.Error) {
	chat, perr := countedChat(req)
	if perr != nil {
		return 0, perr
	}
	var chars, tokens int
	for _, m := range chat.Messages {
		tokens += tokensPerMessage
		switch content := m.Content.(type) {
		case string:
			chars += utf8.RuneCountInString(content)
		case []chatPart:
			for _, p := range content {
				if p.Type == "image_url" {
					tokens += tokensPerImage
				} else {
					chars += utf8.RuneCountInString(p.Text)
				}
			}
		}
		for _, tc := range m.ToolCalls {
			chars += utf8.RuneCountInString(tc.Function.Name) + utf8.RuneCountInString(tc.Function.Arguments)
		}
	}
	for _, t := range chat.Tools {
		tokens += tokensPerMessage
		chars += utf8.RuneCountInString(t.Function.Name) + utf8.RuneCountInString(t.Function.Description) + utf8.RuneCount(t.Function.Parameters)
	}
	return tokens + (chars+charsPerToken-1)/charsPerToken, nil
}
