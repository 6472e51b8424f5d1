package gemini

import (
	"context"
	"fmt"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// chat translates a chat completion, streamed or not.
func (g *Gemini) chat(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	req, perr := translate.DecodeChat(call.Body)
	if perr != nil {
		return nil, perr
	}
	native, perr := buildRequest(req)
	if perr != nil {
		return nil, perr
	}
	body, err := providers.MarshalJSON(native)
	if err != nil {
		return nil, fmt.Errorf("encoding the gemini request: %w", err)
	}
	method := "generateContent"
	if call.Stream {
		method = "streamGenerateContent?alt=sse"
	}
	resp, err := g.Post(ctx, g.target(call.Model, method), call, body, setKey)
	if err != nil {
		return nil, err
	}
	header := providers.RelayHeader(resp.Header)
	if call.Stream {
		return &providers.Response{Header: header, Stream: newStream(resp.Body, call.ClientModel)}, nil
	}
	raw, err := g.ReadBody(resp)
	if err != nil {
		return nil, err
	}
	out, perr := completionBody(raw, call.ClientModel)
	if perr != nil {
		return nil, perr
	}
	answer := providers.BytesResponse(out)
	answer.Header = header
	return answer, nil
}
