package native

import (
	"go.uber.org/zap"

	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// loadRequest is the body of POST /api/v1/models/{name}/load; every field
// is optional.
type loadRequest struct {
	// Quantization picks a quantized variant by tag (see withQuantization).
	Quantization string `json:"quantization"`
	// PreferGPU is accepted for the native API's clients and not acted
	// on: Ollama places a model's layers on the GPU by itself.
	PreferGPU *bool `json:"prefer_gpu"`
	// KeepAlive is how long the model stays loaded, e.g. 30m or -1.
	KeepAlive string `json:"keep_alive"`
}

// loadResponse answers a successful load.
type loadResponse struct {
	Name     string  `json:"name"`
	Model    string  `json:"model"`
	Provider string  `json:"provider"`
	Loaded   bool    `json:"loaded"`
	LoadTime float64 `json:"load_time"` // seconds
	// MemoryUsage is what the loaded model takes, when the provider says.
	MemoryUsage *string `json:"memory_usage"`
	// PreferGPU echoes the request's prefer_gpu and says it was not applied.
	PreferGPU string `json:"prefer_gpu,omitempty"`
}

// serveLoad answers POST /api/v1/models/{name}/load. {name} is a public
// model name, routed as for a generation; the first of its targets whose
// provider can load models loads it. Elsewhere: 501 NOT_IMPLEMENTED.
func serveLoad(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	c, perr := hub.Catalog(r)
	fail := func(e *providers.Error, fromUpstream bool) {
		c.WriteHeaders(w.Header())
		writeError(w, e, fromUpstream)
	}
	if perr != nil {
		fail(perr, false)
		return
	}
	if perr := c.Admit(r); perr != nil {
		fail(perr, false)
		return
	}
	var req loadRequest
	body, perr := hub.ReadBody(w, r)
	if perr == nil && len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			perr = invalidBody("the request body is not a valid load request: " + err.Error())
		}
	}
	if perr != nil {
		fail(perr, false)
		return
	}
	name := r.PathValue("name")
	route, perr := c.Route(name)
	if perr != nil {
		fail(perr, false)
		return
	}
	var target inbound.Target
	var loader providers.ModelLoader
	for _, t := range route.Targets {
		if l, ok := t.Provider.(providers.ModelLoader); ok {
			target, loader = t, l
			break
		}
	}
	if loader == nil {
		fail(providers.NewError(http.StatusNotImplemented, "not_implemented",
			"the provider "+route.Targets[0].Provider.Config().Name+" of model `"+name+
				"` does not load models on request; only providers that run models themselves (ollama) do"), false)
		return
	}
	model, perr := withQuantization(target.UpstreamModel(name), req.Quantization)
	if perr != nil {
		fail(perr, false)
		return
	}

	provider := target.Provider.Config().Name
	log := hub.Logger()
	res := loadResponse{Name: name, Model: model, Provider: provider, Loaded: true}
	perr = c.Call(r, target, model, func(ctx context.Context, callerKey string) error {
		began := time.Now()
		if err := loader.Preload(ctx, model, req.KeepAlive); err != nil {
			return err
		}
		loadTime := time.Since(began)
		res.LoadTime = loadTime.Seconds()
		log.Info("loaded model", zap.String("model", model), zap.String("provider", provider), zap.Duration("duration", loadTime))
		res.MemoryUsage = memoryUsage(ctx, target.Provider, callerKey, model)
		return nil
	})
	if perr != nil {
		if perr.Status == statusClientClosed {
			return
		}
		log.Warn("loading a model failed", zap.String("model", model), zap.String("provider", provider), zap.Int("status", perr.Status), zap.String("error", perr.Message))
		// The provider does not have the model at all: not found, not
		// merely unloaded.
		fail(perr, perr.Status != http.StatusNotFound)
		return
	}
	if req.PreferGPU != nil {
		res.PreferGPU = "not applied: the provider places layers on the GPU itself"
	}
	c.WriteHeaders(w.Header())
	writeJSON(w, http.StatusOK, res)
}

// memoryUsage is what model takes in p's memory, when p says.
func memoryUsage(ctx context.Context, p providers.Provider, callerKey, model string) *string {
	inv, ok := p.(providers.ModelInventory)
	if !ok {
		return nil
	}
	running, err := inv.Running(ctx, callerKey)
	if err != nil {
		return nil
	}
	var mem *string
	for _, m := range running {
		if sameModel(m.Name, model) {
			s := humanBytes(m.Size)
			mem = &s
		}
	}
	return mem
}

var (
	quantizationName = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
	// quantizedTag matches a tag that already names a quantization, as
	// Ollama's library tags do: 7b-instruct-q4_0, 8b-fp16, q4_K_M.
	quantizedTag = regexp.MustCompile(`(?i)(^|-)(q\d\w*|iq\d\w*|fp16|f16|bf16|fp32|f32)$`)
)

// withQuantization picks the tag of a quantized variant the way Ollama's
// library names them: the quantization is appended to the tag, so
// `qwen2.5:7b-instruct` with `q4_0` loads `qwen2.5:7b-instruct-q4_0`. A
// tag that already names this quantization is kept; one that names
// another is an error, as is a name without a tag (which size to pick
// cannot be guessed).
func withQuantization(model, q string) (string, *providers.Error) {
	if q == "" {
		return model, nil
	}
	if !quantizationName.MatchString(q) {
		return "", fieldError("quantization", "quantization must be a tag suffix such as q4_0 or q8_0")
	}
	i := strings.LastIndexByte(model, ':')
	if i < 0 || i < strings.LastIndexByte(model, '/') {
		return "", fieldError("quantization", "to pick a quantization, route the model to a tagged name such as qwen2.5:7b-instruct; `"+
			model+"` has no tag")
	}
	tag := model[i+1:]
	if m := quantizedTag.FindStringSubmatch(tag); m != nil {
		if strings.EqualFold(m[2], q) {
			return model, nil
		}
		return "", fieldError("quantization", "`"+model+"` is already quantized as "+m[2]+"; it cannot be loaded as "+q)
	}
	return model + "-" + q, nil
}
