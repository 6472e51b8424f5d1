// Package azure is the provider for Azure OpenAI deployments.
package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func init() {
	caddy.RegisterModule(Azure{})
}

// Azure relays OpenAI-format requests to Azure OpenAI without decoding them.
// `base_url` is the resource endpoint (`https://<resource>.openai.azure.com`)
// and is required. With a dated `api_version` the call goes to
// `/openai/deployments/<deployment>/<operation>?api-version=<version>`; with
// `api_version v1` it goes to `/openai/v1/<operation>` with the deployment
// as the body's model. OpenAI's Responses API, which is not bound to a
// deployment, is served at `/openai/responses?api-version=<version>` or
// `/openai/v1/responses`, the deployment as the body's model. The key is
// sent in the `api-key` header.
type Azure struct {
	providers.Base

	// APIVersion is the data-plane API version, for example `2024-10-21`,
	// or `v1` for Azure's version-less v1 API. Required.
	APIVersion string `json:"api_version,omitempty"`

	// Deployments maps an upstream model name (after alias resolution) to
	// the deployment that serves it. A model without an entry is used as
	// the deployment name itself.
	Deployments map[string]string `json:"deployments,omitempty"`

	// Responses is how requests to OpenAI's Responses API are served:
	// `native` relays them to the resource's own Responses API as the
	// client wrote them (only `model` rewritten), `translate` turns them
	// into chat completions on the deployment. Default: native with
	// `api_version v1` or a dated version from 2025-03-01-preview on,
	// which have the Responses API; translate with older ones.
	Responses string `json:"responses,omitempty"`

	streamUsage bool
	native      bool // Responses requests are relayed
}

// CaddyModule returns the Caddy module information.
func (Azure) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  providers.Namespace + ".azure",
		New: func() caddy.Module { return new(Azure) },
	}
}

// Provision checks the endpoint and builds the HTTP client.
func (a *Azure) Provision(caddy.Context) error {
	if a.BaseURL == "" {
		return errors.New("provider " + a.Name + ": azure needs the resource endpoint as base_url (https://<resource>.openai.azure.com)")
	}
	if err := a.Setup(""); err != nil {
		return err
	}
	// A pasted endpoint sometimes carries the /openai prefix the gateway adds itself.
	a.URL().Path = strings.TrimSuffix(a.URL().Path, "/openai")
	// stream_options arrived with 2024-09-01-preview; older versions reject it.
	a.streamUsage = a.isV1() || a.APIVersion >= "2024-09-01"
	a.native = a.Responses == providers.ResponsesNative ||
		(a.Responses == "" && (a.isV1() || a.APIVersion >= firstResponsesVersion))
	return nil
}

// firstResponsesVersion is the first dated API version with the
// Responses API.
const firstResponsesVersion = "2025-03-01-preview"

// Validate requires the API version.
func (a *Azure) Validate() error {
	if a.APIVersion == "" {
		return errors.New("provider " + a.Name + ": azure needs api_version (for example 2024-10-21, or v1)")
	}
	return a.CheckResponsesMode(a.Responses)
}

// ServesNatively reports whether the resource's own Responses API serves
// Responses requests.
func (a *Azure) ServesNatively(op providers.Operation) bool {
	return op == providers.Responses && a.native
}

// responsesURL is the URL of the Responses API, followed by path (a kept
// response's, or none) and query.
func (a *Azure) responsesURL(path, query string) string {
	target := a.URL().String()
	if a.isV1() {
		target += "/openai/v1/responses" + path
		if query != "" {
			target += "?" + query
		}
		return target
	}
	target += "/openai/responses" + path + "?api-version=" + url.QueryEscape(a.APIVersion)
	if query != "" {
		target += "&" + query
	}
	return target
}

// relayResponses sends a Responses request to the resource, the
// deployment as its model, and returns the answer untouched.
func (a *Azure) relayResponses(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	quoted, _ := json.Marshal(a.deployment(call.Model))
	body, err := jsonscan.Set(call.Body, "model", quoted)
	if err != nil {
		return nil, providers.NewError(http.StatusBadRequest, "", "invalid request body: "+err.Error())
	}
	return a.RelayNative(ctx, a.responsesURL("", ""), call, body, apiKeyHeader)
}

// KeptResponse relays a GET or DELETE of a response the resource keeps.
func (a *Azure) KeptResponse(ctx context.Context, method, path, query, callerKey string) (*providers.Response, error) {
	return a.RelayKept(ctx, method, a.responsesURL("/"+path, query), callerKey, apiKeyHeader)
}

func (a *Azure) isV1() bool { return a.APIVersion == "v1" }

