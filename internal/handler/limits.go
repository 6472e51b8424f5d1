package handler

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Limit is at most N units per fixed Window.
type Limit struct {
	N      int64
	Window time.Duration
	// tag distinguishes counters of different limits; see NewLimit.
	tag string
}

// NewLimit returns a limit whose counters are kept apart from those of
// other limits: two sites with different limits on the same store count
// separately, while a reload that keeps a limit keeps its counts.
func NewLimit(n int64, window time.Duration) *Limit {
	return &Limit{N: n, Window: window, tag: strconv.FormatInt(n, 10) + "/" + window.String() + ":"}
}

// Window is where a counter stands after an addition.
type Window struct {
	Remaining int64     // units left in this window, never below 0
	Reset     time.Time // when the window ends
	Reached   bool      // the addition took the count over the limit
}

// Counter adds to fixed-window counters shared by every instance that uses
// the same store. n may be negative, to give back a reservation. The root
// module counts in the stores of internal/limitstore.
type Counter interface {
	Add(ctx context.Context, key string, n int64, l Limit) (Window, error)
}

// Limits are the default limits per caller and where they are counted.
type Limits struct {
	// Requests per caller; nil for none.
	Requests *Limit
	// Tokens (prompt + completion) per caller; nil for none.
	Tokens *Limit
	// CompletionReserve is reserved for the answer of a request that sets
	// no max_tokens, until its real usage is known.
	CompletionReserve int64
	// Counter holds the counts; required when any limit is set.
	Counter Counter
	// DenyOnStoreError refuses requests (503) while the store fails;
	// otherwise they are let through unlimited.
	DenyOnStoreError bool
	// Budget is each caller's spend per period; nil for none.
	Budget *Budget
	// Spender keeps the budgets' accounts; required when a caller or
	// group has a budget.
	Spender Spender
}

// settleTimeout bounds the call that settles a token reservation after
// the response, when the client's context may be gone.
const settleTimeout = 500 * time.Millisecond

// limitState is what one request learned of its caller's limits, for the
// rate-limit headers and for settling the token reservation.
type limitState struct {
	requests, tokens *Limit
	reqWindow        Window
	tokWindow        Window
	haveReq, haveTok bool
	tokenKey         string
	promptEstimate   int64
	reserved         int64 // tokens reserved and not yet settled
	// The caller's group's token counter, reserved on with the caller's.
	groupTokens   *Limit
	groupTokenKey string
	groupReserved int64
}

// limitsFor returns the limits that apply to a caller: its own, else the
// defaults.
func (h *Handler) limitsFor(c *Caller) (requests, tokens *Limit) {
	requests, tokens = h.cfg.Limits.Requests, h.cfg.Limits.Tokens
	if c != nil && c.RequestLimit != nil {
		requests = c.RequestLimit
	}
	if c != nil && c.TokenLimit != nil {
		tokens = c.TokenLimit
	}
	return requests, tokens
}

// admitRequest counts the request against its caller's request limit.
func (h *Handler) admitRequest(ctx context.Context, x *exchange, r *http.Request) *providers.Error {
	requests, tokens := h.limitsFor(x.caller)
	x.limits.requests, x.limits.tokens = requests, tokens
	if requests == nil {
		return h.admitGroupRequest(ctx, x)
	}
	w, err := h.count(ctx, x.caller.counterKey(requestCounter, requests, r), 1, *requests)
	if err != nil {
		return h.storeFailed(err)
	}
	x.limits.reqWindow, x.limits.haveReq = w, true
	if w.Reached {
		rateLimitedTotal.WithLabelValues("requests").Inc()
		return limited("requests", requests, w)
	}
	return h.admitGroupRequest(ctx, x)
}

// admitGroupRequest counts the request against its caller's group's
// request limit, which all of the group's members share.
func (h *Handler) admitGroupRequest(ctx context.Context, x *exchange) *providers.Error {
	g := x.caller.group()
	if g == nil || g.RequestLimit == nil {
		return nil
	}
	w, err := h.count(ctx, requestCounter+g.RequestLimit.tag+"grp:"+g.Name, 1, *g.RequestLimit)
	if err != nil {
		return h.storeFailed(err)
	}
	if w.Reached {
		rateLimitedTotal.WithLabelValues("requests").Inc()
		return groupLimited("requests", g, g.RequestLimit, w)
	}
	return nil
}

// group is the caller's group, nil for none.
func (c *Caller) group() *Group {
	if c == nil {
		return nil
	}
	return c.Group
}

// reserveTokens reserves the request's estimated tokens: its prompt, at
// about four bytes a token, and its max_tokens or the configured reserve.
func (h *Handler) reserveTokens(ctx context.Context, x *exchange, r *http.Request, in *requestBody) *providers.Error {
	if perr := h.reserveOwnTokens(ctx, x, r, in); perr != nil {
		return perr
	}
	return h.reserveGroupTokens(ctx, x, in)
}

