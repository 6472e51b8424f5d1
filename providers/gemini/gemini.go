// Package gemini is the provider for Google's Gemini API (the Generative
// Language API at generativelanguage.googleapis.com). It translates OpenAI
// chat and embeddings requests into Gemini's native generateContent,
// streamGenerateContent and batchEmbedContents calls, and Gemini's answers
// and event streams back into OpenAI's exact JSON and chunks.
package gemini

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

func init() {
	caddy.RegisterModule(Gemini{})
}

const (
	// DefaultBaseURL is the public Gemini API.
	DefaultBaseURL = "https://generativelanguage.googleapis.com"
	// DefaultAPIVersion is the API version path segment used when none is
	// configured; v1beta is the version that has every feature the
	// translation relies on (JSON-schema tools and outputs, thinking).
	DefaultAPIVersion = "v1beta"
)

// Gemini translates OpenAI-format requests to Google's Gemini API. Chat goes
// to `/<api_version>/models/<model>:generateContent` (streamed:
// `:streamGenerateContent?alt=sse`), embeddings to `:batchEmbedContents`,
// and the model list comes from `/<api_version>/models`. The key is sent in
// the `x-goog-api-key` header, never in the URL. Answers carry the model
// name the client asked for. Legacy `/v1/completions` is not supported.
type Gemini struct {
	providers.Base

	// APIVersion is the API version path segment, for example `v1beta` or
	// `v1`. Features such as `parametersJsonSchema`, `responseJsonSchema` and
	// thinking settings may be missing from older versions. Default:
	// `v1beta`.
	APIVersion string `json:"api_version,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Gemini) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  providers.Namespace + ".gemini",
		New: func() caddy.Module { return new(Gemini) },
	}
}

var versionPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Provision applies the defaults, resolves the key and builds the HTTP
// client.
func (g *Gemini) Provision(caddy.Context) error {
	if g.APIVersion == "" {
		g.APIVersion = DefaultAPIVersion
	}
	if !versionPattern.MatchString(g.APIVersion) {
		return fmt.Errorf("provider %q: invalid api_version %q: want a path segment such as v1beta", g.Name, g.APIVersion)
	}
	if err := g.Setup(DefaultBaseURL); err != nil {
		return err
	}
	// A pasted base URL sometimes ends in the version the gateway adds itself.
	g.URL().Path = strings.TrimSuffix(g.URL().Path, "/"+g.APIVersion)
	g.SetErrorParser(parseError)
	return nil
}

// Send performs one chat or embeddings call.
func (g *Gemini) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	switch call.Op {
	case providers.Chat:
		return g.chat(ctx, call)
	case providers.Embeddings:
		return g.embed(ctx, call)
	default:
		return nil, translate.NotSupported("gemini", "/v1/"+string(call.Op))
	}
}

// target is the URL of a method on a model, e.g. `generateContent`.
func (g *Gemini) target(model, method string) string {
	return g.URL().String() + "/" + g.APIVersion + "/" + modelPath(model) + ":" + method
}

// modelName is the resource name Gemini uses for a model: `models/<id>`,
// or a tuned model's `tunedModels/<id>` as written.
func modelName(model string) string {
	if strings.HasPrefix(model, "models/") || strings.HasPrefix(model, "tunedModels/") {
		return model
	}
	return "models/" + model
}

// modelPath is modelName escaped for use in a URL path.
func modelPath(model string) string {
	collection, id, _ := strings.Cut(modelName(model), "/")
	return collection + "/" + url.PathEscape(id)
}

// setKey sends the key the way Gemini wants it; a key in the URL would end
// up in access logs.
func setKey(h http.Header, key string) { h.Set("X-Goog-Api-Key", key) }

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens. Syntax:
//
//	provider <name> gemini {
//		base_url <url>
//		api_key <secret>|passthrough
//		api_version <version>
//		header <field> <value>
//		dial_timeout <duration>
//	}
func (g *Gemini) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return providers.ParseBlock(d, &g.Base, g.CaddyfileOptions())
}

// CaddyfileOptions are the subdirectives of a gemini provider block beyond
// the common ones.
func (g *Gemini) CaddyfileOptions() providers.Options {
	return providers.Options{
		"api_version": func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &g.APIVersion) },
	}
}

// Interface guards
var (
	_ providers.Provider          = (*Gemini)(nil)
	_ providers.ModelLister       = (*Gemini)(nil)
	_ providers.ChatTokenCounter  = (*Gemini)(nil)
	_ caddy.Provisioner           = (*Gemini)(nil)
	_ caddy.CleanerUpper          = (*Gemini)(nil)
	_ caddyfile.Unmarshaler       = (*Gemini)(nil)
	_ providers.OptionsDocumenter = (*Gemini)(nil)
)
