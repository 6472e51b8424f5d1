// Package ollama is the provider for Ollama's native API (`/api/chat`,
// `/api/generate`, `/api/embed`, `/api/tags`, `/api/ps`). It translates
// OpenAI requests into Ollama's form and Ollama's answers, including its
// NDJSON streams, back into OpenAI's.
package ollama

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

func init() {
	caddy.RegisterModule(Ollama{})
}

// DefaultBaseURL is where a local Ollama listens.
const DefaultBaseURL = "http://127.0.0.1:11434"

// Ollama sends OpenAI-format requests to Ollama's native API. Chat goes to
// `/api/chat`, legacy completions to `/api/generate`, embeddings to
// `/api/embed`; the model list comes from `/api/tags`. Ollama needs no key:
// when `api_key` is set (for an Ollama behind an authenticating proxy) it
// is sent as `Authorization: Bearer`.
//
// Besides the Provider methods, the module offers model management for the
// gateway's `/api/v1/models` endpoints: Tags (installed models), Running
// (models loaded in memory) and Preload (load a model ahead of use).
type Ollama struct {
	providers.Base

	// KeepAlive is how long Ollama keeps a model loaded after a request:
	// a Go duration such as `10m` or `24h`, a number of seconds, `0` to
	// unload at once, or a negative value to keep it loaded for good. It is
	// sent as `keep_alive` with every request. Default: Ollama's own
	// (5 minutes, or the server's OLLAMA_KEEP_ALIVE).
	KeepAlive string `json:"keep_alive,omitempty"`

	// NumCtx is the context window in tokens, sent as `options.num_ctx`
	// with every chat and completion request. Ollama reloads the model
	// when it changes. Default: the model's own setting (Modelfile
	// `num_ctx`, or the server's OLLAMA_CONTEXT_LENGTH).
	NumCtx int `json:"num_ctx,omitempty"`

	// ThinkBoolean sends `think: true` for `reasoning_effort` low, medium
	// and high instead of the level itself, for Ollama servers older than
	// 0.11 that accept only a boolean. Default: false (the level is sent).
	ThinkBoolean bool `json:"think_boolean,omitempty"`

	keepAlive []byte // KeepAlive as JSON: a number or a duration string
}

// CaddyModule returns the Caddy module information.
func (Ollama) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  providers.Namespace + ".ollama",
		New: func() caddy.Module { return new(Ollama) },
	}
}

// Provision resolves the key, checks keep_alive and builds the HTTP
// client.
func (o *Ollama) Provision(caddy.Context) error {
	if err := o.Setup(DefaultBaseURL); err != nil {
		return err
	}
	ka, err := keepAliveJSON(o.KeepAlive)
	if err != nil {
		return fmt.Errorf("provider %q: %w", o.Name, err)
	}
	o.keepAlive = ka
	o.SetErrorParser(parseError)
	return nil
}

// Validate checks the numeric options.
func (o *Ollama) Validate() error {
	if o.NumCtx < 0 {
		return fmt.Errorf("provider %q: num_ctx must not be negative", o.Name)
	}
	return nil
}

// keepAliveJSON writes a keep_alive value the way Ollama reads it: a plain
// number is seconds, anything else must be a Go duration. Ollama rejects a
// string without a unit, so numbers go out as JSON numbers.
func keepAliveJSON(v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return []byte(v), nil
	}
	if _, err := time.ParseDuration(v); err != nil {
		return nil, fmt.Errorf("keep_alive %q: want a duration such as 10m, a number of seconds, or -1", v)
	}
	return []byte(strconv.Quote(v)), nil
}

// Send translates the call to Ollama's native API.
func (o *Ollama) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	switch call.Op {
	case providers.Chat:
		return o.chat(ctx, call)
	case providers.Completions:
		return o.generate(ctx, call)
	case providers.Embeddings:
		return o.embed(ctx, call)
	}
	return nil, translate.NotSupported("ollama", "/v1/"+string(call.Op))
}

// target is the URL of a native endpoint.
func (o *Ollama) target(path string) string { return o.URL().String() + path }

// post sends a native request body.
func (o *Ollama) post(ctx context.Context, path string, call *providers.Call, body []byte) (*http.Response, error) {
	return o.Post(ctx, o.target(path), call, body, bearer)
}

// badAnswer is the error for an upstream body that is not what Ollama
// writes; the body itself is left out, it may be large or binary.
func badAnswer(what string, err error) *providers.Error {
	msg := "ollama sent an unreadable " + what
	if err != nil && !errors.Is(err, io.EOF) {
		msg += ": " + err.Error()
	}
	return providers.NewError(http.StatusBadGateway, "upstream_error", msg)
}

func bearer(h http.Header, key string) { h.Set("Authorization", "Bearer "+key) }

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens. Syntax:
//
//	provider <name> ollama {
//		base_url <url>
//		api_key <secret>
//		header <field> <value>
//		dial_timeout <duration>
//		keep_alive <duration>
//		num_ctx <tokens>
//		think_boolean
//	}
func (o *Ollama) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return providers.ParseBlock(d, &o.Base, o.CaddyfileOptions())
}

// CaddyfileOptions are the subdirectives of an ollama provider block
// beyond the common ones.
func (o *Ollama) CaddyfileOptions() providers.Options {
	return providers.Options{
		"keep_alive": func(d *caddyfile.Dispenser) error {
			if err := providers.OneArg(d, &o.KeepAlive); err != nil {
				return err
			}
			if _, err := keepAliveJSON(o.KeepAlive); err != nil {
				return d.Err(err.Error())
			}
			return nil
		},
		"num_ctx": func(d *caddyfile.Dispenser) error {
			var s string
			if err := providers.OneArg(d, &s); err != nil {
				return err
			}
			if o.NumCtx != 0 {
				return d.Err("num_ctx already specified")
			}
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return d.Errf("invalid num_ctx '%s': want a positive number of tokens", s)
			}
			o.NumCtx = n
			return nil
		},
		"think_boolean": func(d *caddyfile.Dispenser) error {
			o.ThinkBoolean = true
			return providers.NoArgs(d)
		},
	}
}

// ownedBy is the namespace of an Ollama model name, as Ollama's own
// /v1/models reports it: `library` for official models, else the user or
// organisation in the name (`user/model`, `hf.co/org/model`).
func ownedBy(name string) string {
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	parts := strings.Split(name, "/")
	switch len(parts) {
	case 1:
		return "library"
	case 2:
		return parts[0]
	default:
		return parts[len(parts)-2]
	}
}

// Interface guards
var (
	_ providers.Provider          = (*Ollama)(nil)
	_ providers.ModelInventory    = (*Ollama)(nil)
	_ providers.ModelLoader       = (*Ollama)(nil)
	_ providers.ModelLister       = (*Ollama)(nil)
	_ caddy.Provisioner           = (*Ollama)(nil)
	_ caddy.Validator             = (*Ollama)(nil)
	_ caddy.CleanerUpper          = (*Ollama)(nil)
	_ caddyfile.Unmarshaler       = (*Ollama)(nil)
	_ providers.OptionsDocumenter = (*Ollama)(nil)
)
