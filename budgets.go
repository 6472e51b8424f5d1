package llmgateway

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/internal/limitstore"
	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// BudgetConfig is the most that may be spent per period, at the
// configured prices.
type BudgetConfig struct {
	// USD is the amount, a decimal ("25", "0.50").
	USD json.Number `json:"usd"`
	// Period is `daily`, `weekly` (from Monday) or `monthly`, in UTC, or
	// a duration such as `24h`, whose periods are counted from the Unix
	// epoch.
	Period string `json:"period"`
}

// budget reads the configuration.
func (b *BudgetConfig) budget() (*handler.Budget, error) {
	if b == nil {
		return nil, nil
	}
	usd, err := pricing.ParseUSD(string(b.USD))
	if err != nil {
		return nil, err
	}
	if usd <= 0 || usd > limitstore.MaxSpend {
		return nil, fmt.Errorf("the amount must be above 0 and at most %s USD, not %s", pricing.Nanodollars(limitstore.MaxSpend), b.USD)
	}
	period, err := handler.ParsePeriod(b.Period, caddy.ParseDuration)
	if err != nil {
		return nil, err
	}
	return &handler.Budget{Limit: usd, Period: period}, nil
}

// GroupConfig is a team of callers that share a budget and limits: keys
// that name it, or JWT identities whose group claim does. Each member's
// own budget and limits apply as well.
type GroupConfig struct {
	// Budget is the group's spend per period, all members together.
	Budget *BudgetConfig `json:"budget,omitempty"`
	// RateLimit is the group's requests per window, all members together.
	RateLimit *LimitConfig `json:"rate_limit,omitempty"`
	// TokenLimit is the group's tokens per window, all members together.
	TokenLimit *LimitConfig `json:"token_limit,omitempty"`
}

// groups reads the configured groups.
func (g *Gateway) groups() (map[string]*handler.Group, error) {
	out := make(map[string]*handler.Group, len(g.Groups))
	for _, name := range slices.Sorted(maps.Keys(g.Groups)) {
		c := g.Groups[name]
		if c == nil {
			c = &GroupConfig{}
		}
		b, err := c.Budget.budget()
		if err != nil {
			return nil, fmt.Errorf("group %s: budget: %w", name, err)
		}
		for what, l := range map[string]*LimitConfig{"rate_limit": c.RateLimit, "token_limit": c.TokenLimit} {
			if err := l.validate("group " + name + " " + what); err != nil {
				return nil, err
			}
		}
		out[name] = &handler.Group{Name: name, Budget: b, RequestLimit: c.RateLimit.limit(), TokenLimit: c.TokenLimit.limit()}
	}
	return out, nil
}

// anyBudget reports whether a budget is configured anywhere.
func (g *Gateway) anyBudget() bool {
	if g.Budget != nil {
		return true
	}
	for _, c := range g.Groups {
		if c != nil && (c.Budget != nil || c.RateLimit != nil || c.TokenLimit != nil) {
			return true
		}
	}
	if g.Auth != nil {
		for _, k := range g.Auth.Keys {
			if k.Budget != nil {
				return true
			}
		}
	}
	return false
}

// parseBudget parses `budget <usd> <period>`.
func parseBudget(d *caddyfile.Dispenser, dst **BudgetConfig) error {
	if *dst != nil {
		return d.Err("budget already specified")
	}
	var usd, period string
	if !d.Args(&usd, &period) || d.NextArg() {
		return d.Err("usage: budget <usd> <period>, e.g. budget 25 monthly (period: daily, weekly, monthly or a duration such as 24h)")
	}
	b := &BudgetConfig{USD: json.Number(usd), Period: period}
	if _, err := b.budget(); err != nil {
		return d.Errf("budget: %v", err)
	}
	*dst = b
	return nil
}

// parseGroup parses `group <name> { budget ...  rate_limit ...  token_limit ... }`.
func (g *Gateway) parseGroup(d *caddyfile.Dispenser) error {
	var name string
	if !d.Args(&name) || d.NextArg() {
		return d.Err("usage: group <name> { budget <usd> <period>  rate_limit <n> <window>  token_limit <n> <window> }")
	}
	if _, dup := g.Groups[name]; dup {
		return d.Errf("group %s already specified", name)
	}
	c := &GroupConfig{}
	if err := (providers.Options{
		"budget":      func(d *caddyfile.Dispenser) error { return parseBudget(d, &c.Budget) },
		"rate_limit":  func(d *caddyfile.Dispenser) error { return parseLimit(d, &c.RateLimit) },
		"token_limit": func(d *caddyfile.Dispenser) error { return parseLimit(d, &c.TokenLimit) },
	}).Parse(d, "group "+name); err != nil {
		return err
	}
	if g.Groups == nil {
		g.Groups = make(map[string]*GroupConfig)
	}
	g.Groups[name] = c
	return nil
}

// storeSpender keeps the pipeline's budgets in a limit store.
type storeSpender struct{ store *limitstore.Store }

func (s storeSpender) Reserve(ctx context.Context, accounts []handler.Account, n int64) (int, int64, error) {
	var buf [2]limitstore.Account
	return s.store.Reserve(ctx, storeAccounts(accounts, &buf), n)
}

func (s storeSpender) Spend(ctx context.Context, accounts []handler.Account, n int64) error {
	var buf [2]limitstore.Account
	return s.store.Spend(ctx, storeAccounts(accounts, &buf), n)
}

func (s storeSpender) Spent(ctx context.Context, key string) (int64, error) {
	return s.store.Spent(ctx, key)
}

// storeAccounts converts accounts, in place of a slice of buf's when they
// fit (a request has at most two).
func storeAccounts(accounts []handler.Account, buf *[2]limitstore.Account) []limitstore.Account {
	out := buf[:0]
	for _, a := range accounts {
		out = append(out, limitstore.Account(a))
	}
	return out
}

// Interface guards
var _ handler.Spender = storeSpender{}
