// Package messages is Anthropic's Messages API, a door onto the chat hub:
// `POST /v1/messages`, streamed and not, for Claude Code and the Anthropic
// SDKs, and `POST /v1/messages/count_tokens`. A Messages request becomes
// an OpenAI chat request that runs through the whole pipeline (auth,
// limits, routing, fallback, metrics, log line); the chat answer becomes a
// Message, a chat stream Anthropic's event stream, and every error
// Anthropic's `{"type":"error","error":{"type","message"}}`. A target
// that serves Messages natively (anthropic) gets the client's own body
// instead, and its answer goes back untouched.
package messages

import "github.com/llmgateway/caddy-llm-gateway/inbound"

// Door serves Anthropic's Messages API; its errors are Anthropic's.
type Door struct{ errorShape }

// Endpoints lists the Messages API's routes.
func (*Door) Endpoints() []inbound.Endpoint {
	return []inbound.Endpoint{
		{Method: "POST", Path: "/v1/messages", Summary: "Anthropic Messages, streamed or not, for every provider", Serve: serveMessages},
		{Method: "POST", Path: "/v1/messages/count_tokens", Summary: "the input tokens of a Messages request: Anthropic's or Gemini's count, an estimate elsewhere", Serve: serveCountTokens},
	}
}

// Interface guards
var _ inbound.Door = (*Door)(nil)
