package handler

import (
	"bytes"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// chunkFilter applies the gateway's usage policy to a stream's chunks. The
// gateway always asks upstreams for usage, so it can meter every request;
// the client sees usage only when it asked with
// `stream_options.include_usage`, and then exactly once, in a final chunk
// with empty `choices`. Chunks with empty choices and no usage, such as
// Azure's prompt-filter chunk, carry nothing a client can use and are
// dropped: a client's `choices[0]` loop must never meet them.
type chunkFilter struct {
	includeUsage bool
	usage        usage
	usageSent    bool
	// The identity of the stream and its last usage, kept only when the
	// client asked for usage, to write a usage chunk the upstream left out.
	id, object, created, model, lastUsage []byte
	// opening is the start of the last plain delta, up to and including
	// the `[{` that opens its choices. A stream's chunks nearly all begin
	// alike (id, object, created, model, then choices), so a chunk that
	// begins with it needs no search for its choices, and its usage is
	// searched for only after it.
	opening []byte
}

var (
	null       = []byte("null")
	choicesKey = []byte(`"choices"`)
)

// nullUsageTail ends every chunk but the last of an OpenAI stream that
// was asked for usage.
var nullUsageTail = []byte(`,"usage":null}`)

// apply returns the payload to send for chunk and whether to send it. It
// may shorten chunk in place.
func (f *chunkFilter) apply(chunk []byte) ([]byte, bool) {
	// Nearly every chunk is a plain delta: choices, and no usage or a null
	// one last. Those need no scan once the stream's identity is known. A
	// `"usage"` cannot occur inside a JSON string, whose quotes are
	// escaped: a chunk without it has no usage member at any depth, and
	// one whose only `"usage"` is in a null member closing the chunk has
	// it at the top level.
	if f.identityKnown() && f.opensLikeTheLast(chunk) {
		switch u := f.usageAfterOpening(chunk); {
		case u < 0:
			return chunk, true
		case u == len(chunk)-len(nullUsageTail)+1 && bytes.HasSuffix(chunk, nullUsageTail):
			if f.includeUsage {
				return chunk, true
			}
			// The gateway asked for usage, not the client: the chunk
			// goes out as the upstream writes it when not asked.
			chunk[u-1] = '}'
			return chunk[:u], true
		default:
			if end, ok := f.nullUsageAfterChoices(chunk, u); ok {
				if f.includeUsage {
					return chunk, true
				}
				// From the comma after the member on.
				return append(chunk[:end], chunk[end+len(nullUsageMember)-1:]...), true
			}
		}
	}
	return f.scan(chunk)
}

// nullUsageMember is how OpenAI writes the null usage of a chunk it was
// asked to report usage for, when other members (its "obfuscation")
// follow.
var nullUsageMember = []byte(`,"usage":null,`)

// nullUsageAfterChoices finds the null usage member that comes right
// after the chunk's choices list, where OpenAI writes it, and returns
// where it starts; u is where the chunk's first `"usage"` after
// f.opening is. It reports false for any other chunk, which the full
// scan then handles.
func (f *chunkFilter) nullUsageAfterChoices(chunk []byte, u int) (int, bool) {
	if len(f.opening) == 0 || !bytes.HasPrefix(chunk, f.opening) {
		return 0, false
	}
	end, err := jsonscan.Skip(chunk, bytes.LastIndexByte(f.opening, '['))
	if err != nil || u != end+1 || !bytes.HasPrefix(chunk[end:], nullUsageMember) {
		return 0, false
	}
	if indexBy(chunk[end+len(nullUsageMember):], usageKey, usagePivot) >= 0 {
		return 0, false // another usage member: the scan reads them all
	}
	return end, true
}

// scan applies the policy to any chunk, reading all its members.
func (f *chunkFilter) scan(chunk []byte) ([]byte, bool) {
	var choicesEmpty, haveUsage, nullUsage bool
	usageStart, usageEnd := -1, -1
	_ = jsonscan.Members(chunk, func(key []byte, start, end int) bool {
		switch string(key) {
		case "choices":
			choicesEmpty = jsonscan.IsEmptyArray(chunk[start:end]) || jsonscan.IsNull(chunk[start:end])
		case "usage":
			if jsonscan.IsNull(chunk[start:end]) {
				nullUsage = true
			} else {
				haveUsage, usageStart, usageEnd = true, start, end
			}
		case "id", "object", "created", "model":
			if f.includeUsage {
				f.remember(string(key), chunk[start:end])
			}
		}
		return true
	})
	if haveUsage {
		raw := chunk[usageStart:usageEnd]
		if u := parseUsage(raw); u.known {
			f.usage = u
			if f.includeUsage {
				f.lastUsage = append(f.lastUsage[:0], raw...)
			}
		}
	}
	switch {
	case choicesEmpty && haveUsage && f.includeUsage && !f.usageSent:
		f.usageSent = true
		return chunk, true
	case choicesEmpty:
		return nil, false
	case (haveUsage || nullUsage) && !f.includeUsage:
		// Asked for by the gateway, or sent unasked (some servers put
		// usage on the finish chunk): either way not the client's.
		if out, _, err := jsonscan.Remove(chunk, "usage"); err == nil {
			return out, true
		}
	}
	return chunk, true
}

// opensLikeTheLast reports whether the chunk's choices list (the first
// "choices" member: no other object of a chunk has one) has an entry,
// comparing the chunk's start with the last plain delta's before
// searching it.
func (f *chunkFilter) opensLikeTheLast(chunk []byte) bool {
	if len(f.opening) > 0 && bytes.HasPrefix(chunk, f.opening) {
		return true
	}
	end := openingEnd(chunk)
	if end < 0 {
		return false
	}
	// The opening holds no "usage": usageAfterOpening searches the rest.
	if indexBy(chunk[:end], usageKey, usagePivot) < 0 {
		f.opening = append(f.opening[:0], chunk[:end]...)
	} else {
		f.opening = nil
	}
	return true
}

// usageAfterOpening is indexBy(chunk, usageKey), for a chunk that begins
// with f.opening, which has none.
func (f *chunkFilter) usageAfterOpening(chunk []byte) int {
	u := indexBy(chunk[len(f.opening):], usageKey, usagePivot)
	if u >= 0 {
		u += len(f.opening)
	}
	return u
}

// usagePivot is the byte of usageKey that indexBy looks for: its 'g' is
// rarer in chunks than its 'u'.
const usagePivot = 4

// openingEnd returns the index just past the `[{` that opens the chunk's
// choices list (the first "choices" member), or -1 when the list is
// missing or empty.
func openingEnd(chunk []byte) int {
	i := indexBy(chunk, choicesKey, 2)
	if i < 0 {
		return -1
	}
	i = skipSpace(chunk, i+len(choicesKey))
	if i == len(chunk) || chunk[i] != ':' {
		return -1
	}
	i = skipSpace(chunk, i+1)
	if i == len(chunk) || chunk[i] != '[' {
		return -1
	}
	i = skipSpace(chunk, i+1)
	if i == len(chunk) || chunk[i] != '{' {
		return -1
	}
	return i + 1
}

// skipSpace returns the index of the first byte from i on that is not
// JSON whitespace, or len(b).
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// indexBy is bytes.Index(b, pattern), found by looking for pattern's
// byte at k, which should be rare in b: JSON's many quotes make the
// general search slow for patterns that start with one.
func indexBy(b, pattern []byte, k int) int {
	c := pattern[k]
	for i := k; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], c)
		if j < 0 {
			return -1
		}
		i += j
		if start := i - k; start+len(pattern) <= len(b) && bytes.Equal(b[start:start+len(pattern)], pattern) {
			return start
		}
	}
	return -1
}

