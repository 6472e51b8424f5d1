// Package openai is the provider for every upstream that speaks OpenAI's
// API: OpenAI itself, vLLM, llama.cpp's llama-server, Ollama's /v1,
// DeepSeek, DashScope's compatible mode and others.
package openai

import (
	"context"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func init() {
	caddy.RegisterModule(OpenAI{})
}

// DefaultBaseURL is OpenAI's API, version path included as the SDKs do.
const DefaultBaseURL = "https://api.openai.com/v1"

// OpenAI relays requests to an OpenAI-compatible upstream without decoding
// them: every field the client sent reaches the upstream. The operation is
// appended to base_url (`/chat/completions`, `/completions`, `/embeddings`,
// `/models`, `/responses`), and the key is sent as `Authorization: Bearer`.
type OpenAI struct {
	providers.Base

	// DisableStreamUsage stops the gateway from adding
	// `stream_options.include_usage` to streamed requests, for the rare
	// server that rejects the field. Streams then go unmetered unless the
	// upstream reports usage by itself. Default: false.
	DisableStreamUsage bool `json:"disable_stream_usage,omitempty"`

	// Responses is how requests to OpenAI's Responses API are served:
	// `native` relays them to the upstream's own `/responses` as the
	// client wrote them (only `model` rewritten), `translate` turns them
	// into chat completions, for servers without `/responses`. Default:
	// native.
	Responses string `json:"responses,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (OpenAI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  providers.Namespace + ".openai",
		New: func() caddy.Module { return new(OpenAI) },
	}
}

// Provision resolves the key and builds the HTTP client.
func (o *OpenAI) Provision(caddy.Context) error {
	if err := o.CheckResponsesMode(o.Responses); err != nil {
		return err
	}
	return o.Setup(DefaultBaseURL)
}

// ServesNatively reports that the upstream serves OpenAI's Responses API
// itself, unless the provider is set to translate it.
func (o *OpenAI) ServesNatively(op providers.Operation) bool {
	return op == providers.Responses && o.Responses != providers.ResponsesTranslate
}

// Send relays the call.
func (o *OpenAI) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	if call.Op == providers.Responses {
		return o.RelayNative(ctx, o.URL().String()+"/responses", call, call.Body, bearer)
	}
	body := call.Body
	if call.Stream && !o.DisableStreamUsage && call.Op != providers.Embeddings {
		var err error
		if body, err = providers.WithStreamUsage(body); err != nil {
			return nil, providers.NewError(http.StatusBadRequest, "", "invalid stream_options: "+err.Error())
		}
	}
	resp, err := o.Post(ctx, o.URL().String()+"/"+string(call.Op), call, body, bearer)
	if err != nil {
		return nil, err
	}
	return providers.OpenAIResponse(resp, call.Stream), nil
}

// ListModels asks the upstream for its models.
func (o *OpenAI) ListModels(ctx context.Context, callerKey string) ([]providers.Model, error) {
	resp, err := o.Get(ctx, o.URL().String()+"/models", callerKey, bearer)
	if err != nil {
		return nil, err
	}
	body, err := o.ReadBody(resp)
	if err != nil {
		return nil, err
	}
	return providers.ListFromJSON(body)
}

// KeptResponse relays a GET or DELETE of a response the upstream keeps.
func (o *OpenAI) KeptResponse(ctx context.Context, method, path, query, callerKey string) (*providers.Response, error) {
	target := o.URL().String() + "/responses/" + path
	if query != "" {
		target += "?" + query
	}
	return o.RelayKept(ctx, method, target, callerKey, bearer)
}

func bearer(h http.Header, key string) { h.Set("Authorization", "Bearer "+key) }

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens. Syntax:
//
//	provider <name> openai {
//		base_url <url>
//		api_key <secret>
//		header <field> <value>
//		dial_timeout <duration>
//		disable_stream_usage
//		responses native|translate
//	}
func (o *OpenAI) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return providers.ParseBlock(d, &o.Base, o.CaddyfileOptions())
}

// CaddyfileOptions are the subdirectives of an openai provider block
// beyond the common ones.
func (o *OpenAI) CaddyfileOptions() providers.Options {
	return providers.Options{
		"disable_stream_usage": func(d *caddyfile.Dispenser) error {
			o.DisableStreamUsage = true
			return providers.NoArgs(d)
		},
		"responses": providers.ResponsesOption(&o.Responses),
	}
}

// Interface guards
var (
	_ providers.Provider          = (*OpenAI)(nil)
	_ providers.ModelLister       = (*OpenAI)(nil)
	_ providers.NativeAPIs        = (*OpenAI)(nil)
	_ providers.ResponseKeeper    = (*OpenAI)(nil)
	_ caddy.Provisioner           = (*OpenAI)(nil)
	_ caddy.CleanerUpper          = (*OpenAI)(nil)
	_ caddyfile.Unmarshaler       = (*OpenAI)(nil)
	_ providers.OptionsDocumenter = (*OpenAI)(nil)
)
