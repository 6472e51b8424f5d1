package dashscope

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// chat serves a chat completion. DashScope streams when the client asked
// for a stream, and also for models that only stream and for thinking
// requests (thinking is stream-only on several models); those answers are
// gathered into one body for a client that did not ask for a stream.
func (d *DashScope) chat(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	req, perr := translate.DecodeChat(call.Body)
	if perr != nil {
		return nil, perr
	}
	native, multimodal, perr := buildChat(req, call.Model, matches(d.MultimodalModels, call.Model))
	if perr != nil {
		return nil, perr
	}
	target := d.target(textPath)
	if multimodal {
		target = d.target(multimodalPath)
	}
	upstreamStream := call.Stream || native.Parameters.thinking() || matches(d.StreamOnlyModels, call.Model)
	resp, err := d.post(ctx, call, target, native, upstreamStream)
	if !upstreamStream && wantsStream(err) {
		// A stream-only model missing from stream_only_models: ask again.
		upstreamStream = true
		resp, err = d.post(ctx, call, target, native, true)
	}
	if err != nil {
		return nil, err
	}
	out := translate.NewAnswer(call.ClientModel)
	switch {
	case call.Stream:
		return d.streamAnswer(resp, out, req.N)
	case upstreamStream:
		return d.gatherAnswer(resp, out, req.N)
	default:
		return d.wholeAnswer(resp, out, req.N)
	}
}

// post sends a generation request, streamed or not.
func (d *DashScope) post(ctx context.Context, call *providers.Call, target string, native *chatRequest, stream bool) (*http.Response, error) {
	native.Parameters.IncrementalOutput = stream
	body, err := providers.MarshalJSON(native)
	if err != nil {
		return nil, providers.NewError(http.StatusBadRequest, "invalid_value", "the request cannot be encoded: "+err.Error())
	}
	up := *call
	up.Stream = stream
	return d.Post(ctx, target, &up, body, bearer)
}

// wantsStream reports DashScope's refusal of a non-streamed call to a
// model that only streams, or to one whose thinking is on by default
// ("This model only support stream mode", "parameter.enable_thinking
// must be set to false for non-streaming calls").
func wantsStream(err error) bool {
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != http.StatusBadRequest {
		return false
	}
	msg := strings.ToLower(pe.Message)
	return strings.Contains(msg, "stream mode") || strings.Contains(msg, "non-streaming call")
}

// streamAnswer relays a stream. The first event is read here, so its
// request id can go into the response headers and an error DashScope
// reports at once is an error of the call (and may fall back).
func (d *DashScope) streamAnswer(resp *http.Response, out translate.Answer, n int) (*providers.Response, error) {
	src, err := d.newSource(resp)
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	r := &reader{src: src}
	st := translate.NewStream(func(*translate.Stream) error { return r.step() }, resp.Body)
	st.SetSourceReady(func() bool { return r.done || src.ready() })
	r.ans = newAnswer(out, n, st.Push)
	for !st.Ready() {
		if err := r.step(); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			resp.Body.Close()
			return nil, err
		}
	}
	return &providers.Response{Header: header(resp, r.ans.requestID), Stream: st}, nil
}

// gatherAnswer reads a whole stream into one non-streamed body.
func (d *DashScope) gatherAnswer(resp *http.Response, out translate.Answer, n int) (*providers.Response, error) {
	defer resp.Body.Close()
	if err := d.CapBody(resp); err != nil {
		return nil, err
	}
	src, err := d.newSource(resp)
	if err != nil {
		return nil, err
	}
	r := &reader{src: src, ans: newAnswer(out, n, nil)}
	for {
		err := r.step()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return completion(resp, r.ans), nil
}

// wholeAnswer translates a non-streamed body.
func (d *DashScope) wholeAnswer(resp *http.Response, out translate.Answer, n int) (*providers.Response, error) {
	body, err := d.ReadBody(resp)
	if err != nil {
		return nil, err
	}
	var f frame
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, providers.NewError(http.StatusBadGateway, "upstream_error", "dashscope answered with a body that is not valid JSON")
	}
	if f.isError() {
		return nil, frameError(&f)
	}
	a := newAnswer(out, n, nil)
	a.add(&f)
	if len(a.choices) == 0 {
		return nil, providers.NewError(http.StatusBadGateway, "upstream_error", "dashscope answered without any choice")
	}
	for _, c := range a.choices {
		if c.finish == "" { // a whole answer is finished whatever it says
			a.finish(c, "stop")
		}
	}
	return completion(resp, a), nil
}

func completion(resp *http.Response, a *answer) *providers.Response {
	out := providers.BytesResponse(a.out.Completion(a.result(), a.usage))
	out.Header = header(resp, a.requestID)
	return out
}

// header relays the upstream's headers and DashScope's request id, which
// comes in the body, as X-Request-Id.
func header(resp *http.Response, requestID string) http.Header {
	h := providers.RelayHeader(resp.Header)
	if requestID != "" {
		if h == nil {
			h = make(http.Header, 1)
		}
		h.Set("X-Request-Id", requestID)
	}
	return h
}
