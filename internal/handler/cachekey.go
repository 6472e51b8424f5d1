package handler

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"sync"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// unkeyedMembers are the top-level request members that do not change the
// answer: how it is delivered, and who the end user is. A streamed and a
// non-streamed ask of the same question share an entry.
var unkeyedMembers = [...]string{"stream", "stream_options", "user"}

var errNotJSON = errors.New("malformed JSON array")

// appendCanonical appends the JSON value v in a canonical form: object
// members sorted by name, whitespace between tokens removed. Strings and
// numbers stay as the client wrote them, so `1.0` and `1` are different
// questions, as they may be to the upstream. top drops unkeyedMembers.
func appendCanonical(dst, v []byte, top bool) ([]byte, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return dst, nil
	}
	switch v[0] {
	case '{':
		type member struct {
			key        []byte
			start, end int
		}
		// Room for the members of most objects of a request without
		// going to the heap.
		var room [16]member
		members := room[:0]
		err := jsonscan.Members(v, func(key []byte, start, end int) bool {
			if !top || !slices.Contains(unkeyedMembers[:], string(key)) {
				members = append(members, member{key, start, end})
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		slices.SortFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
		dst = append(dst, '{')
		for i, m := range members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = append(dst, m.key...)
			dst = append(dst, '"', ':')
			if dst, err = appendCanonical(dst, v[m.start:m.end], false); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case '[':
		dst = append(dst, '[')
		i := skipSpace(v, 1)
		for first := true; i < len(v) && v[i] != ']'; first = false {
			if !first {
				if v[i] != ',' {
					return nil, errNotJSON
				}
				i = skipSpace(v, i+1)
				dst = append(dst, ',')
			}
			end, err := jsonscan.Skip(v, i)
			if err != nil {
				return nil, err
			}
			if dst, err = appendCanonical(dst, v[i:end], false); err != nil {
				return nil, err
			}
			i = skipSpace(v, end)
		}
		return append(dst, ']'), nil
	}
	return append(dst, v...), nil
}

// keyBuffers hold the parts of a key while it is hashed.
var keyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// cacheKey is the key of an answer: who may see it, the operation, the
// public model, the targets that serve it, and the canonical request,
// hashed. The parts are length-prefixed so that no two differ only in
// where one ends.
func cacheKey(scope, op, model, targets string, body []byte) (string, error) {
	buf := keyBuffers.Get().(*[]byte)
	defer keyBuffers.Put(buf)
	b := (*buf)[:0]
	for _, part := range [...]string{scope, op, model, targets} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(part)))
		b = append(b, part...)
	}
	b, err := appendCanonical(b, body, true)
	if err != nil {
		return "", err
	}
	*buf = b
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
