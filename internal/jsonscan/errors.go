package jsonscan

import "strconv"

// syntaxError carries the offset of the offending byte so a caller logging
// a rejected body can point at the problem without re-parsing it.
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string {
	return "jsonscan: " + e.msg + " at offset " + strconv.Itoa(e.off)
}

func errEOF(off int) error {
	return &syntaxError{msg: "unexpected end of JSON input", off: off}
}

// errAt describes buf[i], or truncation when i is past the end, so callers
// never have to bounds-check before reporting.
func errAt(buf []byte, i int, context string) error {
	if i >= len(buf) {
		return errEOF(i)
	}
	return &syntaxError{msg: "invalid character " + quoteChar(buf[i]) + " " + context, off: i}
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(rune(c)) + "'"
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}