// identityKnown reports whether the identity fields a usage chunk of the
// gateway's own would need are known, or not needed.
func (f *chunkFilter) identityKnown() bool {
	return !f.includeUsage || (f.id != nil && f.object != nil && f.created != nil && f.model != nil)
}

// remember keeps the identity fields of the first real chunk; Azure's
// first chunk has empty ones.
func (f *chunkFilter) remember(key string, raw []byte) {
	if s, ok := jsonscan.String(raw); ok && s == "" {
		return
	}
	switch key {
	case "id":
		if f.id == nil {
			f.id = append([]byte(nil), raw...)
		}
	case "object":
		if f.object == nil {
			f.object = append([]byte(nil), raw...)
		}
	case "created":
		if f.created == nil && string(raw) != "0" {
			f.created = append([]byte(nil), raw...)
		}
	case "model":
		if f.model == nil {
			f.model = append([]byte(nil), raw...)
		}
	}
}

// missingUsageChunk returns the usage chunk the client asked for when the
// upstream reported usage only on other chunks, or nil.
func (f *chunkFilter) missingUsageChunk() []byte {
	if !f.includeUsage || f.usageSent || f.lastUsage == nil || f.id == nil {
		return nil
	}
	b := append([]byte(`{"id":`), f.id...)
	b = append(b, `,"object":`...)
	b = append(b, orDefault(f.object, `"chat.completion.chunk"`)...)
	b = append(b, `,"created":`...)
	b = append(b, orDefault(f.created, "0")...)
	b = append(b, `,"model":`...)
	b = append(b, orDefault(f.model, `""`)...)
	b = append(b, `,"choices":[],"usage":`...)
	b = append(b, f.lastUsage...)
	return append(b, '}')
}

func orDefault(raw []byte, def string) []byte {
	if raw == nil {
		return []byte(def)
	}
	return raw
}
