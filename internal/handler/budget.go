package handler

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Budget is the most a caller, or a group of callers together, may spend
// per period.
type Budget struct {
	Limit  pricing.Nanodollars
	Period Period
}

// Group is callers that share counters: a team's keys, or the JWT
// identities whose group claim names it.
type Group struct {
	Name string
	// Budget, RequestLimit and TokenLimit count for the whole group, on
	// top of each member's own; nil for none.
	Budget                   *Budget
	RequestLimit, TokenLimit *Limit
}

// Account is one budget's spend in one period.
type Account struct {
	Key   string
	Limit int64 // nanodollars
	Ends  time.Time
}

// Spender keeps budget accounts, shared by every instance that uses the
// same store. The root module keeps them in internal/limitstore.
type Spender interface {
	// Reserve adds n to every account if each stays within its limit,
	// all or none; over is the index of the first it does not fit in, or
	// -1, and spent that account's spend.
	Reserve(ctx context.Context, accounts []Account, n int64) (over int, spent int64, err error)
	// Spend adds n to every account, past its limit if need be.
	Spend(ctx context.Context, accounts []Account, n int64) error
	// Spent reads an account's spend.
	Spent(ctx context.Context, key string) (int64, error)
}

// budgetState is a request's reservation on its budgets: at most two,
// its caller's and its group's.
type budgetState struct {
	accounts [2]Account
	budgets  [2]*Budget
	n        int // accounts in use
	reserved pricing.Nanodollars
}

// add puts a budget and its account's scope in the state.
func (s *budgetState) add(b *Budget, scope string) {
	s.budgets[s.n], s.accounts[s.n].Key = b, scope
	s.n++
}

// collectBudgets puts the budgets that apply to a caller in x.budget,
// each with the scope its account is kept under: its own (or the
// gateway's per caller), and its group's.
func (h *Handler) collectBudgets(x *exchange, r *http.Request) {
	c := x.caller
	own := h.cfg.Limits.Budget
	if c != nil && c.Budget != nil {
		own = c.Budget
	}
	if own != nil {
		x.budget.add(own, c.scope(r))
	}
	if g := c.group(); g != nil && g.Budget != nil {
		x.budget.add(g.Budget, g.scope())
	}
}

// scope names the group in counter keys.
func (g *Group) scope() string { return "grp:" + g.Name }

// scope names the caller in counter keys: by its ID, or by client IP for
// anonymous callers.
func (c *Caller) scope(r *http.Request) string {
	if c == nil || c.ID == "" {
		return "ip:" + clientIP(r)
	}
	return c.ID
}

// reserveBudget reserves the most the request can cost on each of its
// budgets, all or none: its prompt at a token per byte (no tokenizer
// makes more tokens than the text has bytes) at the dearest of the
// prompt prices, and its max_tokens, else the model's output limit from
// the price list, else the token reserve, at the dearest output price
// (long-context tiers included); on the route's dearest target. Calls whose targets have no price reserve
// nothing.
func (h *Handler) reserveBudget(ctx context.Context, x *exchange, r *http.Request, route *Route, in *requestBody) *providers.Error {
	if h.cfg.Limits.Spender == nil {
		return nil
	}
	h.collectBudgets(x, r)
	s := &x.budget
	if s.n == 0 {
		return nil
	}
	worst := h.worstCost(route, in)
	if worst == 0 {
		s.n = 0
		return nil
	}
	now := time.Now()
	for i, b := range s.budgets[:s.n] {
		if worst > b.Limit {
			s.n = 0
			return budgetTooSmall(b, worst, in.maxTokens > 0)
		}
		start, end := b.Period.bounds(now)
		s.accounts[i] = Account{Key: accountKey(b, s.accounts[i].Key, start), Limit: int64(b.Limit), Ends: end}
	}
	over, spent, err := h.cfg.Limits.Spender.Reserve(ctx, s.accounts[:s.n], int64(worst))
	if err != nil {
		s.n = 0
		return h.storeFailed(err)
	}
	if over >= 0 {
		s.n = 0
		budgetExceededTotal.Inc()
		return budgetExceeded(s.budgets[over], pricing.Nanodollars(spent), s.accounts[over].Ends)
	}
	s.reserved = worst
	return nil
}

