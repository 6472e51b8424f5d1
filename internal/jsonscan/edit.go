package jsonscan

import "fmt"

// Replace returns a new slice equal to obj with obj[start:end] replaced by
// value; obj itself is left untouched so callers may still hold views into
// it. Like slicing, it panics when the offsets are out of range.
func Replace(obj []byte, start, end int, value []byte) []byte {
	out := make([]byte, 0, len(obj)-(end-start)+len(value))
	out = append(out, obj[:start]...)
	out = append(out, value...)
	return append(out, obj[end:]...)
}

// Set returns a copy of obj with the top-level member key set to the raw
// JSON value. An existing member (its last occurrence) has its value
// replaced in place; otherwise `"key":value` is inserted as the first
// member, right after '{', which needs no look-ahead and works for `{}` too.
// key is written verbatim between quotes, so it must already be a valid raw
// JSON string body. obj must be an object and value a single JSON value.
func Set(obj []byte, key string, value []byte) ([]byte, error) {
	if end, err := Skip(value, 0); err != nil || skipSpace(value, end) != len(value) {
		return nil, fmt.Errorf("jsonscan: set %q: value %.40q is not a single JSON value", key, value)
	}
	start, end, ok, err := Find(obj, key)
	if err != nil {
		return nil, err
	}
	if ok {
		return Replace(obj, start, end, value), nil
	}
	brace := skipSpace(obj, 0) // Find has checked obj[brace] == '{'
	empty := obj[skipSpace(obj, brace+1)] == '}'
	out := make([]byte, 0, len(obj)+len(key)+len(value)+4)
	out = append(out, obj[:brace+1]...)
	keyAt := len(out)
	out = append(out, '"')
	out = append(out, key...)
	out = append(out, '"', ':')
	// Checking the key where it landed avoids a separate validator.
	if e, err := skipString(out, keyAt); err != nil || e != keyAt+len(key)+2 {
		return nil, fmt.Errorf("jsonscan: set %q: key is not a valid raw JSON string", key)
	}
	out = append(out, value...)
	if !empty {
		out = append(out, ',')
	}
	return append(out, obj[brace+1:]...), nil
}

// Remove returns obj without its top-level members named key (compared to
// the raw key bytes), and whether there was one. The comma that separated
// a removed member from its neighbour goes with it, so the result is valid
// JSON whenever obj is. obj itself is left untouched.
func Remove(obj []byte, key string) ([]byte, bool, error) {
	type span struct{ start, end int }
	var cut []span
	err := Members(obj, func(k []byte, _, end int) bool {
		if string(k) == key {
			// k is obj's own bytes between the key's quotes.
			cut = append(cut, span{cap(obj) - cap(k) - 1, end})
		}
		return true
	})
	if err != nil || cut == nil {
		return obj, false, err
	}
	out := make([]byte, 0, len(obj))
	from := 0
	for _, c := range cut {
		start, end := c.start, c.end
		if next := skipSpace(obj, end); obj[next] == ',' {
			end = skipSpace(obj, next+1) // the member and the comma after it
		} else if prev := lastNonSpace(obj, start); obj[prev] == ',' && prev >= from {
			start = prev // the last member: the comma before it
		}
		out = append(out, obj[from:start]...)
		from = end
	}
	return append(out, obj[from:]...), true, nil
}

// lastNonSpace is the index of the last byte before i that is not JSON
// whitespace.
func lastNonSpace(b []byte, i int) int {
	for i--; i > 0 && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'); i-- {
	}
	return i
}