// deployment returns the deployment serving an upstream model.
func (a *Azure) deployment(model string) string {
	if d, ok := a.Deployments[model]; ok {
		return d
	}
	return model
}

// Target returns the URL for an operation on a model's deployment. The
// deployment is escaped into one path segment; the names that escaping
// leaves as a dot segment (or none), which an upstream would resolve to
// another path, are refused.
func (a *Azure) Target(op providers.Operation, model string) (string, error) {
	base := a.URL().String()
	if a.isV1() {
		return base + "/openai/v1/" + string(op), nil
	}
	deployment := a.deployment(model)
	if deployment == "" || deployment == "." || deployment == ".." {
		e := providers.NewError(http.StatusBadRequest, "invalid_value",
			fmt.Sprintf("the model %q is not a valid Azure deployment name", deployment))
		e.Param = "model"
		return "", e
	}
	return base + "/openai/deployments/" + url.PathEscape(deployment) + "/" + string(op) +
		"?api-version=" + url.QueryEscape(a.APIVersion), nil
}

// Send relays the call to the model's deployment.
func (a *Azure) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	if call.Op == providers.Responses {
		return a.relayResponses(ctx, call)
	}
	body := call.Body
	var err error
	if a.isV1() {
		quoted, _ := json.Marshal(a.deployment(call.Model))
		if body, err = jsonscan.Set(body, "model", quoted); err != nil {
			return nil, providers.NewError(http.StatusBadRequest, "", "invalid request body: "+err.Error())
		}
	}
	if call.Stream && a.streamUsage && call.Op != providers.Embeddings {
		if body, err = providers.WithStreamUsage(body); err != nil {
			return nil, providers.NewError(http.StatusBadRequest, "", "invalid stream_options: "+err.Error())
		}
	}
	target, err := a.Target(call.Op, call.Model)
	if err != nil {
		return nil, err
	}
	resp, err := a.Post(ctx, target, call, body, apiKeyHeader)
	if err != nil {
		return nil, err
	}
	return providers.OpenAIResponse(resp, call.Stream), nil
}

// ListModels lists the models that have a configured deployment.
func (a *Azure) ListModels(context.Context, string) ([]providers.Model, error) {
	names := make([]string, 0, len(a.Deployments))
	for m := range a.Deployments {
		names = append(names, m)
	}
	sort.Strings(names)
	models := make([]providers.Model, len(names))
	for i, m := range names {
		models[i] = providers.Model{ID: m, Object: "model", OwnedBy: a.Name}
	}
	return models, nil
}

func apiKeyHeader(h http.Header, key string) { h.Set("Api-Key", key) }

// ListsLocally reports true: its deployments come from the configuration.
func (*Azure) ListsLocally() bool { return true }

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens. Syntax:
//
//	provider <name> azure {
//		base_url <endpoint>        # or: endpoint <endpoint>
//		api_key <secret>
//		api_version <version>
//		deployment <model> <deployment>
//		responses native|translate
//		header <field> <value>
//		dial_timeout <duration>
//	}
func (a *Azure) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return providers.ParseBlock(d, &a.Base, a.CaddyfileOptions())
}

// CaddyfileOptions are the subdirectives of an azure provider block
// beyond the common ones.
func (a *Azure) CaddyfileOptions() providers.Options {
	return providers.Options{
		"endpoint":    func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &a.BaseURL) },
		"api_version": func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &a.APIVersion) },
		"deployment": func(d *caddyfile.Dispenser) error {
			var model, deployment string
			if !d.Args(&model, &deployment) || d.NextArg() {
				return d.ArgErr()
			}
			if a.Deployments == nil {
				a.Deployments = make(map[string]string)
			}
			if _, dup := a.Deployments[model]; dup {
				return d.Errf("deployment for model %q already specified", model)
			}
			a.Deployments[model] = deployment
			return nil
		},
		"responses": providers.ResponsesOption(&a.Responses),
	}
}

// Interface guards
var (
	_ providers.Provider          = (*Azure)(nil)
	_ providers.ModelLister       = (*Azure)(nil)
	_ providers.LocalLister       = (*Azure)(nil)
	_ providers.NativeAPIs        = (*Azure)(nil)
	_ providers.ResponseKeeper    = (*Azure)(nil)
	_ caddy.Provisioner           = (*Azure)(nil)
	_ caddy.Validator             = (*Azure)(nil)
	_ caddy.CleanerUpper          = (*Azure)(nil)
	_ caddyfile.Unmarshaler       = (*Azure)(nil)
	_ providers.OptionsDocumenter = (*Azure)(nil)
)