// worstCost is the most the request can cost on any target of its route.
func (h *Handler) worstCost(route *Route, in *requestBody) pricing.Nanodollars {
	var worst pricing.Nanodollars
	for _, t := range route.Targets {
		price, ok := h.cfg.Prices.Lookup(in.model, t.Provider.Config().Name, t.upstreamModel(in.model))
		if !ok {
			continue
		}
		output := in.maxTokens
		if output <= 0 {
			output = cmp.Or(price.MaxOutputTokens, h.cfg.Limits.CompletionReserve)
		}
		prompt, completion := price.Dearest()
		cost := pricing.Price{Input: prompt, Output: completion}.Cost(pricing.Usage{Prompt: int64(len(in.body)), Completion: output})
		worst = max(worst, cost)
	}
	return worst
}

// settleBudget replaces the reservation by what the call cost: its
// price, or the whole reservation when it produced an answer whose usage
// is unknown, or nothing when nothing was produced. It runs after the
// response, on its own context: the client may be gone.
func (h *Handler) settleBudget(x *exchange) {
	if x.budget.n == 0 {
		return
	}
	h.settleCost(x)
	spent := x.budget.reserved
	switch {
	case x.priced:
		spent = x.cost
	case x.producedNothing():
		spent = 0
	}
	accounts, delta := x.budget.accounts[:x.budget.n], int64(spent-x.budget.reserved)
	x.budget.n = 0
	if delta == 0 {
		return
	}
	// The store bounds its own calls (see internal/limitstore).
	if err := h.cfg.Limits.Spender.Spend(context.Background(), accounts, delta); err != nil {
		storeErrors.Inc()
		h.logStoreError(err)
	}
}

// budgetExceeded is OpenAI's answer to an account out of money, with the
// wait until the budget starts again.
func budgetExceeded(b *Budget, spent pricing.Nanodollars, resets time.Time) *providers.Error {
	e := providers.NewError(http.StatusTooManyRequests, "budget_exceeded",
		"Budget reached: $"+spent.String()+" of $"+b.Limit.String()+" per "+b.Period.describe()+
			" spent or reserved by calls under way. It starts again at "+resets.UTC().Format(time.RFC3339)+".")
	e.Type = "insufficient_quota"
	e.RetryAfter = time.Until(resets)
	return e
}

// budgetTooSmall refuses a request that could cost more than the whole
// budget: waiting would not help.
func budgetTooSmall(b *Budget, worst pricing.Nanodollars, maxTokensSet bool) *providers.Error {
	hint := "Set max_tokens (or max_completion_tokens) to bound the answer."
	if maxTokensSet {
		hint = "Send a shorter prompt or a lower max_tokens."
	}
	e := providers.NewError(http.StatusBadRequest, "budget_exceeded",
		"This request could cost up to $"+worst.String()+", more than the whole budget of $"+b.Limit.String()+
			" per "+b.Period.describe()+". "+hint)
	e.Type = "insufficient_quota"
	e.Param = "max_tokens"
	return e
}

// Period is how often a budget starts again.
type Period struct {
	// Every is the length of fixed periods counted from the Unix epoch;
	// 0 for a calendar period.
	Every time.Duration
	// Calendar is daily, weekly (from Monday) or monthly, in UTC.
	Calendar string
}

// The calendar periods.
const (
	Daily   = "daily"
	Weekly  = "weekly"
	Monthly = "monthly"
)

// ParsePeriod reads daily, weekly, monthly or a duration such as 24h.
func ParsePeriod(s string, parseDuration func(string) (time.Duration, error)) (Period, error) {
	switch s {
	case Daily, Weekly, Monthly:
		return Period{Calendar: s}, nil
	}
	d, err := parseDuration(s)
	if err != nil || d < time.Second {
		return Period{}, fmt.Errorf("invalid period %q: want daily, weekly, monthly or a duration of at least 1s such as 24h", s)
	}
	return Period{Every: d}, nil
}

// bounds is the period that holds now.
func (p Period) bounds(now time.Time) (start, end time.Time) {
	now = now.UTC()
	switch p.Calendar {
	case Daily:
		start = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1)
	case Weekly:
		start = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		start = start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7)) // back to Monday
		return start, start.AddDate(0, 0, 7)
	case Monthly:
		start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	start = time.Unix(0, now.UnixNano()/int64(p.Every)*int64(p.Every)).UTC()
	return start, start.Add(p.Every)
}

// String names the period in counter keys and the Caddyfile's words.
func (p Period) String() string {
	if p.Calendar != "" {
		return p.Calendar
	}
	return p.Every.String()
}

// describe names the period in messages.
func (p Period) describe() string {
	switch p.Calendar {
	case Daily:
		return "day"
	case Weekly:
		return "week"
	case Monthly:
		return "month"
	}
	s := p.Every.String() // 24h0m0s
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
