package jsonscan

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// trimSpace strips JSON whitespace, which is narrower than
// bytes.TrimSpace's Unicode notion of space.
func trimSpace(raw []byte) []byte {
	i := skipSpace(raw, 0)
	j := len(raw)
	for j > i && isSpace(raw[j-1]) {
		j--
	}
	return raw[i:j]
}

// IsNull reports whether raw (a value span, possibly with surrounding
// whitespace) is the literal null.
func IsNull(raw []byte) bool {
	return string(trimSpace(raw)) == "null"
}

// IsEmptyArray reports whether raw is an empty array; whitespace around it
// and between the brackets (`[ ]`) is allowed.
func IsEmptyArray(raw []byte) bool {
	t := trimSpace(raw)
	return len(t) >= 2 && t[0] == '[' && skipSpace(t, 1) == len(t)-1 && t[len(t)-1] == ']'
}

// String decodes raw as a JSON string; ok is false when raw is not exactly
// one valid string. Strings without escapes and with valid UTF-8 (nearly
// all of them) are converted directly; the rest go through encoding/json so
// escape and invalid UTF-8 handling match it exactly.
func String(raw []byte) (string, bool) {
	t := trimSpace(raw)
	if len(t) < 2 || t[0] != '"' {
		return "", false
	}
	if end, err := skipString(t, 0); err != nil || end != len(t) {
		return "", false
	}
	body := t[1 : len(t)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body), true
	}
	return unquote(t)
}

// unquote decodes a valid JSON string with encoding/json. It is String's
// slow path, apart so that the fast one does not allocate the result
// variable encoding/json writes through.
func unquote(t []byte) (string, bool) {
	var s string
	if err := json.Unmarshal(t, &s); err != nil {
		return "", false
	}
	return s, true
}

// Bool returns the value of a JSON boolean; ok is false when raw is not
// true or false.
func Bool(raw []byte) (v bool, ok bool) {
	switch string(trimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
