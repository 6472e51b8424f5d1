package ollama

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// completionRequest is the part of an OpenAI legacy completions request
// the provider reads.
type completionRequest struct {
	Prompt           json.RawMessage `json:"prompt"`
	Suffix           string          `json:"suffix"`
	MaxTokens        *int            `json:"max_tokens"`
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"top_p"`
	TopK             *int            `json:"top_k"`
	N                *int            `json:"n"`
	BestOf           *int            `json:"best_of"`
	Echo             bool            `json:"echo"`
	Logprobs         *int            `json:"logprobs"`
	Stop             json.RawMessage `json:"stop"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	Seed             *int64          `json:"seed"`
}

// generateRequest is the body of POST /api/generate.
type generateRequest struct {
	Model     string          `json:"model"`
	Prompt    *string         `json:"prompt,omitempty"`
	Suffix    string          `json:"suffix,omitempty"`
	Stream    bool            `json:"stream"` // always written: Ollama defaults to true
	KeepAlive json.RawMessage `json:"keep_alive,omitempty"`
	Options   *options        `json:"options,omitempty"`
}

// generateBody translates a legacy completions request.
func (o *Ollama) generateBody(call *providers.Call) ([]byte, *providers.Error) {
	var req completionRequest
	if err := json.Unmarshal(call.Body, &req); err != nil {
		return nil, translate.Invalid("", "the request body does not match the completions schema: "+err.Error())
	}
	prompt, perr := promptText(req.Prompt)
	if perr != nil {
		return nil, perr
	}
	switch {
	case req.N != nil && *req.N > 1:
		return nil, translate.Unsupported("n", "ollama returns one choice per request; n must be 1")
	case req.BestOf != nil && *req.BestOf > 1:
		return nil, translate.Unsupported("best_of", "the ollama provider does not support best_of")
	case req.Echo:
		return nil, translate.Unsupported("echo", "the ollama provider does not support echo")
	case req.Logprobs != nil && *req.Logprobs > 0:
		return nil, translate.Unsupported("logprobs", "the ollama provider does not return logprobs")
	case req.MaxTokens != nil && *req.MaxTokens < 0:
		return nil, translate.Invalid("max_tokens", "max_tokens must not be negative")
	}
	stop, perr := translate.DecodeStop(req.Stop)
	if perr != nil {
		return nil, perr
	}
	maxTokens := 0
	if req.MaxTokens != nil {
		maxTokens = *req.MaxTokens
	}
	out := generateRequest{Model: call.Model, Prompt: &prompt, Suffix: req.Suffix, Stream: call.Stream, KeepAlive: o.keepAlive,
		Options: o.sampling(req.Temperature, req.TopP, req.TopK, maxTokens, stop, req.Seed, req.PresencePenalty, req.FrequencyPenalty)}
	body, err := providers.MarshalJSON(out)
	if err != nil {
		return nil, translate.Invalid("", "encoding the ollama request: "+err.Error())
	}
	return body, nil
}

// promptText accepts a string or an array holding one string; Ollama
// takes text, not tokens, and one prompt per request.
func promptText(raw json.RawMessage) (string, *providers.Error) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one, nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) == 1 {
		return list[0], nil
	}
	return "", translate.Unsupported("prompt", "the ollama provider takes one prompt string (no token arrays, no batches)")
}

// generate serves a legacy completions call through POST /api/generate.
func (o *Ollama) generate(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	body, perr := o.generateBody(call)
	if perr != nil {
		return nil, perr
	}
	resp, err := o.post(ctx, "/api/generate", call, body)
	if err != nil {
		return nil, err
	}
	tc := newTextCompletion(call.ClientModel)
	if call.Stream {
		gs := &generateStream{lines: newLineReader(resp.Body, providers.MaxEvent), tc: tc}
		return &providers.Response{Header: providers.RelayHeader(resp.Header), Stream: gs.lines.stream(gs.pull, resp.Body)}, nil
	}
	raw, err := o.ReadBody(resp)
	if err != nil {
		return nil, err
	}
	var a generateAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, badAnswer("generate answer", err)
	}
	if a.Error != "" {
		return nil, streamError(a.Error)
	}
	r := providers.BytesResponse(tc.whole(a.Response, finishReason(a.DoneReason, false), a.usage()))
	r.Header = providers.RelayHeader(resp.Header)
	return r, nil
}

// generateAnswer is one object of Ollama's generate answer.
type generateAnswer struct {
	Response        string `json:"response"`
	Done            bool   `json:"done"`
	DoneReason      string `json:"done_reason"`
	PromptEvalCount int    `json:"prompt_eval_count"`
	EvalCount       int    `json:"eval_count"`
	Error           string `json:"error"`
}

func (a *generateAnswer) usage() translate.Usage {
	return translate.Usage{PromptTokens: a.PromptEvalCount, CompletionTokens: a.EvalCount,
		TotalTokens: a.PromptEvalCount + a.EvalCount}
}

// generateStream reads Ollama's NDJSON generate stream.
type generateStream struct {
	lines *lineReader
	tc    textCompletion
}

// pull reads one line and pushes the chunks it makes.
func (g *generateStream) pull(s *translate.Stream) error {
	line, err := g.lines.next()
	if err != nil {
		return streamEnd(err)
	}
	var ev generateAnswer
	if err := json.Unmarshal(line, &ev); err != nil {
		return badAnswer("stream line", err)
	}
	if ev.Error != "" {
		return streamError(ev.Error)
	}
	if ev.Response != "" {
		s.Push(g.tc.chunk(ev.Response, nil))
	}
	if !ev.Done {
		return nil
	}
	reason := finishReason(ev.DoneReason, false)
	s.Push(g.tc.chunk("", &reason))
	s.Push(g.tc.usageChunk(ev.usage()))
	return io.EOF
}

// textCompletion writes OpenAI `text_completion` bodies and chunks; the
// shared translate package has builders for chat only.
type textCompletion struct {
	ID      string
	Model   string
	Created int64
}

func newTextCompletion(model string) textCompletion {
	return textCompletion{ID: translate.NewID("cmpl-"), Model: model, Created: time.Now().Unix()}
}

type textCompletionBody struct {
	ID      string           `json:"id"`
	Object  string           `json:"object"`
	Created int64            `json:"created"`
	Model   string           `json:"model"`
	Choices []textChoice     `json:"choices"`
	Usage   *translate.Usage `json:"usage,omitempty"`
}

// textChoice always has logprobs and finish_reason, null when unknown, as
// OpenAI's schema requires.
type textChoice struct {
	Text         string    `json:"text"`
	Index        int       `json:"index"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

func (t textCompletion) body(choices []textChoice, usage *translate.Usage) []byte {
	out, _ := json.Marshal(textCompletionBody{ID: t.ID, Object: "text_completion", Created: t.Created, Model: t.Model,
		Choices: choices, Usage: usage}) // plain strings and numbers: cannot fail
	return out
}

// whole is the non-streamed body.
func (t textCompletion) whole(text, finish string, usage translate.Usage) []byte {
	return t.body([]textChoice{{Text: text, FinishReason: &finish}}, &usage)
}

// chunk is a streamed piece of text, or the final chunk with its finish
// reason.
func (t textCompletion) chunk(text string, finish *string) []byte {
	return t.body([]textChoice{{Text: text, FinishReason: finish}}, nil)
}

// usageChunk is the last chunk, with empty choices; the gateway drops it
// for clients that did not ask for usage.
func (t textCompletion) usageChunk(usage translate.Usage) []byte {
	return t.body([]textChoice{}, &usage)
}
