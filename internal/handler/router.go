package handler

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Wildcard is the route name that catches every model without a route of
// its own.
const Wildcard = "*"

// IsPrefixPattern reports whether a route name ends in `*` and so matches
// every model name that starts with what comes before it (`claude-*`).
// Wildcard is the pattern with the empty prefix.
func IsPrefixPattern(name string) bool { return strings.HasSuffix(name, "*") }

// CheckRouteName refuses a route name that would never match as written:
// a `*` anywhere but at its end.
func CheckRouteName(name string) error {
	if name == "" {
		return errors.New("a model route has no name")
	}
	if i := strings.IndexByte(name, '*'); i >= 0 && i != len(name)-1 {
		return fmt.Errorf("model %q: a `*` may only end a model name, as a prefix pattern (`claude-*`)", name)
	}
	return nil
}

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

// router resolves public model names to routes: an exact name wins, then
// the prefix pattern with the longest prefix, then the wildcard.
type router struct {
	exact    map[string]*Route
	ordered  []*Route // exact routes in config order, for model lists
	prefixes []*Route // prefix patterns, longest prefix first
	wildcard *Route
}

func newRouter(routes []Route) *router {
	rt := &router{exact: make(map[string]*Route, len(routes))}
	for i := range routes {
		r := &routes[i]
		switch {
		case r.Name == Wildcard:
			rt.wildcard = r
		case IsPrefixPattern(r.Name):
			rt.prefixes = append(rt.prefixes, r)
		default:
			rt.exact[r.Name] = r
			rt.ordered = append(rt.ordered, r)
		}
	}
	// Stable, so that of two equal prefixes (which config validation
	// refuses anyway) the first configured wins.
	slices.SortStableFunc(rt.prefixes, func(a, b *Route) int { return len(b.Name) - len(a.Name) })
	return rt
}

// resolve returns the route for a requested model.
func (rt *router) resolve(model string) (*Route, bool) {
	if r, ok := rt.exact[model]; ok {
		return r, true
	}
	for _, r := range rt.prefixes {
		if strings.HasPrefix(model, r.Name[:len(r.Name)-1]) {
			return r, true
		}
	}
	if rt.wildcard != nil {
		return rt.wildcard, true
	}
	return nil, false
}

// listed are the routes whose models come from their providers' own
// model lists: the prefix patterns, longest first, then the wildcard.
func (rt *router) listed() []*Route {
	if rt.wildcard == nil {
		return rt.prefixes
	}
	return append(slices.Clip(rt.prefixes), rt.wildcard)
}

// upstreamModel is the model name a target is asked for.
func (t Target) upstreamModel(requested string) string {
	if t.Model != "" {
		return t.Model
	}
	return requested
}
