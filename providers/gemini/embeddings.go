package gemini

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// maxBatch is the most requests Gemini takes in one batchEmbedContents.
const maxBatch = 100

type batchEmbedRequest struct {
	Requests []embedRequest `json:"requests"`
}

type embedRequest struct {
	Model                string       `json:"model"`
	Content              embedContent `json:"content"`
	OutputDimensionality *int         `json:"outputDimensionality,omitempty"`
}

// embedContent has no omitempty on text: an empty input is still a part.
type embedContent struct {
	Parts []embedPart `json:"parts"`
}

type embedPart struct {
	Text string `json:"text"`
}

type batchEmbedResponse struct {
	Embeddings []struct {
		Values []float64 `json:"values"`
	} `json:"embeddings"`
}

// embed answers an embeddings request with batchEmbedContents, in batches
// of at most maxBatch inputs. Gemini reports no token counts for
// embeddings, so usage is estimated as the inputs' word count.
func (g *Gemini) embed(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	req, perr := translate.DecodeEmbeddings(call.Body)
	if perr != nil {
		return nil, perr
	}
	name := modelName(call.Model)
	vectors := make([][]float64, 0, len(req.Inputs))
	words := 0
	for start := 0; start < len(req.Inputs); start += maxBatch {
		batch := req.Inputs[start:min(start+maxBatch, len(req.Inputs))]
		native := batchEmbedRequest{Requests: make([]embedRequest, len(batch))}
		for i, text := range batch {
			native.Requests[i] = embedRequest{Model: name, Content: embedContent{Parts: []embedPart{{Text: text}}},
				OutputDimensionality: req.Dimensions}
			words += len(strings.Fields(text))
		}
		got, err := g.embedBatch(ctx, call, native)
		if err != nil {
			return nil, err
		}
		vectors = append(vectors, got...)
	}
	return req.EmbeddingsResponse(call.ClientModel, vectors, words), nil
}

func (g *Gemini) embedBatch(ctx context.Context, call *providers.Call, native batchEmbedRequest) ([][]float64, error) {
	body, err := providers.MarshalJSON(native)
	if err != nil {
		return nil, fmt.Errorf("encoding the gemini request: %w", err)
	}
	resp, err := g.Post(ctx, g.target(call.Model, "batchEmbedContents"), call, body, setKey)
	if err != nil {
		return nil, err
	}
	raw, err := g.ReadBody(resp)
	if err != nil {
		return nil, err
	}
	var out batchEmbedResponse
	if json.Unmarshal(raw, &out) != nil || len(out.Embeddings) != len(native.Requests) {
		return nil, providers.NewError(http.StatusBadGateway, "upstream_error",
			fmt.Sprintf("the upstream answered %d inputs with a body that does not hold %d embeddings", len(native.Requests), len(native.Requests)))
	}
	vectors := make([][]float64, len(out.Embeddings))
	for i, e := range out.Embeddings {
		vectors[i] = e.Values
	}
	return vectors, nil
}
