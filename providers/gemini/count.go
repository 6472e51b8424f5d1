package gemini

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// countRequest is the body of `countTokens` for a whole generateContent
// request, so the system instruction and the tools count too.
type countRequest struct {
	GenerateContentRequest countedRequest `json:"generateContentRequest"`
}

// countedRequest is a generateRequest without its generationConfig, which
// has no bearing on the prompt's size, with the model Gemini wants inside
// it.
type countedRequest struct {
	Model             string      `json:"model"`
	SystemInstruction *content    `json:"systemInstruction,omitempty"`
	Contents          []content   `json:"contents"`
	Tools             []tool      `json:"tools,omitempty"`
	ToolConfig        *toolConfig `json:"toolConfig,omitempty"`
}

type countAnswer struct {
	TotalTokens *int `json:"totalTokens"`
}

// CountChatTokens asks Gemini's `countTokens` for the prompt tokens of a
// chat request, translated as for generateContent.
func (g *Gemini) CountChatTokens(ctx context.Context, call *providers.Call) (int, error) {
	req, perr := translate.DecodeChat(call.Body)
	if perr != nil {
		return 0, perr
	}
	native, perr := buildRequest(req)
	if perr != nil {
		return 0, perr
	}
	body, err := providers.MarshalJSON(countRequest{countedRequest{Model: modelName(call.Model),
		SystemInstruction: native.SystemInstruction, Contents: native.Contents, Tools: native.Tools, ToolConfig: native.ToolConfig}})
	if err != nil {
		return 0, fmt.Errorf("encoding the gemini count request: %w", err)
	}
	resp, err := g.Post(ctx, g.target(call.Model, "countTokens"), call, body, setKey)
	if err != nil {
		return 0, err
	}
	raw, err := g.ReadBody(resp)
	if err != nil {
		return 0, err
	}
	var answer countAnswer
	if err := json.Unmarshal(raw, &answer); err != nil || answer.TotalTokens == nil {
		return 0, fmt.Errorf("gemini countTokens answered without totalTokens: %.200s", raw)
	}
	return *answer.TotalTokens, nil
}
