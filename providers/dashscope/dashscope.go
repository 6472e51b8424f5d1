// Package dashscope is the provider for Alibaba Cloud Model Studio
// (DashScope, Bailian) through its native API: OpenAI chat and embeddings
// requests are translated into DashScope's `input`/`parameters` bodies, and
// its answers and event streams back into OpenAI's format.
package dashscope

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

func init() {
	caddy.RegisterModule(DashScope{})
}

// DefaultBaseURL is the China (Beijing) region. The international
// (Singapore) region is https://dashscope-intl.aliyuncs.com and the US
// (Virginia) one https://dashscope-us.aliyuncs.com; keys are per region.
const DefaultBaseURL = "https://dashscope.aliyuncs.com"

// BaseURLEnv names the environment variable that supplies the base URL when
// the configuration leaves base_url empty.
const BaseURLEnv = "DASHSCOPE_BASE_URL"

// The native API's operations, below base_url.
const (
	textPath       = "/api/v1/services/aigc/text-generation/generation"
	multimodalPath = "/api/v1/services/aigc/multimodal-generation/generation"
	embeddingsPath = "/api/v1/services/embeddings/text-embedding/text-embedding"
)

// Default model patterns; see the fields that use them.
var (
	defaultMultimodalModels = []string{"qwen*-vl*", "qvq*", "qwen*-omni*", "qwen3.5*"}
	defaultStreamOnlyModels = []string{"qwq*", "qvq*", "qwen*-omni*"}
)

// DashScope translates OpenAI requests into DashScope's native API.
//
// `base_url` is the regional host without a path (a trailing `/api/v1` is
// accepted and ignored). Left empty, it is the value of the environment
// variable `DASHSCOPE_BASE_URL` when that is set, else
// https://dashscope.aliyuncs.com (China); the international host is
// https://dashscope-intl.aliyuncs.com. The key is sent as
// `Authorization: Bearer`; `api_key passthrough` sends each caller's own
// DashScope key instead.
//
// Chat goes to `/api/v1/services/aigc/text-generation/generation`, or to
// `.../multimodal-generation/generation` for requests with images and for
// the models in `multimodal_models`. Embeddings go to
// `/api/v1/services/embeddings/text-embedding/text-embedding`, ten texts
// per upstream call. Legacy completions are refused, and DashScope has no
// model list, so wildcard routes list nothing for this provider.
type DashScope struct {
	providers.Base

	// MultimodalModels are glob patterns (`*` matches any run of
	// characters) of upstream models that only the multimodal endpoint
	// serves; requests for them go there even without images. Setting it
	// replaces the default: `qwen*-vl*`, `qvq*`, `qwen*-omni*`, `qwen3.5*`.
	MultimodalModels []string `json:"multimodal_models,omitempty"`

	// StreamOnlyModels are glob patterns of upstream models that DashScope
	// serves only as a stream: a non-streamed client request for them is
	// streamed from DashScope and answered as one body. Requests with
	// thinking enabled are always handled this way. Setting it replaces the
	// default: `qwq*`, `qvq*`, `qwen*-omni*`.
	StreamOnlyModels []string `json:"stream_only_models,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (DashScope) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  providers.Namespace + ".dashscope",
		New: func() caddy.Module { return new(DashScope) },
	}
}

// Provision applies the defaults, resolves the key and builds the client.
func (d *DashScope) Provision(caddy.Context) error {
	if d.BaseURL == "" && os.Getenv(BaseURLEnv) != "" {
		// Kept as a placeholder so the adapted config shows where it came from.
		d.BaseURL = "{env." + BaseURLEnv + "}"
	}
	if d.MultimodalModels == nil {
		d.MultimodalModels = defaultMultimodalModels
	}
	if d.StreamOnlyModels == nil {
		d.StreamOnlyModels = defaultStreamOnlyModels
	}
	for _, p := range append(append([]string(nil), d.MultimodalModels...), d.StreamOnlyModels...) {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("provider %q: invalid model pattern %q: %w", d.Name, p, err)
		}
	}
	if err := d.Setup(DefaultBaseURL); err != nil {
		return err
	}
	// A base URL copied from DashScope's docs often ends in /api/v1, which
	// the operation paths already carry.
	d.URL().Path = strings.TrimSuffix(d.URL().Path, "/api/v1")
	d.SetErrorParser(parseError)
	// Without this header DashScope answers a streamed request with one
	// JSON object.
	d.SetStreamHeader(http.Header{"X-Dashscope-Sse": {"enable"}})
	return nil
}

// Send translates the call, sends it and translates the answer.
func (d *DashScope) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	switch call.Op {
	case providers.Chat:
		return d.chat(ctx, call)
	case providers.Embeddings:
		return d.embed(ctx, call)
	default:
		return nil, translate.NotSupported("dashscope", "/v1/"+string(call.Op))
	}
}

// target is the URL of an operation path.
func (d *DashScope) target(op string) string { return d.URL().String() + op }

// matches reports whether model fits one of the glob patterns.
func matches(patterns []string, model string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, model); ok {
			return true
		}
	}
	return false
}

func bearer(h http.Header, key string) { h.Set("Authorization", "Bearer "+key) }

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens. Syntax:
//
//	provider <name> dashscope {
//		base_url <url>
//		api_key <secret>|passthrough
//		multimodal_models <pattern...>
//		stream_only_models <pattern...>
//		header <field> <value>
//		dial_timeout <duration>
//	}
func (d *DashScope) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	return providers.ParseBlock(disp, &d.Base, d.CaddyfileOptions())
}

// CaddyfileOptions are the subdirectives of a dashscope provider block
// beyond the common ones.
func (d *DashScope) CaddyfileOptions() providers.Options {
	return providers.Options{
		"multimodal_models":  func(disp *caddyfile.Dispenser) error { return patternArgs(disp, &d.MultimodalModels) },
		"stream_only_models": func(disp *caddyfile.Dispenser) error { return patternArgs(disp, &d.StreamOnlyModels) },
	}
}

// patternArgs reads one or more model patterns; repeated lines add up.
func patternArgs(disp *caddyfile.Dispenser, dst *[]string) error {
	args := disp.RemainingArgs()
	if len(args) == 0 {
		return disp.ArgErr()
	}
	*dst = append(*dst, args...)
	return nil
}

// Interface guards
var (
	_ providers.Provider          = (*DashScope)(nil)
	_ caddy.Provisioner           = (*DashScope)(nil)
	_ caddy.CleanerUpper          = (*DashScope)(nil)
	_ caddyfile.Unmarshaler       = (*DashScope)(nil)
	_ providers.OptionsDocumenter = (*DashScope)(nil)
)
