package jsonscan

import "bytes"

// Members calls fn for each top-level member of the JSON object in obj, in
// order, with the member's raw key (the bytes between the quotes, escapes
// not decoded) and the [start,end) offsets of its raw value in obj. It stops
// early, without error, when fn returns false. It returns an error when obj
// (after leading whitespace) is not an object, or is malformed up to the
// point scanned; a complete scan also rejects anything but whitespace after
// the closing brace.
func Members(obj []byte, fn func(key []byte, start, end int) bool) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errAt(obj, i, "looking for beginning of object")
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return checkTrailing(obj, i+1)
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return errAt(obj, i, "looking for beginning of object key string")
		}
		keyEnd, err := skipString(obj, i)
		if err != nil {
			return err
		}
		key := obj[i+1 : keyEnd-1]
		i = skipSpace(obj, keyEnd)
		if i >= len(obj) || obj[i] != ':' {
			return errAt(obj, i, "after object key")
		}
		start := skipSpace(obj, i+1)
		end, err := skipValue(obj, start, 1)
		if err != nil {
			return err
		}
		if !fn(key, start, end) {
			return nil
		}
		i = skipSpace(obj, end)
		if i >= len(obj) {
			return errEOF(i)
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return checkTrailing(obj, i+1)
		default:
			return errAt(obj, i, "after object key:value pair")
		}
	}
}

func checkTrailing(obj []byte, i int) error {
	if i = skipSpace(obj, i); i < len(obj) {
		return errAt(obj, i, "after top-level value")
	}
	return nil
}

// Find returns the [start,end) offsets of the raw value of the top-level
// member named key (compared to the raw key bytes), and ok=false when it is
// absent. When a key occurs more than once the last occurrence wins, as
// with encoding/json; that is also why the whole object is always scanned
// and validated.
func Find(obj []byte, key string) (start, end int, ok bool, err error) {
	err = Members(obj, func(k []byte, s, e int) bool {
		if string(k) == key {
			start, end, ok = s, e, true
		}
		return true
	})
	if err != nil {
		return 0, 0, false, err
	}
	return start, end, ok, nil
}

// EachMember calls fn with each member of the object obj and its raw
// value, and reports whether obj is an object and fn accepted every
// member; it stops at the first member fn refuses.
func EachMember(obj []byte, fn func(key, value []byte) bool) bool {
	accepted := true
	err := Members(obj, func(key []byte, start, end int) bool {
		accepted = fn(key, obj[start:end])
		return accepted
	})
	return err == nil && accepted
}

// PlainKey reports whether json.Unmarshal surely ignores the member key
// (a raw key, as Members gives it) when it reads into fields named known:
// key has no escape and matches none of them in another case.
func PlainKey(key []byte, known ...string) bool {
	if bytes.IndexByte(key, '\\') >= 0 {
		return false
	}
	for _, k := range known {
		if bytes.EqualFold(key, []byte(k)) {
			return false
		}
	}
	return true
}
