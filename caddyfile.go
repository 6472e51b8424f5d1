package llmgateway

import (
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("llm_gateway", parseCaddyfile)
	// A terminal handler like reverse_proxy, ordered so no `order` line is needed.
	httpcaddyfile.RegisterDirectiveOrder("llm_gateway", httpcaddyfile.Before, "reverse_proxy")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	g := new(Gateway)
	err := g.UnmarshalCaddyfile(h.Dispenser)
	return g, err
}

// UnmarshalCaddyfile sets up the gateway from Caddyfile tokens. Syntax:
//
//	llm_gateway [<matcher>] {
//		provider <name> [<type>] {
//			base_url <url>
//			api_key <secret>
//			header <field> <value>
//			dial_timeout <duration>
//			...                      # options of the provider type
//		}
//		auth none|passthrough
//		auth keys {
//			key <secret>|sha256:<hex> [<name>] {
//				models <public-name>...
//				rate_limit <n> <window>
//				token_limit <n> <window>
//				budget <usd> <period>
//				group <name>
//			}
//		}
//		auth jwt {
//			secret <secret> | public_key <pem-file> | jwks <jwks-file>
//			issuer <iss>
//			audience <aud>
//			identity_claim <claim>
//			models_claim <claim>
//			group_claim <claim>
//			leeway <duration>
//		}
//		rate_limit <n> <window>
//		token_limit <n> <window>
//		token_reserve <n>
//		rate_limit_store memory|redis <url>
//		on_store_error allow|deny
//		model <public-name> <provider>[/<upstream-model>]... [{
//			lb first|round_robin|weighted|least_busy
//			weight <target> <n>
//		}]
//		model * <provider>
//		default_model <public-name>
//		max_body <size>
//		timeout <duration>
//		max_attempts <n>
//		first_token_timeout <duration>
//		stream_idle_timeout <duration>
//		keepalive <interval>
//		lb first|round_robin|weighted|least_busy
//		fail_threshold <n>|off
//		cooldown <duration>
//		probe_interval <duration>
//		batch_concurrency <n>
//		batch_max <n>
//		response_store memory|off {
//			ttl <duration>
//			max_size <size>
//		}
//		prices <file>
//		price <model> {
//			input <usd>
//			output <usd>
//			cached_input <usd>
//			cache_write <usd>
//		}
//		budget <usd> <period>
//		group <name> {
//			budget <usd> <period>
//			rate_limit <n> <window>
//			token_limit <n> <window>
//		}
//		cache memory|redis <url> {
//			ttl <duration>
//			max_size <size>
//			scope caller|group|shared
//			models <pattern>...
//		}
//	}
//
// The provider type defaults to the provider's name.
func (g *Gateway) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	return g.caddyfileOptions().Parse(d, "llm_gateway")
}

// caddyfileOptions maps the gateway block's subdirectives to their
// parsers; the README's reference is checked against it.
func (g *Gateway) caddyfileOptions() providers.Options {
	return providers.Options{
		"provider":         g.parseProvider,
		"model":            g.parseModel,
		"auth":             g.parseAuth,
		"rate_limit":       func(d *caddyfile.Dispenser) error { return parseLimit(d, &g.RateLimit) },
		"token_limit":      func(d *caddyfile.Dispenser) error { return parseLimit(d, &g.TokenLimit) },
		"token_reserve":    g.parseTokenReserve,
		"rate_limit_store": g.parseStore,
		"on_store_error":   func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &g.OnStoreError) },
		"default_model":    func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &g.DefaultModel) },
		"max_body":         g.parseMaxBody,
		"timeout":          func(d *caddyfile.Dispenser) error { return providers.DurationArg(d, &g.Timeout) },
		"max_attempts":     func(d *caddyfile.Dispenser) error { return providers.PositiveIntArg(d, &g.MaxAttempts) },
		"first_token_timeout": func(d *caddyfile.Dispenser) error {
			return positiveDurationArg(d, &g.FirstTokenTimeout)
		},
		"stream_idle_timeout": func(d *caddyfile.Dispenser) error {
			return positiveDurationArg(d, &g.StreamIdleTimeout)
		},
		"keepalive":      func(d *caddyfile.Dispenser) error { return positiveDurationArg(d, &g.Keepalive) },
		"lb":             func(d *caddyfile.Dispenser) error { return parsePolicy(d, &g.LB) },
		"fail_threshold": g.parseFailThreshold,
		"cooldown":       func(d *caddyfile.Dispenser) error { return positiveDurationArg(d, &g.Cooldown) },
		"probe_interval": func(d *caddyfile.Dispenser) error { return positiveDurationArg(d, &g.ProbeInterval) },
		"batch_concurrency": func(d *caddyfile.Dispenser) error {
			return providers.PositiveIntArg(d, &g.BatchConcurrency)
		},
		"batch_max":      func(d *caddyfile.Dispenser) error { return providers.PositiveIntArg(d, &g.BatchMax) },
		"response_store": g.parseResponseStore,
		"prices":         func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &g.Prices) },
		"price":          g.parsePrice,
		"budget":         func(d *caddyfile.Dispenser) error { return parseBudget(d, &g.Budget) },
		"group":          g.parseGroup,
		"cache":          g.parseCache,
	}
}

