package providers

import (
	"math"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
)

// Options maps a provider block's subdirectives to their parsers. Each
// parser starts with the dispenser at the subdirective's name.
type Options map[string]func(d *caddyfile.Dispenser) error

// OptionsDocumenter is implemented by every provider type: its Caddyfile
// options, from the same table its parser uses, so the README reference
// can be checked against what the parser accepts.
type OptionsDocumenter interface {
	CaddyfileOptions() Options
}

// BaseOptions are the subdirectives every provider type accepts.
func (b *Base) BaseOptions() Options {
	return Options{
		"base_url": func(d *caddyfile.Dispenser) error { return OneArg(d, &b.BaseURL) },
		"api_key":  func(d *caddyfile.Dispenser) error { return OneArg(d, &b.APIKey) },
		"header": func(d *caddyfile.Dispenser) error {
			var field, value string
			if !d.Args(&field, &value) || d.NextArg() {
				return d.ArgErr()
			}
			if b.Header == nil {
				b.Header = make(http.Header)
			}
			b.Header.Add(field, value)
			return nil
		},
		"dial_timeout": func(d *caddyfile.Dispenser) error {
			return DurationArg(d, &b.DialTimeout)
		},
		"max_concurrent": func(d *caddyfile.Dispenser) error {
			return PositiveIntArg(d, &b.MaxConcurrent)
		},
		"queue_timeout": func(d *caddyfile.Dispenser) error {
			return DurationArg(d, &b.QueueTimeout)
		},
		"max_response_body": func(d *caddyfile.Dispenser) error {
			return SizeArg(d, &b.MaxResponseBody)
		},
	}
}

// ParseBlock parses a provider segment, `provider <name> [<type>] { ... }`,
// with the options of Base plus the provider type's own.
func ParseBlock(d *caddyfile.Dispenser, b *Base, own Options) error {
	d.Next() // "provider"
	if !d.NextArg() {
		return d.ArgErr()
	}
	b.Name = d.Val()
	d.NextArg() // the optional type, already read by the handler's parser
	if d.NextArg() {
		return d.ArgErr()
	}
	base := b.BaseOptions()
	for d.NextBlock(0) {
		parse, ok := own[d.Val()]
		if !ok {
			parse, ok = base[d.Val()]
		}
		if !ok {
			return d.Errf("provider %s: unrecognized subdirective '%s'", b.Name, d.Val())
		}
		if err := parse(d); err != nil {
			return err
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

// DurationArg reads exactly one duration argument into dst.
func DurationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	return valueArg(d, dst, "a duration such as 10s", func(s string) (caddy.Duration, bool) {
		dur, err := caddy.ParseDuration(s)
		return caddy.Duration(dur), err == nil && dur >= 0
	})
}

// PositiveIntArg reads exactly one whole number of at least 1 into dst.
func PositiveIntArg(d *caddyfile.Dispenser, dst *int) error {
	return valueArg(d, dst, "a whole number of at least 1", func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 1
	})
}

// SizeArg reads exactly one size above zero, such as 64MiB, into dst.
func SizeArg(d *caddyfile.Dispenser, dst *int64) error {
	return valueArg(d, dst, "a size such as 64MiB or 512KB", func(s string) (int64, bool) {
		size, err := humanize.ParseBytes(s)
		return int64(size), err == nil && size > 0 && size <= math.MaxInt64
	})
}

// valueArg reads the one argument of a subdirective that may be given
// once, converting it with parse, which reports whether it is valid; want
// describes a valid one.
func valueArg[T comparable](d *caddyfile.Dispenser, dst *T, want string, parse func(string) (T, bool)) error {
	name := d.Val()
	var s string
	if err := OneArg(d, &s); err != nil {
		return err
	}
	var unset T
	if *dst != unset {
		return d.Errf("%s already specified", name)
	}
	v, ok := parse(s)
	if !ok {
		return d.Errf("invalid %s '%s': want %s", name, s, want)
	}
	*dst = v
	return nil
}

// NoArgs refuses arguments after a flag subdirective.
func NoArgs(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}
