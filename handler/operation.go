package handler

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// serveOperation serves one chat, completions or embeddings request:
// parse, route, call the targets in order until one answers, relay.
func (h *Handler) serveOperation(w http.ResponseWriter, r *http.Request, op providers.Operation) {
	x := &exchange{start: time.Now(), op: op}
	activeRequests.Inc()
	defer func() {
		activeRequests.Dec()
		h.settleTokens(x)
		h.finish(r, x)
	}()

	caller, perr := h.authenticate(r)
	if perr != nil {
		x.fail(w, perr)
		return
	}
	x.caller = caller
	body, perr := readBody(w, r, h.cfg.MaxBody)
	if perr != nil {
		x.fail(w, perr)
		return
	}
	in, perr := parseInbound(body)
	if perr != nil {
		x.fail(w, perr)
		return
	}
	if op == providers.Embeddings {
		in.stream, in.includeUsage = false, false
	}
	if !in.modelGiven {
		if h.cfg.DefaultModel == "" {
			// OpenAI's own answer, word for word.
			x.fail(w, providers.NewError(http.StatusBadRequest, "", "you must provide a model parameter"))
			return
		}
		in.model = h.cfg.DefaultModel
	}
	x.model, x.stream = in.model, in.stream
	route, ok := h.routes.resolve(in.model)
	if !ok {
		x.fail(w, modelNotFound(in.model))
		return
	}
	if !caller.allows(in.model) {
		x.fail(w, modelNotAllowed(in.model))
		return
	}
	x.route = route.Name
	// Counted once the request is one the caller may make: a refused
	// model or a malformed body costs none of the caller's requests.
	if perr := h.admitRequest(r.Context(), x, r); perr != nil {
		x.fail(w, perr)
		return
	}
	if perr := h.reserveTokens(r.Context(), x, r, in); perr != nil {
		x.fail(w, perr)
		return
	}

	ctx, cancel := h.requestContext(r)
	defer cancel()
	resp, first, perr := h.call(ctx, r, x, route, in, op)
	if perr != nil {
		x.fail(w, perr)
		return
	}
	defer resp.Close()
	if in.stream {
		h.relayStream(w, r, x, resp, first, in.includeUsage)
	} else {
		h.relayBody(w, x, resp)
	}
}

func modelNotFound(model string) *providers.Error {
	e := providers.NewError(http.StatusNotFound, "model_not_found",
		"The model `"+model+"` does not exist or you do not have access to it.")
	e.Param = "model"
	return e
}

func modelNotAllowed(model string) *providers.Error {
	e := providers.NewError(http.StatusForbidden, "model_not_allowed",
		"You are not allowed to use the model `"+model+"`.")
	e.Param = "model"
	return e
}

// call tries the route's targets in order until one answers. A target that
// fails in a way another might not (see retryable) passes the request on;
// nothing has reached the client yet. For a stream, the first chunk is read
// here too, so a stream that breaks before its first chunk falls back as
// well. first is nil when the stream ended without a chunk.
func (h *Handler) call(ctx context.Context, r *http.Request, x *exchange, route *Route, in *inbound, op providers.Operation) (resp *providers.Response, first []byte, _ *providers.Error) {
	var last *providers.Error
	for i, t := range route.Targets {
		name := t.Provider.Config().Name
		model := t.upstreamModel(in.model)
		body, err := in.withModel(model)
		if err != nil {
			return nil, nil, invalidBody("the request body must be a JSON object")
		}
		x.attempts++
		x.provider, x.upstreamModel = name, model
		call := &providers.Call{Op: op, Model: model, ClientModel: in.model, Body: body, Stream: in.stream, RequestHeader: r.Header}
		if t.Provider.Config().UsesCallerKey(h.passthrough) {
			if x.caller.upstreamKey == "" {
				return nil, nil, missingKey()
			}
			call.CallerKey = x.caller.upstreamKey
		}

		began := time.Now()
		resp, err = t.Provider.Send(ctx, call)
		if err == nil && in.stream {
			if first, err = resp.Stream.Next(); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				} else {
					_ = resp.Close()
				}
			}
		}
		x.upstreamWait += time.Since(began)
		if err == nil {
			upstreamAttempts.WithLabelValues(name, "success").Inc()
			return resp, first, nil
		}

		last = upstreamError(r.Context(), name, err)
		if last.Status == statusClientClosed {
			upstreamAttempts.WithLabelValues(name, "client_closed").Inc()
			return nil, nil, last
		}
		upstreamAttempts.WithLabelValues(name, outcomeOf(last)).Inc()
		if !retryable(last) {
			return nil, nil, last
		}
		if i < len(route.Targets)-1 {
			h.cfg.Logger.Warn("upstream failed, trying the next target",
				zap.String("model", in.model), zap.String("provider", name),
				zap.Int("status", last.Status), zap.String("error", last.Message))
		}
	}
	return nil, nil, last
}

// outcomeOf is the upstream_attempts_total outcome label of a failure.
func outcomeOf(e *providers.Error) string {
	switch {
	case e.Status == http.StatusGatewayTimeout:
		return "timeout"
	case e.Code == "upstream_error":
		return "error"
	default:
		return strconv.Itoa(e.Status)
	}
}
