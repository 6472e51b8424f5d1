package llmgateway

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// parseAuth parses `auth none|passthrough`, `auth keys { ... }` and
// `auth jwt { ... }`.
func (g *Gateway) parseAuth(d *caddyfile.Dispenser) error {
	if g.Auth != nil {
		return d.Err("auth already specified")
	}
	if !d.NextArg() {
		return d.ArgErr()
	}
	g.Auth = &AuthConfig{Mode: d.Val()}
	if d.NextArg() {
		return d.ArgErr()
	}
	switch g.Auth.Mode {
	case AuthNone, AuthPassthrough:
		if d.NextBlock(d.Nesting()) {
			return d.Errf("auth %s takes no block", g.Auth.Mode)
		}
		return nil
	case AuthKeys:
		return g.parseKeys(d)
	case AuthJWT:
		g.Auth.JWT = new(JWTConfig)
		return g.Auth.JWT.caddyfileOptions().Parse(d, "auth jwt")
	}
	return d.Errf("unknown auth mode '%s' (want %s, %s, %s or %s)", g.Auth.Mode, AuthNone, AuthKeys, AuthPassthrough, AuthJWT)
}

// parseKeys parses the block of `auth keys`.
func (g *Gateway) parseKeys(d *caddyfile.Dispenser) error {
	if err := (providers.Options{"key": g.parseKey}).Parse(d, "auth keys"); err != nil {
		return err
	}
	if len(g.Auth.Keys) == 0 {
		return d.Err("auth keys: add at least one `key <secret> [<name>]` line")
	}
	return nil
}

// parseKey parses `key <secret>|sha256:<hex> [<name>] [{ ... }]`.
func (g *Gateway) parseKey(d *caddyfile.Dispenser) error {
	var k KeyConfig
	args := d.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return d.Err("usage: key <secret>|sha256:<hex> [<name>]")
	}
	k.Key = args[0]
	block := "auth key"
	if len(args) == 2 {
		k.Name = args[1]
		block += " " + k.Name
	}
	if err := k.caddyfileOptions().Parse(d, block); err != nil {
		return err
	}
	g.Auth.Keys = append(g.Auth.Keys, k)
	return nil
}

// caddyfileOptions are the subdirectives of a `key` block.
func (k *KeyConfig) caddyfileOptions() providers.Options {
	return providers.Options{
		"models": func(d *caddyfile.Dispenser) error {
			models := d.RemainingArgs()
			if len(models) == 0 {
				return d.ArgErr()
			}
			k.Models = append(k.Models, models...)
			return nil
		},
		"rate_limit":  func(d *caddyfile.Dispenser) error { return parseLimit(d, &k.RateLimit) },
		"token_limit": func(d *caddyfile.Dispenser) error { return parseLimit(d, &k.TokenLimit) },
		"budget":      func(d *caddyfile.Dispenser) error { return parseBudget(d, &k.Budget) },
		"group":       func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &k.Group) },
	}
}

// caddyfileOptions are the subdirectives of an `auth jwt` block.
func (j *JWTConfig) caddyfileOptions() providers.Options {
	return providers.Options{
		"secret":         func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &j.Secret) },
		"public_key":     func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &j.PublicKeyFile) },
		"jwks":           func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &j.JWKSFile) },
		"issuer":         func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &j.Issuer) },
		"audience":       func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &j.Audience) },
		"identity_claim": func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &j.IdentityClaim) },
		"models_claim":   func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &j.ModelsClaim) },
		"group_claim":    func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &j.GroupClaim) },
		"leeway":         func(d *caddyfile.Dispenser) error { return providers.DurationArg(d, &j.Leeway) },
	}
}