// parseProvider hands a `provider <name> [<type>] {...}` segment to the
// provider type's own parser.
func (g *Gateway) parseProvider(d *caddyfile.Dispenser) error {
	segment := d.NextSegment()
	// Errors about the provider line point at it, not at the end of the
	// segment where d now stands.
	head := caddyfile.NewDispenser(segment)
	head.Next()
	args := head.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return head.Errf("usage: provider <name> [<type>] { ... }")
	}
	typ := args[0]
	if len(args) == 2 {
		typ = args[1]
	}
	mod, err := caddy.GetModule(providers.Namespace + "." + typ)
	if err != nil {
		return head.Errf("provider %s: unknown provider type '%s' (known: %s)", args[0], typ, strings.Join(providerTypes(), ", "))
	}
	unm, ok := mod.New().(caddyfile.Unmarshaler)
	if !ok {
		return head.Errf("provider type '%s' cannot be configured in a Caddyfile", typ)
	}
	if err := unm.UnmarshalCaddyfile(caddyfile.NewDispenser(segment)); err != nil {
		return err
	}
	g.ProvidersRaw = append(g.ProvidersRaw, caddyconfig.JSONModuleObject(unm, "provider", typ, nil))
	return nil
}

// providerTypes lists the registered provider types.
func providerTypes() []string {
	var names []string
	for _, m := range caddy.GetModules(providers.Namespace) {
		names = append(names, m.ID.Name())
	}
	slices.Sort(names)
	return names
}

// parseModel parses `model <public-name> <target>... [{ ... }]`; a target
// is `<provider>[/<upstream-model>]`, split at the first slash so upstream
// names with slashes (meta-llama/Llama-3-8B) stay whole. The optional
// block holds the route's options (see ModelRoute.caddyfileOptions).
func (g *Gateway) parseModel(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	route := ModelRoute{Name: d.Val()}
	for _, r := range g.Models {
		if r.Name == route.Name {
			return d.Errf("model %s already specified", route.Name)
		}
	}
	for d.NextArg() {
		provider, model, _ := strings.Cut(d.Val(), "/")
		if provider == "" {
			return d.Errf("model %s: target '%s' has no provider name", route.Name, d.Val())
		}
		route.Targets = append(route.Targets, ModelTarget{Provider: provider, Model: model})
	}
	if len(route.Targets) == 0 {
		return d.Errf("model %s: name at least one target: <provider>[/<upstream-model>]", route.Name)
	}
	if route.Name == handler.Wildcard {
		for _, t := range route.Targets {
			if t.Model != "" {
				return d.Errf("model *: target '%s' renames the model; a wildcard route keeps the requested name, so give only the provider", t)
			}
		}
	}
	if err := route.caddyfileOptions().Parse(d, "model "+route.Name); err != nil {
		return err
	}
	g.Models = append(g.Models, route)
	return nil
}

// caddyfileOptions maps the subdirectives of a `model` block to their
// parsers; the README's reference is checked against it.
func (m *ModelRoute) caddyfileOptions() providers.Options {
	return providers.Options{
		"lb":     func(d *caddyfile.Dispenser) error { return parsePolicy(d, &m.LB) },
		"weight": m.parseWeight,
	}
}

// parseWeight parses `weight <target> <n>`, the target as written on the
// model line.
func (m *ModelRoute) parseWeight(d *caddyfile.Dispenser) error {
	var target, n string
	if !d.Args(&target, &n) || d.NextArg() {
		return d.ArgErr()
	}
	weight, err := strconv.Atoi(n)
	if err != nil || weight < 1 {
		return d.Errf("model %s: invalid weight '%s' for %s: want a whole number of at least 1", m.Name, n, target)
	}
	found := false
	for i := range m.Targets {
		if m.Targets[i].String() == target {
			if m.Targets[i].Weight != 0 {
				return d.Errf("model %s: weight for %s already specified", m.Name, target)
			}
			m.Targets[i].Weight, found = weight, true
		}
	}
	if !found {
		written := make([]string, len(m.Targets))
		for i, t := range m.Targets {
			written[i] = t.String()
		}
		return d.Errf("model %s: weight names '%s', which is not one of the model's targets (%s)", m.Name, target, strings.Join(written, ", "))
	}
	return nil
}

// parsePolicy parses `lb <policy>`, once.
func parsePolicy(d *caddyfile.Dispenser, dst *string) error {
	if err := providers.OneArg(d, dst); err != nil {
		return err
	}
	if err := handler.CheckPolicy(handler.Policy(*dst)); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// parseFailThreshold parses `fail_threshold <n>|off`; 0 is off too.
func (g *Gateway) parseFailThreshold(d *caddyfile.Dispenser) error {
	var s string
	if err := providers.OneArg(d, &s); err != nil {
		return err
	}
	if g.FailThreshold != nil {
		return d.Err("fail_threshold already specified")
	}
	n, err := strconv.Atoi(s)
	if s == "off" {
		n, err = 0, nil
	}
	if err != nil || n < 0 {
		return d.Errf("invalid fail_threshold '%s': want a whole number of failures (0 or off: no circuit breaking)", s)
	}
	g.FailThreshold = &n
	return nil
}

func (g *Gateway) parseMaxBody(d *caddyfile.Dispenser) error {
	var s string
	if err := providers.OneArg(d, &s); err != nil {
		return err
	}
	if g.MaxBody != 0 {
		return d.Err("max_body already specified")
	}
	size, err := humanize.ParseBytes(s)
	if err != nil || size == 0 {
		return d.Errf("invalid max_body '%s': want a size such as 8MB or 512KiB", s)
	}
	g.MaxBody = int64(size)
	return nil
}

// positiveDurationArg parses `<name> <duration>` with a duration above
// zero, once: zero would mean the default, which is not what was written.
func positiveDurationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	name := d.Val()
	if err := providers.DurationArg(d, dst); err != nil {
		return err
	}
	if *dst == 0 {
		return d.Errf("invalid %s '0': want a duration above zero, such as 10s", name)
	}
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Gateway)(nil)
)
