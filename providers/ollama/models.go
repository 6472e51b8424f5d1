package ollama

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// modelEntry is one model of /api/tags or /api/ps.
type modelEntry struct {
	Name       string    `json:"name"`
	Model      string    `json:"model"`
	Size       int64     `json:"size"`
	SizeVRAM   int64     `json:"size_vram"`
	Digest     string    `json:"digest"`
	ModifiedAt time.Time `json:"modified_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Details    struct {
		Format            string `json:"format"`
		Family            string `json:"family"`
		ParameterSize     string `json:"parameter_size"`
		QuantizationLevel string `json:"quantization_level"`
	} `json:"details"`
}

// name is the entry's name; older servers fill only one of name and
// model.
func (m *modelEntry) name() string {
	if m.Name != "" {
		return m.Name
	}
	return m.Model
}

// list reads a model list endpoint.
func (o *Ollama) list(ctx context.Context, path, callerKey string) ([]modelEntry, error) {
	resp, err := o.Get(ctx, o.target(path), callerKey, bearer)
	if err != nil {
		return nil, err
	}
	raw, err := o.ReadBody(resp)
	if err != nil {
		return nil, err
	}
	var v struct {
		Models []modelEntry `json:"models"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, badAnswer("model list", err)
	}
	return v.Models, nil
}

// Tags lists the models installed on the Ollama server, from GET
// /api/tags. callerKey is the caller's own key when the provider passes
// keys through (see providers.Base.UsesCallerKey), else empty.
func (o *Ollama) Tags(ctx context.Context, callerKey string) ([]providers.LocalModel, error) {
	entries, err := o.list(ctx, "/api/tags", callerKey)
	if err != nil {
		return nil, err
	}
	out := make([]providers.LocalModel, len(entries))
	for i, m := range entries {
		out[i] = providers.LocalModel{Name: m.name(), Size: m.Size, Digest: m.Digest, ModifiedAt: m.ModifiedAt,
			Format: m.Details.Format, Family: m.Details.Family, ParameterSize: m.Details.ParameterSize,
			QuantizationLevel: m.Details.QuantizationLevel}
	}
	return out, nil
}

// Running lists the models loaded in the Ollama server's memory, from GET
// /api/ps; callerKey is as for Tags.
func (o *Ollama) Running(ctx context.Context, callerKey string) ([]providers.RunningModel, error) {
	entries, err := o.list(ctx, "/api/ps", callerKey)
	if err != nil {
		return nil, err
	}
	out := make([]providers.RunningModel, len(entries))
	for i, m := range entries {
		out[i] = providers.RunningModel{Name: m.name(), Size: m.Size, SizeVRAM: m.SizeVRAM, ExpiresAt: m.ExpiresAt,
			Format: m.Details.Format, ParameterSize: m.Details.ParameterSize, QuantizationLevel: m.Details.QuantizationLevel}
	}
	return out, nil
}

// ListModels lists the installed models in OpenAI's form: the id is the
// name with its tag, created is the last modification, owned_by the
// model's namespace (`library` for official models).
func (o *Ollama) ListModels(ctx context.Context, callerKey string) ([]providers.Model, error) {
	entries, err := o.list(ctx, "/api/tags", callerKey)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Model, len(entries))
	for i, m := range entries {
		var created int64
		if !m.ModifiedAt.IsZero() {
			created = m.ModifiedAt.Unix()
		}
		out[i] = providers.Model{ID: m.name(), Object: "model", Created: created, OwnedBy: ownedBy(m.name())}
	}
	return out, nil
}

// Preload loads model into the Ollama server's memory without generating
// anything: a POST /api/generate without a prompt, Ollama's documented way
// to load a model. keepAlive says how long it stays loaded (see the
// keep_alive option); empty uses the provider's keep_alive, else Ollama's
// default. It returns when the model is loaded, which can take a while
// for a large model: bound it with ctx. An unknown model is a 404 *Error.
func (o *Ollama) Preload(ctx context.Context, model, keepAlive string) error {
	ka := o.keepAlive
	if keepAlive != "" {
		var err error
		if ka, err = keepAliveJSON(keepAlive); err != nil {
			return translate.Invalid("keep_alive", err.Error())
		}
	}
	body, err := providers.MarshalJSON(generateRequest{Model: model, KeepAlive: ka})
	if err != nil {
		return translate.Invalid("", "encoding the ollama request: "+err.Error())
	}
	resp, err := o.post(ctx, "/api/generate", &providers.Call{Model: model}, body)
	if err != nil {
		return err
	}
	raw, err := o.ReadBody(resp)
	if err != nil {
		return err
	}
	var a generateAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return badAnswer("load answer", err)
	}
	if a.Error != "" {
		return streamError(a.Error)
	}
	if !a.Done {
		return providers.NewError(http.StatusBadGateway, "upstream_error", "ollama did not confirm loading "+model)
	}
	return nil
}
