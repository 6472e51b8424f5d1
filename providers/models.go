package providers

import (
	"context"
	"time"
)

// LocalModel is a model installed where a provider runs it (Ollama: GET /api/tags).
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

// RunningModel is a model loaded in a provider's memory (Ollama: GET
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

// ModelInventory is implemented by providers that run models themselves
// (Ollama) and can say which are installed and which loaded; it feeds
// GET /api/v1/models. callerKey is the caller's own key for providers
// that pass keys through, else empty.
type ModelInventory interface {
	Tags(ctx context.Context, callerKey string) ([]LocalModel, error)
	Running(ctx context.Context, callerKey string) ([]RunningModel, error)
}

// ModelLoader is implemented by providers that can load a model into
// memory ahead of use; it serves POST /api/v1/models/{name}/load.
// keepAlive is how long the model stays loaded (a Go duration or
// seconds); empty uses the provider's setting.
type ModelLoader interface {
	Preload(ctx context.Context, model, keepAlive string) error
}
