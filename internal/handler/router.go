package handler

import (
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Wildcard is the route name that catches every model without a route of
// its own.
const Wildcard = "*"

// Target is one provider a route can send a request to.
type Target struct {
	Provider providers.Provider
	// Model is the upstream model name; empty keeps the requested name.
	Model string
	// Weight is the target's share of the primaries under the Weighted
	// policy. Default: 1.
	Weight int

	health *providerHealth // its provider's record, set by New
}

// weight is the target's weight, 1 when unset.
func (t Target) weight() int {
	return max(t.Weight, 1)
}

// Route maps one public model name to the targets that serve it.
type Route struct {
	Name    string
	Targets []Target
	// Policy orders the targets for each request. Default: First, the
	// targets in order.
	Policy Policy

	balance *balancer // set by New
}

// router resolves public model names to routes.
type router struct {
	exact    map[string]*Route
	ordered  []*Route // exact routes in config order, for model lists
	wildcard *Route
}

func newRouter(routes []Route) *router {
	rt := &router{exact: make(map[string]*Route, len(routes))}
	for i := range routes {
		r := &routes[i]
		if r.Name == Wildcard {
			rt.wildcard = r
			continue
		}
		rt.exact[r.Name] = r
		rt.ordered = append(rt.ordered, r)
	}
	return rt
}

// resolve returns the route for a requested model.
func (rt *router) resolve(model string) (*Route, bool) {
	if r, ok := rt.exact[model]; ok {
		return r, true
	}
	if rt.wildcard != nil {
		return rt.wildcard, true
	}
	return nil, false
}

// upstreamModel is the model name a target is asked for.
func (t Target) upstreamModel(requested string) string {
	if t.Model != "" {
		return t.Model
	}
	return requested
}