// reserveGroupTokens reserves the request's estimate on its caller's
// group's token limit. When it does not fit, the request fails, which
// gives the caller's own reservation back as it settles.
func (h *Handler) reserveGroupTokens(ctx context.Context, x *exchange, in *requestBody) *providers.Error {
	g := x.caller.group()
	if g == nil || g.TokenLimit == nil {
		return nil
	}
	estimate := tokenEstimate(x.limits.promptEstimate, in.maxTokens, h.cfg.Limits.CompletionReserve, g.TokenLimit)
	key := tokenCounter + g.TokenLimit.tag + "grp:" + g.Name
	w, err := h.count(ctx, key, estimate, *g.TokenLimit)
	if err != nil {
		return h.storeFailed(err)
	}
	if w.Reached {
		_, _ = h.count(ctx, key, -estimate, *g.TokenLimit)
		rateLimitedTotal.WithLabelValues("tokens").Inc()
		return groupLimited("tokens", g, g.TokenLimit, w)
	}
	x.limits.groupTokens, x.limits.groupTokenKey, x.limits.groupReserved = g.TokenLimit, key, estimate
	return nil
}

// tokenEstimate is what a request reserves on a token limit: its prompt
// estimate and its max_tokens, or the configured reserve, which is a
// guess, not the client's ask, and so never makes a request impossible.
func tokenEstimate(prompt, maxTokens, reserve int64, l *Limit) int64 {
	if maxTokens > 0 {
		return prompt + maxTokens
	}
	return min(prompt+reserve, max(l.N, prompt))
}

// reserveOwnTokens reserves the request's estimate on its caller's token
// limit.
func (h *Handler) reserveOwnTokens(ctx context.Context, x *exchange, r *http.Request, in *requestBody) *providers.Error {
	tokens := x.limits.tokens
	if tokens == nil {
		return nil
	}
	estimate := tokenEstimate(x.limits.promptEstimate, in.maxTokens, h.cfg.Limits.CompletionReserve, tokens)
	if estimate > tokens.N {
		// It could never fit: a 429 would only make clients wait and retry.
		e := providers.NewError(http.StatusBadRequest, "token_limit_exceeded",
			"This request needs about "+strconv.FormatInt(estimate, 10)+" tokens (its prompt and max_tokens), more than the limit of "+
				strconv.FormatInt(tokens.N, 10)+" tokens per "+tokens.Window.String()+". Send a shorter prompt or a lower max_tokens.")
		e.Param = "max_tokens"
		if in.maxTokens == 0 {
			e.Param = "messages"
		}
		return e
	}
	key := x.caller.counterKey(tokenCounter, tokens, r)
	w, err := h.count(ctx, key, estimate, *tokens)
	if err != nil {
		return h.storeFailed(err)
	}
	if w.Reached {
		// Give the reservation back: it was refused.
		if back, err := h.count(ctx, key, -estimate, *tokens); err == nil {
			w = back
		}
		x.limits.tokWindow, x.limits.haveTok = w, true
		rateLimitedTotal.WithLabelValues("tokens").Inc()
		return limited("tokens", tokens, w)
	}
	x.limits.tokWindow, x.limits.haveTok = w, true
	x.limits.tokenKey, x.limits.reserved = key, estimate
	return nil
}

// settle replaces the request's reservations, of tokens and of budget, by
// what it really used.
func (h *Handler) settle(x *exchange) {
	h.settleTokens(x)
	h.settleBudget(x)
}

