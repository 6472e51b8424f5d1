package dashscope

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// embedBatch is how many texts go into one upstream call: text-embedding-v3
// and v4 take at most 10 (v1 and v2 take 25).
const embedBatch = 10

type embedRequest struct {
	Model      string           `json:"model"`
	Input      embedInput       `json:"input"`
	Parameters *embedParameters `json:"parameters,omitempty"`
}

type embedInput struct {
	Texts []string `json:"texts"`
}

type embedParameters struct {
	Dimension int `json:"dimension"`
}

type embedAnswer struct {
	Output struct {
		Embeddings []struct {
			TextIndex int       `json:"text_index"`
			Embedding []float64 `json:"embedding"`
		} `json:"embeddings"`
	} `json:"output"`
	Usage struct {
		TotalTokens int `json:"total_tokens"`
	} `json:"usage"`
	RequestID string `json:"request_id"`
}

// embed serves an embeddings request, in batches DashScope accepts.
func (d *DashScope) embed(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	req, perr := translate.DecodeEmbeddings(call.Body)
	if perr != nil {
		return nil, perr
	}
	vectors := make([][]float64, 0, len(req.Inputs))
	tokens := 0
	var hdr http.Header
	for start := 0; start < len(req.Inputs); start += embedBatch {
		texts := req.Inputs[start:min(start+embedBatch, len(req.Inputs))]
		got, n, h, err := d.embedOnce(ctx, call, req, texts)
		if err != nil {
			return nil, err
		}
		vectors = append(vectors, got...)
		tokens += n
		if hdr == nil {
			hdr = h
		}
	}
	out := req.EmbeddingsResponse(call.ClientModel, vectors, tokens)
	out.Header = hdr
	return out, nil
}

// embedOnce embeds one batch and returns its vectors in input order.
func (d *DashScope) embedOnce(ctx context.Context, call *providers.Call, req *translate.EmbeddingsRequest, texts []string) ([][]float64, int, http.Header, error) {
	native := embedRequest{Model: call.Model, Input: embedInput{Texts: texts}}
	if req.Dimensions != nil {
		native.Parameters = &embedParameters{Dimension: *req.Dimensions}
	}
	body, err := providers.MarshalJSON(native)
	if err != nil {
		return nil, 0, nil, providers.NewError(http.StatusBadRequest, "invalid_value", "the request cannot be encoded: "+err.Error())
	}
	resp, err := d.Post(ctx, d.target(embeddingsPath), call, body, bearer)
	if err != nil {
		return nil, 0, nil, err
	}
	raw, err := d.ReadBody(resp)
	if err != nil {
		return nil, 0, nil, err
	}
	var ans embedAnswer
	var f frame
	if json.Unmarshal(raw, &f) == nil && f.isError() {
		return nil, 0, nil, frameError(&f)
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, 0, nil, providers.NewError(http.StatusBadGateway, "upstream_error", "dashscope answered with a body that is not valid JSON")
	}
	vectors := make([][]float64, len(texts))
	for _, e := range ans.Output.Embeddings {
		if e.TextIndex < 0 || e.TextIndex >= len(texts) || vectors[e.TextIndex] != nil {
			return nil, 0, nil, badEmbeddings()
		}
		vectors[e.TextIndex] = e.Embedding
	}
	for _, v := range vectors {
		if v == nil {
			return nil, 0, nil, badEmbeddings()
		}
	}
	return vectors, ans.Usage.TotalTokens, header(resp, ans.RequestID), nil
}

func badEmbeddings() *providers.Error {
	return providers.NewError(http.StatusBadGateway, "upstream_error", "dashscope did not answer with one embedding per input")
}
