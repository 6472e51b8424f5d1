package ollama

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// embedRequest is the body of POST /api/embed.
type embedRequest struct {
	Model      string          `json:"model"`
	Input      []string        `json:"input"`
	Dimensions *int            `json:"dimensions,omitempty"`
	KeepAlive  json.RawMessage `json:"keep_alive,omitempty"`
}

type embedAnswer struct {
	Embeddings      [][]float64 `json:"embeddings"`
	PromptEvalCount int         `json:"prompt_eval_count"`
}

// embed serves an embeddings call through POST /api/embed, which takes
// every input in one request.
func (o *Ollama) embed(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	req, perr := translate.DecodeEmbeddings(call.Body)
	if perr != nil {
		return nil, perr
	}
	body, err := providers.MarshalJSON(embedRequest{Model: call.Model, Input: req.Inputs, Dimensions: req.Dimensions, KeepAlive: o.keepAlive})
	if err != nil {
		return nil, translate.Invalid("", "encoding the ollama request: "+err.Error())
	}
	resp, err := o.post(ctx, "/api/embed", call, body)
	if err != nil {
		return nil, err
	}
	raw, err := o.ReadBody(resp)
	if err != nil {
		return nil, err
	}
	var a embedAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, badAnswer("embed answer", err)
	}
	if len(a.Embeddings) != len(req.Inputs) {
		return nil, providers.NewError(http.StatusBadGateway, "upstream_error",
			fmt.Sprintf("ollama returned %d embeddings for %d inputs", len(a.Embeddings), len(req.Inputs)))
	}
	out := req.EmbeddingsResponse(call.ClientModel, a.Embeddings, a.PromptEvalCount)
	out.Header = providers.RelayHeader(resp.Header)
	return out, nil
}
