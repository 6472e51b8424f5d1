package providers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// How a provider that speaks OpenAI's API serves OpenAI's Responses API.
const (
	// ResponsesNative relays a Responses request to the upstream's own
	// `/responses` endpoint.
	ResponsesNative = "native"
	// ResponsesTranslate turns it into a chat call, for servers without
	// `/responses`.
	ResponsesTranslate = "translate"
)

// ResponsesOption parses `responses native|translate` into dst.
func ResponsesOption(dst *string) func(d *caddyfile.Dispenser) error {
	return func(d *caddyfile.Dispenser) error {
		return valueArg(d, dst, ResponsesNative+" or "+ResponsesTranslate, func(s string) (string, bool) {
			return s, s == ResponsesNative || s == ResponsesTranslate
		})
	}
}

// CheckResponsesMode refuses a `responses` setting JSON can write but the
// Caddyfile cannot.
func (b *Base) CheckResponsesMode(mode string) error {
	if mode != "" && mode != ResponsesNative && mode != ResponsesTranslate {
		return fmt.Errorf("provider %q: unknown responses mode %q (want %s or %s)", b.Name, mode, ResponsesNative, ResponsesTranslate)
	}
	return nil
}

// ResponseKeeper is implemented by providers that serve OpenAI's
// Responses API natively: the responses they answer are kept by their
// upstream, which the gateway asks for them again.
type ResponseKeeper interface {
	// KeptResponse relays a GET or DELETE of a kept response, or of its
	// input items, upstream: path is what follows `/responses/`
	// (`resp_1`, `resp_1/input_items`) and query is the client's. The
	// upstream's answer is returned untouched in Response.Body; a non-2xx
	// answer as an *Error.
	KeptResponse(ctx context.Context, method, path, query, callerKey string) (*Response, error)
}

// RelayKept sends a GET or DELETE to target and returns the upstream's
// answer untouched, its Content-Type too, for a ResponseKeeper.
func (b *Base) RelayKept(ctx context.Context, method, target, callerKey string, setAuth AuthSetter) (*Response, error) {
	resp, err := b.Request(ctx, method, target, callerKey, setAuth)
	if err != nil {
		return nil, err
	}
	h := RelayHeader(resp.Header)
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if h == nil {
			h = make(http.Header, 1)
		}
		h.Set("Content-Type", ct)
	}
	return &Response{Header: h, Body: resp.Body, Length: resp.ContentLength}, nil
}

// RelayNative posts a natively served operation's body to target and
// returns the upstream's answer untouched: the whole answer, or the raw
// event stream, in Body.
func (b *Base) RelayNative(ctx context.Context, target string, call *Call, body []byte, setAuth AuthSetter) (*Response, error) {
	resp, err := b.Post(ctx, target, call, body, setAuth)
	if err != nil {
		return nil, err
	}
	return &Response{Header: RelayHeader(resp.Header), Body: resp.Body, Length: resp.ContentLength}, nil
}
