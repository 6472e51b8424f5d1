package translate

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// EmbeddingsRequest is an OpenAI embeddings request.
type EmbeddingsRequest struct {
	Model  string
	Inputs []string
	// Dimensions is nil when the client did not ask for a size.
	Dimensions *int
	// Base64 is true for `encoding_format: base64`, the OpenAI SDKs'
	// default: vectors go back as base64 of little-endian float32s.
	Base64 bool
}

// DecodeEmbeddings decodes an embeddings request whose input is a string
// or an array of strings; token arrays are refused, as translating
// providers take text.
func DecodeEmbeddings(body []byte) (*EmbeddingsRequest, *providers.Error) {
	var raw struct {
		Model          string          `json:"model"`
		Input          json.RawMessage `json:"input"`
		Dimensions     *int            `json:"dimensions"`
		EncodingFormat string          `json:"encoding_format"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, Invalid("", "the request body does not match the embeddings schema: "+err.Error())
	}
	req := &EmbeddingsRequest{Model: raw.Model, Dimensions: raw.Dimensions}
	switch raw.EncodingFormat {
	case "", "float":
	case "base64":
		req.Base64 = true
	default:
		return nil, Invalid("encoding_format", "encoding_format must be float or base64")
	}
	var one string
	if json.Unmarshal(raw.Input, &one) == nil {
		req.Inputs = []string{one}
	} else if json.Unmarshal(raw.Input, &req.Inputs) != nil {
		return nil, Invalid("input", "input must be a string or an array of strings for this provider")
	}
	if len(req.Inputs) == 0 {
		return nil, Invalid("input", "input must not be empty")
	}
	return req, nil
}

type embeddingList struct {
	Object string           `json:"object"`
	Data   []embeddingEntry `json:"data"`
	Model  string           `json:"model"`
	Usage  embeddingUsage   `json:"usage"`
}

type embeddingEntry struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

type embeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// EmbeddingsResponse writes OpenAI's embeddings list for the vectors, in
// input order.
func (r *EmbeddingsRequest) EmbeddingsResponse(model string, vectors [][]float64, promptTokens int) *providers.Response {
	out := embeddingList{Object: "list", Model: model, Data: make([]embeddingEntry, len(vectors)),
		Usage: embeddingUsage{PromptTokens: promptTokens, TotalTokens: promptTokens}}
	for i, v := range vectors {
		out.Data[i] = embeddingEntry{Object: "embedding", Index: i, Embedding: v}
		if r.Base64 {
			out.Data[i].Embedding = float32Base64(v)
		}
	}
	body, _ := json.Marshal(out)
	return providers.BytesResponse(body)
}

func float32Base64(v []float64) string {
	buf := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(f)))
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// NotSupported is the answer for an operation a provider type lacks.
func NotSupported(providerType, operation string) *providers.Error {
	return providers.NewError(http.StatusBadRequest, "unsupported_operation",
		"the "+providerType+" provider does not support "+operation+"; use /v1/chat/completions")
}
