package ollama

import (
	"context"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// chat serves a chat call through POST /api/chat.
func (o *Ollama) chat(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	body, perr := o.chatBody(call)
	if perr != nil {
		return nil, perr
	}
	resp, err := o.post(ctx, "/api/chat", call, body)
	if err != nil {
		return nil, err
	}
	answer := translate.NewAnswer(call.ClientModel)
	if call.Stream {
		cs := &chatStream{lines: newLineReader(resp.Body, providers.MaxEvent), answer: answer}
		return &providers.Response{Header: providers.RelayHeader(resp.Header), Stream: cs.lines.stream(cs.pull, resp.Body)}, nil
	}
	raw, err := o.ReadBody(resp)
	if err != nil {
		return nil, err
	}
	out, err := chatCompletion(answer, raw)
	if err != nil {
		return nil, err
	}
	r := providers.BytesResponse(out)
	r.Header = providers.RelayHeader(resp.Header)
	return r, nil
}
