package mock

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

const defaultDimensions = 8

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// embed answers an embeddings call with one unit vector per input, seeded
// by the input's hash, so equal inputs give equal vectors.
func (m *Mock) embed(model string, req *request) (*providers.Response, error) {
	inputs := texts(req.Input)
	if len(inputs) == 0 {
		return nil, &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error",
			Param: "input", Message: "input must be a string or an array of strings or tokens"}
	}
	dims := req.Dimensions
	if dims <= 0 {
		dims = defaultDimensions
	}
	data := make([]embedding, len(inputs))
	tokens := 0
	for i, in := range inputs {
		vec := vector(in, dims)
		tokens += countWords(in)
		data[i] = embedding{Object: "embedding", Index: i, Embedding: vec}
		if req.EncodingFormat == "base64" {
			data[i].Embedding = encodeBase64(vec)
		}
	}
	body, err := json.Marshal(map[string]any{
		"object": "list", "model": model, "data": data,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
	if err != nil {
		return nil, err
	}
	return providers.BytesResponse(body), nil
}

func vector(text string, dims int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	state := h.Sum64() | 1
	vec := make([]float32, dims)
	var norm float64
	for i := range vec {
		state ^= state << 13 // xorshift: cheap, deterministic
		state ^= state >> 7
		state ^= state << 17
		v := float64(int64(state%2001)-1000) / 1000
		vec[i] = float32(v)
		norm += v * v
	}
	if norm > 0 {
		scale := float32(1 / math.Sqrt(norm))
		for i := range vec {
			vec[i] *= scale
		}
	}
	return vec
}

// encodeBase64 is OpenAI's base64 format: little-endian float32s.
func encodeBase64(vec []float32) string {
	buf := make([]byte, 4*len(vec))
	for i, v := range vec {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	return base64.StdEncoding.EncodeToString(buf)
}
