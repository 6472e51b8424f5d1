package handler

import (
	"net/http"
	"strconv"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// keyInfo is the answer of GET /api/v1/key, in OpenRouter's shape, with
// the gateway's own figures beside it.
type keyInfo struct {
	Label string `json:"label"`
	budgetInfo
	IsFreeTier bool          `json:"is_free_tier"`
	RateLimit  rateLimitInfo `json:"rate_limit"`
	TokenLimit *tokenLimit   `json:"token_limit,omitempty"`
	Group      *groupInfo    `json:"group,omitempty"`
}

// budgetInfo is a budget's figures in OpenRouter's members.
type budgetInfo struct {
	// Usage is what was spent, or is reserved by calls under way, in the
	// budget's current period; 0 without a budget.
	Usage          float64  `json:"usage"`
	Limit          *float64 `json:"limit"`
	LimitRemaining *float64 `json:"limit_remaining"`
	// LimitReset is the budget's period: daily, weekly, monthly or a
	// duration.
	LimitReset *string `json:"limit_reset"`
	// LimitResetsAt is when the period ends (the gateway's own member).
	LimitResetsAt *time.Time `json:"limit_resets_at"`
}

type rateLimitInfo struct {
	Requests int64  `json:"requests"` // -1 without a limit, as OpenRouter
	Interval string `json:"interval"`
}

type tokenLimit struct {
	Tokens   int64  `json:"tokens"`
	Interval string `json:"interval"`
}

// groupInfo is the caller's group's spend, budget and limits.
type groupInfo struct {
	Name string `json:"name"`
	budgetInfo
	RateLimit  *rateLimitInfo `json:"rate_limit,omitempty"`
	TokenLimit *tokenLimit    `json:"token_limit,omitempty"`
}

// serveKey answers GET /api/v1/key: the calling key's own spend, budget,
// remaining money, reset and limits.
func (h *Handler) serveKey(w http.ResponseWriter, r *http.Request) {
	x := &exchange{start: time.Now()}
	caller, perr := h.authenticate(r)
	if perr != nil {
		x.fail(w, perr)
		return
	}
	info := keyInfo{Label: caller.Name, RateLimit: rateLimitInfo{Requests: -1, Interval: "1m0s"}}
	if info.Label == "" {
		info.Label = "ip:" + clientIP(r)
	}
	requests, tokens := h.limitsFor(caller)
	if requests != nil {
		info.RateLimit = rateLimitInfo{requests.N, requests.Window.String()}
	}
	if tokens != nil {
		info.TokenLimit = &tokenLimit{tokens.N, tokens.Window.String()}
	}
	own := h.cfg.Limits.Budget
	if caller.Budget != nil {
		own = caller.Budget
	}
	if own != nil {
		if info.budgetInfo, perr = h.budgetFigures(r, own, caller.scope(r)); perr != nil {
			x.fail(w, perr)
			return
		}
	}
	if g := caller.Group; g != nil {
		gi := &groupInfo{Name: g.Name}
		if g.RequestLimit != nil {
			gi.RateLimit = &rateLimitInfo{g.RequestLimit.N, g.RequestLimit.Window.String()}
		}
		if g.TokenLimit != nil {
			gi.TokenLimit = &tokenLimit{g.TokenLimit.N, g.TokenLimit.Window.String()}
		}
		if g.Budget != nil {
			if gi.budgetInfo, perr = h.budgetFigures(r, g.Budget, g.scope()); perr != nil {
				x.fail(w, perr)
				return
			}
		}
		info.Group = gi
	}
	x.writeOverhead(w.Header())
	writeJSON(w, struct {
		Data keyInfo `json:"data"`
	}{info})
}

// budgetFigures are what the budget's account under scope holds in the
// current period, what is left of the budget, its period and its end.
func (h *Handler) budgetFigures(r *http.Request, b *Budget, scope string) (budgetInfo, *providers.Error) {
	start, end := b.Period.bounds(time.Now())
	v, err := h.cfg.Limits.Spender.Spent(r.Context(), accountKey(b, scope, start))
	if err != nil {
		storeErrors.Inc()
		h.logStoreError(err)
		return budgetInfo{}, storeUnavailable()
	}
	spent := pricing.Nanodollars(v)
	limit, left, period := b.Limit.USD(), max(b.Limit-spent, 0).USD(), b.Period.String()
	end = end.UTC()
	return budgetInfo{Usage: spent.USD(), Limit: &limit, LimitRemaining: &left, LimitReset: &period, LimitResetsAt: &end}, nil
}

// accountKey names the counter of a budget's spend under scope in the
// period that starts at start. The amount is not part of it: raising a
// budget keeps what was spent.
func accountKey(b *Budget, scope string, start time.Time) string {
	var buf [128]byte
	key := append(buf[:0], "spend:"...)
	key = append(key, b.Period.String()...)
	key = append(append(key, ':'), scope...)
	key = strconv.AppendInt(append(key, ':'), start.Unix(), 10)
	return string(key)
}
