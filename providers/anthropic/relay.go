package anthropic

import (
	"context"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// ServesNatively reports that Anthropic serves its own Messages API:
// a Messages request reaches it as the client wrote it.
func (a *Anthropic) ServesNatively(op providers.Operation) bool { return op == providers.Messages }

// clientHeaders are the client's request headers a relayed Messages
// request takes upstream: the API version it speaks and the beta
// features it asks for. They go with the key, in place of the configured
// version: a provider without a key (a key-less proxy in front of
// Anthropic) sends its configured version alone.
var clientHeaders = []string{"Anthropic-Version", "Anthropic-Beta"}

// relayMessages sends a client's Messages request (only its model
// rewritten) to /v1/messages and returns Anthropic's answer untouched: the
// Message, or the raw event stream in Body.
func (a *Anthropic) relayMessages(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	resp, err := a.Post(ctx, a.URL().String()+"/v1/messages", call, call.Body, withClientHeaders(call.RequestHeader))
	if err != nil {
		return nil, err
	}
	return &providers.Response{Header: relayHeader(resp.Header), Body: resp.Body, Length: resp.ContentLength}, nil
}

// CountMessageTokens asks Anthropic's /v1/messages/count_tokens.
func (a *Anthropic) CountMessageTokens(ctx context.Context, body []byte, header http.Header, callerKey string) ([]byte, error) {
	call := &providers.Call{Op: providers.Messages, Body: body, RequestHeader: header, CallerKey: callerKey}
	resp, err := a.Post(ctx, a.URL().String()+"/v1/messages/count_tokens", call, body, withClientHeaders(header))
	if err != nil {
		return nil, err
	}
	return a.ReadBody(resp)
}

// withClientHeaders sets the key, and the client's clientHeaders.
func withClientHeaders(client http.Header) providers.AuthSetter {
	return func(h http.Header, key string) {
		apiKey(h, key)
		for _, k := range clientHeaders {
			if v := client.Values(k); len(v) > 0 {
				h[k] = v
			}
		}
	}
}
