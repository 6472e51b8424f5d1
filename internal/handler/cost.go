package handler

import (
	"net/http"

	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
)

// costHeader carries a non-streamed answer's cost, in USD.
const costHeader = "X-Llm-Gateway-Cost"

// priceOf finds the price of the exchange's call: its public model as the
// client named it, its provider and upstream model.
func (h *Handler) priceOf(x *exchange) (pricing.Price, bool) {
	if h.cfg.Prices == nil || x.provider == "" {
		return pricing.Price{}, false
	}
	return h.cfg.Prices.Lookup(x.model, x.provider, x.upstreamModel)
}

// settleCost prices what the call used: the upstream's usage, or for a
// stream cut before its usage came, the prompt's estimate and a token per
// chunk relayed. Tokens an upstream produced cost money whether or not
// the client stayed for them.
func (h *Handler) settleCost(x *exchange) {
	if x.priced || x.attempts == 0 {
		return
	}
	price, ok := h.priceOf(x)
	if !ok {
		return
	}
	var u pricing.Usage
	switch {
	case x.usage.known:
		u = usageForPricing(x.usage)
	case x.stream && x.chunks > 0:
		u = pricing.Usage{Prompt: x.limits.promptEstimate, Completion: x.chunks}
	default:
		return // nothing was produced, or the answer told no usage
	}
	x.cost, x.priced = price.Cost(u), true
}

func usageForPricing(u usage) pricing.Usage {
	return pricing.Usage{
		Prompt:     int64(u.PromptTokens),
		Cached:     int64(u.PromptTokensDetails.CachedTokens),
		CacheWrite: int64(u.PromptTokensDetails.CacheWriteTokens),
		Completion: int64(u.CompletionTokens),
	}
}

// writeCost sets the cost header of a non-streamed answer whose usage is
// known.
func (h *Handler) writeCost(hdr http.Header, x *exchange) {
	h.settleCost(x)
	if x.priced {
		hdr.Set(costHeader, x.cost.String())
	}
}
