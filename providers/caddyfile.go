package providers

import (
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
)

// Options maps the subdirectives of a Caddyfile block to their parsers.
// Each parser starts with the dispenser at the subdirective's name.
type Options map[string]func(d *caddyfile.Dispenser) error

// Parse walks the block that follows the current line, handing each
// subdirective to its parser. block names the block in errors, such as
// `llm_gateway` or `provider openai`; an unknown subdirective's error
// suggests the block's closest option, or lists them all.
func (o Options) Parse(d *caddyfile.Dispenser, block string) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		parse, ok := o[d.Val()]
		if !ok {
			return d.Errf("%s: unrecognized subdirective '%s'%s", block, d.Val(), o.hint(d.Val()))
		}
		if err := parse(d); err != nil {
			return err
		}
	}
	return nil
}

// hint ends the error of an unknown subdirective: the option it is most
// likely a typo of, else every option of the block.
func (o Options) hint(unknown string) string {
	names := slices.Sorted(maps.Keys(o))
	if len(names) == 0 {
		return ""
	}
	closest, distance := "", 0
	for _, name := range names {
		if d := editDistance(unknown, name); closest == "" || d < distance {
			closest, distance = name, d
		}
	}
	// A third of the letters wrong is still recognisably the word;
	// more would suggest an unrelated option.
	if distance <= max(1, len(unknown)/3) {
		return " (did you mean '" + closest + "'?)"
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}

// editDistance is the number of letters to insert, delete, replace or
// swap with their neighbour to turn a into b (the optimal string
// alignment distance).
func editDistance(a, b string) int {
	// Three rows of the table: the last two and the one being filled.
	older, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			replace := prev[j-1]
			if a[i-1] != b[j-1] {
				replace++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, replace)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], older[j-2]+1)
			}
		}
		older, prev, cur = prev, cur, older
	}
	return prev[len(b)]
}

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
	options := b.BaseOptions()
	maps.Copy(options, own)
	return options.Parse(d, "provider "+b.Name)
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