// settleTokens replaces the reservation by what the request really used.
// It runs after the response, on its own context: the client may be gone.
// The caller's reservation and its group's are settled alike.
func (h *Handler) settleTokens(x *exchange) {
	for _, c := range [...]struct {
		key      string
		limit    *Limit
		reserved *int64
	}{
		{x.limits.tokenKey, x.limits.tokens, &x.limits.reserved},
		{x.limits.groupTokenKey, x.limits.groupTokens, &x.limits.groupReserved},
	} {
		reserved := *c.reserved
		if reserved == 0 {
			continue
		}
		*c.reserved = 0
		used := x.tokensUsed(reserved)
		if used == reserved {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		_, err := h.cfg.Limits.Counter.Add(ctx, c.key, used-reserved, *c.limit)
		cancel()
		if err != nil {
			storeErrors.Inc()
			h.logStoreError(err)
		}
	}
}

// tokensUsed is the request's real usage; when the upstream reported none,
// the reservation stands for a whole answer, and a stream cut short
// counts its prompt estimate plus a token per chunk relayed.
func (x *exchange) tokensUsed(reserved int64) int64 {
	switch {
	case x.usage.known:
		return int64(x.usage.PromptTokens + x.usage.CompletionTokens)
	case x.producedNothing():
		return 0
	case x.stream:
		return x.limits.promptEstimate + x.chunks
	default:
		return reserved // the reservation stands
	}
}

// count adds to a counter. The store bounds each of its calls itself
// (see internal/limitstore), so no per-call deadline is needed here.
func (h *Handler) count(ctx context.Context, key string, n int64, l Limit) (Window, error) {
	return h.cfg.Limits.Counter.Add(ctx, key, n, l)
}

// storeFailed decides what a failing store means for the request.
func (h *Handler) storeFailed(err error) *providers.Error {
	storeErrors.Inc()
	h.logStoreError(err)
	if h.cfg.Limits.DenyOnStoreError {
		return storeUnavailable()
	}
	return nil
}

func storeUnavailable() *providers.Error {
	e := providers.NewError(http.StatusServiceUnavailable, "rate_limit_store_unavailable",
		"The gateway cannot check rate limits and budgets right now; try again shortly.")
	e.RetryAfter = time.Second
	return e
}

// logStoreError logs store failures at most once a second: while Redis is
// away every request fails the same way, and the metric counts them all.
func (h *Handler) logStoreError(err error) {
	now := time.Now().UnixNano()
	last := h.storeErrorLogged.Load()
	if now-last < int64(time.Second) || !h.storeErrorLogged.CompareAndSwap(last, now) {
		return
	}
	h.cfg.Logger.Error("rate limit store failed",
		zap.Bool("deny", h.cfg.Limits.DenyOnStoreError), zap.String("error", err.Error()))
}

// groupLimited is limited for a limit the caller's whole group shares.
func groupLimited(kind string, g *Group, l *Limit, w Window) *providers.Error {
	e := limited(kind, l, w)
	e.Message = "Rate limit of the group " + g.Name + " reached: " + strconv.FormatInt(l.N, 10) + " " + kind + " per " + l.Window.String() + " for all of its members together. Try again after the window resets."
	return e
}

func limited(kind string, l *Limit, w Window) *providers.Error {
	e := providers.NewError(http.StatusTooManyRequests, "rate_limit_exceeded",
		"Rate limit reached: "+strconv.FormatInt(l.N, 10)+" "+kind+" per "+l.Window.String()+". Try again after the window resets.")
	e.Type = kind
	e.RetryAfter = time.Until(w.Reset)
	return e
}

// The kinds of counter a caller has.
const (
	requestCounter = "req:"
	tokenCounter   = "tok:"
)

// counterKey names one of the caller's counters under a limit: by its ID,
// or by client IP for anonymous callers.
func (c *Caller) counterKey(kind string, l *Limit, r *http.Request) string {
	if c.ID == "" {
		return kind + l.tag + "ip:" + clientIP(r)
	}
	return kind + l.tag + c.ID
}

// writeLimitHeaders sets the rate-limit headers of a limited route: the
// X-RateLimit-* trio of the request limit (or the token limit when it is
// the only one), and OpenAI's x-ratelimit-*-requests and -tokens.
func (s *limitState) writeHeaders(h http.Header) {
	if !s.haveReq && !s.haveTok {
		return
	}
	// The upstream's own limits are the gateway's business, not the
	// client's: under the gateway's limits only those are shown.
	for _, names := range openAIHeaders {
		for _, name := range names {
			delete(h, name)
		}
	}
	if s.haveReq {
		setOpenAILimit(h, "requests", s.requests, s.reqWindow)
		setLimit(h, s.requests, s.reqWindow)
	}
	if s.haveTok {
		setOpenAILimit(h, "tokens", s.tokens, s.tokWindow)
		if !s.haveReq {
			setLimit(h, s.tokens, s.tokWindow)
		}
	}
}

// The header names, in canonical form so they are set without
// re-canonicalising them on every response.
var (
	limitHeaders  = [3]string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"}
	openAIHeaders = map[string][3]string{
		"requests": {"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests"},
		"tokens":   {"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens"},
	}
)

func setLimit(h http.Header, l *Limit, w Window) {
	setTrio(h, limitHeaders, strconv.FormatInt(l.N, 10), strconv.FormatInt(w.Remaining, 10), strconv.FormatInt(w.Reset.Unix(), 10))
}

func setOpenAILimit(h http.Header, kind string, l *Limit, w Window) {
	setTrio(h, openAIHeaders[kind], strconv.FormatInt(l.N, 10), strconv.FormatInt(w.Remaining, 10), resetIn(w.Reset))
}

// setTrio sets three single-valued headers from one backing array.
func setTrio(h http.Header, names [3]string, limit, remaining, reset string) {
	values := []string{limit, remaining, reset}
	for i, name := range names {
		h[name] = values[i : i+1 : i+1]
	}
}

// resetIn is OpenAI's reset format: a Go duration such as 6m0s or 12ms.
func resetIn(t time.Time) string {
	d := time.Until(t)
	if d <= 0 {
		return "0s"
	}
	if d < time.Second {
		return time.Duration(math.Ceil(float64(d)/float64(time.Millisecond)) * float64(time.Millisecond)).String()
	}
	return d.Round(time.Second).String()
}
