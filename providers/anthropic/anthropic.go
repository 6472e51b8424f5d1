// Package anthropic is the provider for Anthropic's Messages API: it
// translates OpenAI chat requests into `POST /v1/messages` calls and the
// answers, streamed or not, back into OpenAI's format.
package anthropic

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/internal/sse"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

func init() {
	caddy.RegisterModule(Anthropic{})
}

// Defaults of the provider's options.
const (
	// DefaultBaseURL is Anthropic's API; `/v1/messages` is appended.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultVersion is the `anthropic-version` header sent by default.
	DefaultVersion = "2023-06-01"
	// DefaultMaxTokens is the answer size asked for when the client set
	// no max_tokens, which Anthropic requires.
	DefaultMaxTokens = 4096
)

// Anthropic translates OpenAI chat completions to Anthropic's Messages API
// (`POST {base_url}/v1/messages`). The key goes in the `x-api-key` header,
// so `api_key passthrough` sends each caller's own Anthropic key; beta
// features are switched on with `header anthropic-beta <feature>`.
// Embeddings and legacy completions are refused with a 400.
type Anthropic struct {
	providers.Base

	// Version is the `anthropic-version` header. Default: `2023-06-01`.
	Version string `json:"version,omitempty"`

	// MaxTokens is the `max_tokens` sent when the client set neither
	// `max_tokens` nor `max_completion_tokens`, since Anthropic requires
	// it. When reasoning_effort turns thinking on, the thinking budget is
	// added to it. Default: 4096.
	MaxTokens int `json:"max_tokens,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Anthropic) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  providers.Namespace + ".anthropic",
		New: func() caddy.Module { return new(Anthropic) },
	}
}

// Provision applies the defaults, resolves the key and builds the HTTP
// client.
func (a *Anthropic) Provision(caddy.Context) error {
	if a.Version == "" {
		a.Version = DefaultVersion
	}
	if a.MaxTokens == 0 {
		a.MaxTokens = DefaultMaxTokens
	}
	if a.Header == nil {
		a.Header = make(http.Header, 1)
	}
	// In the shared headers rather than in the AuthSetter, which only runs
	// when there is a key: the model list and key-less proxies need it too.
	// JSON configs may spell the field in any case; Setup would merge the
	// spellings into two values.
	for k := range a.Header {
		if strings.EqualFold(k, "Anthropic-Version") {
			delete(a.Header, k)
		}
	}
	a.Header.Set("Anthropic-Version", a.Version)
	if err := a.Setup(DefaultBaseURL); err != nil {
		return err
	}
	// Anthropic's SDKs take the host without /v1; a pasted URL often has it.
	a.URL().Path = strings.TrimSuffix(a.URL().Path, "/v1")
	a.SetErrorParser(parseError)
	return nil
}

// Validate checks the options.
func (a *Anthropic) Validate() error {
	if a.MaxTokens < 0 {
		return fmt.Errorf("provider %s: max_tokens must be positive", a.Name)
	}
	return nil
}

// Send translates the call, sends it to /v1/messages and translates the
// answer back.
func (a *Anthropic) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	switch call.Op {
	case providers.Embeddings:
		return nil, translate.NotSupported("anthropic", "/v1/embeddings")
	case providers.Completions:
		return nil, translate.NotSupported("anthropic", "/v1/completions")
	case providers.Messages:
		return a.relayMessages(ctx, call)
	}
	chat, perr := translate.DecodeChat(call.Body)
	if perr != nil {
		return nil, perr
	}
	native, jsonTool, perr := a.buildRequest(call, chat)
	if perr != nil {
		return nil, perr
	}
	body, err := providers.MarshalJSON(native)
	if err != nil {
		return nil, providers.NewError(http.StatusBadRequest, "invalid_value", "encoding the upstream request: "+err.Error())
	}
	resp, err := a.Post(ctx, a.URL().String()+"/v1/messages", call, body, apiKey)
	if err != nil {
		return nil, err
	}
	answer := translate.NewAnswer(call.ClientModel)
	header := relayHeader(resp.Header)
	if call.Stream {
		events := sse.NewReader(resp.Body, providers.MaxEvent)
		st := translate.NewStream(newStream(answer, events, jsonTool).pull, resp.Body)
		st.SetSourceReady(events.Ready)
		return &providers.Response{Header: header, Stream: st}, nil
	}
	raw, err := a.ReadBody(resp)
	if err != nil {
		return nil, err
	}
	out, perr := completion(answer, raw, jsonTool)
	if perr != nil {
		return nil, perr
	}
	r := providers.BytesResponse(out)
	r.Header = header
	return r, nil
}

// apiKey is the AuthSetter: Anthropic API keys go in x-api-key, not in
// Authorization (which is for OAuth tokens).
func apiKey(h http.Header, key string) { h.Set("X-Api-Key", key) }

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens. Syntax:
//
//	provider <name> anthropic {
//		base_url <url>
//		api_key <secret>|passthrough
//		version <anthropic-version>
//		max_tokens <n>
//		header <field> <value>
//		dial_timeout <duration>
//	}
func (a *Anthropic) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return providers.ParseBlock(d, &a.Base, a.CaddyfileOptions())
}

// CaddyfileOptions are the subdirectives of an anthropic provider block
// beyond the common ones.
func (a *Anthropic) CaddyfileOptions() providers.Options {
	return providers.Options{
		"version": func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &a.Version) },
		"max_tokens": func(d *caddyfile.Dispenser) error {
			var s string
			if err := providers.OneArg(d, &s); err != nil {
				return err
			}
			if a.MaxTokens != 0 {
				return d.Err("max_tokens already specified")
			}
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return d.Errf("invalid max_tokens '%s': want a positive number of tokens", s)
			}
			a.MaxTokens = n
			return nil
		},
	}
}

// Interface guards
var (
	_ providers.Provider            = (*Anthropic)(nil)
	_ providers.ModelLister         = (*Anthropic)(nil)
	_ providers.NativeAPIs          = (*Anthropic)(nil)
	_ providers.MessageTokenCounter = (*Anthropic)(nil)
	_ caddy.Provisioner             = (*Anthropic)(nil)
	_ caddy.Validator               = (*Anthropic)(nil)
	_ caddy.CleanerUpper            = (*Anthropic)(nil)
	_ caddyfile.Unmarshaler         = (*Anthropic)(nil)
	_ providers.OptionsDocumenter   = (*Anthropic)(nil)
)
