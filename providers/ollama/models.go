package ollama

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// LocalModel is a model installed on the Ollama server (GET /api/tags).
type LocalModel struct {
	// Name is the model's name with its tag, e.g. `llama3.2:latest`.
	Name string `json:"name"`
	// Size is the model's size on disk in bytes.
	Size int64 `json:"size"`
	// Digest identifies the model's content.
	Digest string `json:"digest,omitempty"`
	// ModifiedAt is when the model was last pulled or changed.
	ModifiedAt time.Time `json:"modified_at"`
	// Format is the weights' file format, e.g. `gguf`.
	Format string `json:"format,omitempty"`
	// Family is the model family, e.g. `llama`.
	Family string `json:"family,omitempty"`
	// ParameterSize is Ollama's description of the parameter count, e.g. `3.2B`.
	ParameterSize string `json:"parameter_size,omitempty"`
	// QuantizationLevel is the weights' quantization, e.g. `Q4_K_M`.
	QuantizationLevel string `json:"quantization_level,omitempty"`
}

// RunningModel is a model loaded in the Ollama server's memory (GET
// /api/ps).
type RunningModel struct {
	// Name is the model's name with its tag.
	Name string `json:"name"`
	// Size is the memory the loaded model takes, in bytes.
	Size int64 `json:"size"`
	// SizeVRAM is the part of Size held in GPU memory, in bytes.
	SizeVRAM int64 `json:"size_vram"`
	// ExpiresAt is when Ollama unloads the model unless it is used again.
	ExpiresAt time.Time `json:"expires_at"`
	// Format is the weights' file format, e.g. `gguf`.
	Format string `json:"format,omitempty"`
	// ParameterSize is Ollama's description of the parameter count.
	ParameterSize string `json:"parameter_size,omitempty"`
	// QuantizationLevel is the weights' quantization, e.g. `Q4_K_M`.
	QuantizationLevel string `json:"quantization_level,omitempty"`
}

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
	raw, err := readBody(resp)
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
func (o *Ollama) Tags(ctx context.Context, callerKey string) ([]LocalModel, error) {
	entries, err := o.list(ctx, "/api/tags", callerKey)
	if err != nil {
		return nil, err
	}
	out := make([]LocalModel, len(entries))
	for i, m := range entries {
		out[i] = LocalModel{Name: m.name(), Size: m.Size, Digest: m.Digest, ModifiedAt: m.ModifiedAt,
			Format: m.Details.Format, Family: m.Details.Family, ParameterSize: m.Details.ParameterSize,
			QuantizationLevel: m.Details.QuantizationLevel}
	}
	return out, nil
}

// Running lists the models loaded in the Ollama server's memory, from GET
// /api/ps; callerKey is as for Tags.
func (o *Ollama) Running(ctx context.Context, callerKey string) ([]RunningModel, error) {
	entries, err := o.list(ctx, "/api/ps", callerKey)
	if err != nil {
		return nil, err
	}
	out := make([]RunningModel, len(entries))
	for i, m := range entries {
		out[i] = RunningModel{Name: m.name(), Size: m.Size, SizeVRAM: m.SizeVRAM, ExpiresAt: m.ExpiresAt,
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
			return invalidValue("keep_alive", err.Error())
		}
	}
	body, err := providers.MarshalJSON(generateRequest{Model: model, KeepAlive: ka})
	if err != nil {
		return invalidValue("", "encoding the ollama request: "+err.Error())
	}
	resp, err := o.post(ctx, "/api/generate", &providers.Call{Model: model}, body)
	if err != nil {
		return err
	}
	raw, err := readBody(resp)
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
