package llmgateway

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/internal/pricing"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// PriceConfig is what one public model's tokens cost, in USD per million
// tokens, written as decimals ("2.50") so that they are read exactly.
type PriceConfig struct {
	// Input is the price of a million prompt tokens that no prompt cache
	// served.
	Input json.Number `json:"input,omitempty"`
	// Output is the price of a million completion tokens, reasoning
	// tokens included.
	Output json.Number `json:"output,omitempty"`
	// CachedInput is the price of a million prompt tokens read from the
	// provider's prompt cache. Default: Input.
	CachedInput json.Number `json:"cached_input,omitempty"`
	// CacheWrite is the price of a million prompt tokens written to the
	// provider's prompt cache. Default: Input.
	CacheWrite json.Number `json:"cache_write,omitempty"`
}

// price reads the configured prices.
func (c *PriceConfig) price() (pricing.Price, error) {
	if c.Input == "" && c.Output == "" {
		return pricing.Price{}, fmt.Errorf("set input or output, or both")
	}
	var p pricing.Price
	for _, f := range [...]struct {
		name string
		text json.Number
		dst  *pricing.Rate
	}{
		{"input", c.Input, &p.Input},
		{"output", c.Output, &p.Output},
		{"cached_input", c.CachedInput, &p.CachedInput},
		{"cache_write", c.CacheWrite, &p.CacheWrite},
	} {
		if f.text == "" {
			continue
		}
		r, err := pricing.ParseUSDPerMillion(string(f.text))
		if err != nil {
			return pricing.Price{}, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = r
	}
	if c.CachedInput == "" {
		p.CachedInput = p.Input
	}
	if c.CacheWrite == "" {
		p.CacheWrite = p.Input
	}
	return p, nil
}

// validatePrices checks the prices set per model.
func (g *Gateway) validatePrices() error {
	for _, model := range slices.Sorted(maps.Keys(g.Price)) {
		if _, err := g.Price[model].price(); err != nil {
			return fmt.Errorf("price %s: %w", model, err)
		}
	}
	return nil
}

// priceBook reads the price list and the prices set per model; nil when
// neither is configured. A routed model that has no price is served
// without a cost, and said once here.
func (g *Gateway) priceBook(routes []handler.Route) (*pricing.Book, error) {
	if g.Prices == "" && len(g.Price) == 0 {
		return nil, nil
	}
	book := &pricing.Book{Models: make(map[string]pricing.Price, len(g.Price)), ProviderTypes: make(map[string]string)}
	if g.Prices != "" {
		path := caddy.NewReplacer().ReplaceAll(g.Prices, "")
		table, err := pricing.LoadTable(path)
		if err != nil {
			return nil, fmt.Errorf("prices: %w", err)
		}
		book.Table = table
	}
	for model, c := range g.Price {
		p, err := c.price()
		if err != nil {
			return nil, fmt.Errorf("price %s: %w", model, err)
		}
		book.Models[model] = p
	}
	for _, p := range g.providers {
		if m, ok := p.(caddy.Module); ok {
			book.ProviderTypes[p.Config().Name] = m.CaddyModule().ID.Name()
		}
	}
	g.warnUnpriced(book, routes)
	return book, nil
}

// warnUnpriced names the routed models that have no price: their calls
// are served and cost nothing in the gateway's accounts. Only routes with
// a fixed name can be checked; `*` and prefix routes serve names the
// configuration does not know.
func (g *Gateway) warnUnpriced(book *pricing.Book, routes []handler.Route) {
	var missing []string
	for _, r := range routes {
		if r.Name == handler.Wildcard || handler.IsPrefixPattern(r.Name) {
			continue
		}
		for _, t := range r.Targets {
			provider := t.Provider.Config().Name
			upstream := cmp.Or(t.Model, r.Name)
			if _, ok := book.Lookup(r.Name, provider, upstream); !ok {
				missing = append(missing, r.Name+" ("+provider+"/"+upstream+")")
			}
		}
	}
	if len(missing) > 0 {
		g.logger.Warn("models without a price are served without a cost: add them to the price list or set `price <model> { ... }`",
			zap.String("models", strings.Join(missing, ", ")))
	}
}

// parsePrice parses `price <model> { input <usd>  output <usd>
// cached_input <usd>  cache_write <usd> }`.
func (g *Gateway) parsePrice(d *caddyfile.Dispenser) error {
	var model string
	if !d.Args(&model) || d.NextArg() {
		return d.Err("usage: price <model> { input <usd>  output <usd>  cached_input <usd>  cache_write <usd> } (USD per million tokens)")
	}
	if _, dup := g.Price[model]; dup {
		return d.Errf("price %s already specified", model)
	}
	c := &PriceConfig{}
	if err := c.caddyfileOptions().Parse(d, "price "+model); err != nil {
		return err
	}
	if _, err := c.price(); err != nil {
		return d.Errf("price %s: %v", model, err)
	}
	if g.Price == nil {
		g.Price = make(map[string]*PriceConfig)
	}
	g.Price[model] = c
	return nil
}

// caddyfileOptions maps the price block's subdirectives to their parsers.
func (c *PriceConfig) caddyfileOptions() providers.Options {
	usd := func(dst *json.Number) func(*caddyfile.Dispenser) error {
		return func(d *caddyfile.Dispenser) error {
			name := d.Val()
			if *dst != "" {
				return d.Errf("%s already specified", name)
			}
			var s string
			if err := providers.OneArg(d, &s); err != nil {
				return err
			}
			if _, err := pricing.ParseUSDPerMillion(s); err != nil {
				return d.Errf("%s: %v", name, err)
			}
			*dst = json.Number(s)
			return nil
		}
	}
	return providers.Options{
		"input":        usd(&c.Input),
		"output":       usd(&c.Output),
		"cached_input": usd(&c.CachedInput),
		"cache_write":  usd(&c.CacheWrite),
	}
}
