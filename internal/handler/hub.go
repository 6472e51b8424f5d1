package handler

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// hub is the Handler as the doors see it: what inbound.Hub offers, and
// nothing else of the pipeline.
type hub Handler

// ReadBody reads r's body, at most max_body bytes.
func (d *hub) ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, *providers.Error) {
	return readBody(w, r, d.cfg.MaxBody)
}

// Serve runs a door's exchange through the pipeline.
func (d *hub) Serve(w http.ResponseWriter, r *http.Request, dx *inbound.Exchange) {
	(*Handler)(d).serve(w, r, providers.Chat, dx)
}

// Refuse answers a request a door turned away, metered and logged.
func (d *hub) Refuse(w http.ResponseWriter, r *http.Request, e *providers.Error, shape inbound.ErrorWriter) {
	x := &exchange{start: time.Now(), op: providers.Chat, errors: shape}
	activeRequests.Inc()
	defer func() {
		activeRequests.Dec()
		(*Handler)(d).finish(r, x)
	}()
	x.fail(w, e)
}

// Batch starts the items of r.
func (d *hub) Batch(r *http.Request) inbound.Batch { return &batch{parent: r} }

// Logger is the gateway's logger.
func (d *hub) Logger() *zap.Logger { return d.cfg.Logger }

// Catalog authenticates r's caller and opens its view of the routes.
func (d *hub) Catalog(r *http.Request) (inbound.Catalog, *providers.Error) {
	c := &catalog{h: (*Handler)(d), x: &exchange{start: time.Now()}}
	caller, perr := c.h.authenticate(r)
	if perr != nil {
		return c, perr
	}
	c.x.caller = caller
	return c, nil
}

// catalog is one caller's view of the routes; x records the request for
// its headers.
type catalog struct {
	h *Handler
	x *exchange
}

func (c *catalog) Admit(r *http.Request) *providers.Error {
	return c.h.admitRequest(r.Context(), c.x, r)
}

func (c *catalog) Route(model string) (inbound.Route, *providers.Error) {
	rt, ok := c.h.routes.resolve(model)
	if !ok {
		return inbound.Route{}, modelNotFound(model)
	}
	if !c.x.caller.allows(model) {
		return inbound.Route{}, modelNotAllowed(model)
	}
	return doorRoute(rt), nil
}

func (c *catalog) Routes() []inbound.Route {
	var out []inbound.Route
	for _, rt := range c.h.routes.ordered {
		if c.x.caller.allows(rt.Name) {
			out = append(out, doorRoute(rt))
		}
	}
	return out
}

func (c *catalog) Wildcard() inbound.Route {
	if c.h.routes.wildcard == nil {
		return inbound.Route{Name: Wildcard}
	}
	return doorRoute(c.h.routes.wildcard)
}

func (c *catalog) Allows(model string) bool { return c.x.caller.allows(model) }

func (c *catalog) CallerID() string { return c.x.caller.ID }

func (c *catalog) Ask(ctx context.Context, t inbound.Target, fn func(context.Context, string) error) error {
	began := time.Now()
	err := fn(ctx, c.callerKey(t))
	c.x.upstreamWait += time.Since(began)
	return err
}

func (c *catalog) Call(r *http.Request, t inbound.Target, model string, fn func(context.Context, string) error) *providers.Error {
	ctx, cancel := c.h.requestContext(r)
	defer cancel()
	name := t.Provider.Config().Name
	err := c.Ask(ctx, t, fn)
	if s, ok := c.h.health.states[name]; ok {
		c.h.health.recordCall(ctx, s.target(model), err)
	}
	if err != nil {
		return upstreamError(r.Context(), name, err)
	}
	return nil
}

// callerKey is the caller's own key when t's provider takes callers' keys.
func (c *catalog) callerKey(t inbound.Target) string {
	if t.Provider.Config().UsesCallerKey(c.h.passthrough) {
		return c.x.caller.upstreamKey
	}
	return ""
}

func (c *catalog) WriteHeaders(h http.Header) { c.x.writeOverhead(h) }

// doorRoute is rt as doors see it: the providers themselves, not the
// health tracking around them.
func doorRoute(rt *Route) inbound.Route {
	out := inbound.Route{Name: rt.Name, Targets: make([]inbound.Target, len(rt.Targets))}
	for i, t := range rt.Targets {
		out.Targets[i] = inbound.Target{Provider: unwrap(t.Provider), Model: t.Model}
	}
	return out
}

// Interface guards
var (
	_ inbound.Hub     = (*hub)(nil)
	_ inbound.Catalog = (*catalog)(nil)
)
