package providers

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// OptionParser parses one provider-specific subdirective at d.Val(). It
// reports false when the subdirective is not its own.
type OptionParser func(d *caddyfile.Dispenser) (bool, error)

// ParseBlock parses a provider segment: `provider <name> [<type>] { ... }`.
// It handles the options of Base and hands every other subdirective to
// parseOption, so each provider type only parses what is its own.
func ParseBlock(d *caddyfile.Dispenser, b *Base, parseOption OptionParser) error {
	d.Next() // "provider"
	if !d.NextArg() {
		return d.ArgErr()
	}
	b.Name = d.Val()
	d.NextArg() // the optional type, already read by the handler's parser
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "base_url":
			if err := OneArg(d, &b.BaseURL); err != nil {
				return err
			}
		case "api_key":
			if err := OneArg(d, &b.APIKey); err != nil {
				return err
			}
		case "header":
			var field, value string
			if !d.Args(&field, &value) || d.NextArg() {
				return d.ArgErr()
			}
			if b.Header == nil {
				b.Header = make(http.Header)
			}
			b.Header.Add(field, value)
		case "dial_timeout":
			var s string
			if err := OneArg(d, &s); err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(s)
			if err != nil {
				return d.Errf("invalid dial_timeout %q: %v", s, err)
			}
			b.DialTimeout = caddy.Duration(dur)
		default:
			handled := false
			if parseOption != nil {
				var err error
				if handled, err = parseOption(d); err != nil {
					return err
				}
			}
			if !handled {
				return d.Errf("provider %s: unrecognized subdirective '%s'", b.Name, d.Val())
			}
		}
	}
	return nil
}

// OneArg reads exactly one argument into dst, refusing a second setting of
// the same option.
func OneArg(d *caddyfile.Dispenser, dst *string) error {
	name := d.Val()
	if *dst != "" {
		return d.Errf("%s already specified", name)
	}
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}
