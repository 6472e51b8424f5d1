package llmgateway

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// parseLimit parses `<name> <n> <window>`.
func parseLimit(d *caddyfile.Dispenser, dst **LimitConfig) error {
	name := d.Val()
	if *dst != nil {
		return d.Errf("%s already specified", name)
	}
	var n, window string
	if !d.Args(&n, &window) || d.NextArg() {
		return d.Errf("usage: %s <n> <window>, e.g. %s 60 1m", name, name)
	}
	limit, err := strconv.ParseInt(n, 10, 64)
	if err != nil || limit <= 0 {
		return d.Errf("invalid %s count '%s': want a positive whole number", name, n)
	}
	dur, err := caddy.ParseDuration(window)
	if err != nil || dur <= 0 {
		return d.Errf("invalid %s window '%s': want a duration such as 1m or 1h", name, window)
	}
	*dst = &LimitConfig{Limit: limit, Window: caddy.Duration(dur)}
	return nil
}

func (g *Gateway) parseTokenReserve(d *caddyfile.Dispenser) error {
	var s string
	if err := providers.OneArg(d, &s); err != nil {
		return err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return d.Errf("invalid token_reserve '%s': want a positive whole number", s)
	}
	g.TokenReserve = n
	return nil
}

// parseStore parses `rate_limit_store memory` or `rate_limit_store redis <url>`.
func (g *Gateway) parseStore(d *caddyfile.Dispenser) error {
	if g.RateLimitStore != nil {
		return d.Err("rate_limit_store already specified")
	}
	args := d.RemainingArgs()
	switch {
	case len(args) == 1 && args[0] == StoreMemory:
		g.RateLimitStore = &StoreConfig{Type: StoreMemory}
	case len(args) == 2 && args[0] == StoreRedis:
		g.RateLimitStore = &StoreConfig{Type: StoreRedis, URL: args[1]}
	default:
		return d.Err("usage: rate_limit_store memory | rate_limit_store redis <url>")
	}
	return nil
}
