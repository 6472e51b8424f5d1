package jsonscan

import "fmt"

// maxDepth matches encoding/json's nesting limit, so everything json.Valid
// accepts is accepted here, and hostile input cannot recurse without bound.
const maxDepth = 10000

// Skip returns the index just past the JSON value that starts at buf[i]
// (leading whitespace at i is skipped). It validates the structure it
// crosses (string escapes, nesting, number grammar, literals) and returns
// an error for malformed or truncated input. It never panics, whatever buf
// and i are.
func Skip(buf []byte, i int) (int, error) {
	if i < 0 || i > len(buf) {
		return i, fmt.Errorf("jsonscan: offset %d out of range [0,%d]", i, len(buf))
	}
	return skipValue(buf, i, 0)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t'
}

func skipSpace(buf []byte, i int) int {
	for i < len(buf) && isSpace(buf[i]) {
		i++
	}
	return i
}

// skipValue skips the value at buf[i]; depth counts the containers already
// open around it.
func skipValue(buf []byte, i, depth int) (int, error) {
	i = skipSpace(buf, i)
	if i >= len(buf) {
		return i, errEOF(i)
	}
	switch buf[i] {
	case '"':
		return skipString(buf, i)
	case '{':
		return skipObject(buf, i, depth+1)
	case '[':
		return skipArray(buf, i, depth+1)
	case 't':
		return skipLiteral(buf, i, "true")
	case 'f':
		return skipLiteral(buf, i, "false")
	case 'n':
		return skipLiteral(buf, i, "null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return skipNumber(buf, i)
	}
	return i, errAt(buf, i, "looking for beginning of value")
}

func errDepth(i int) error {
	return &syntaxError{msg: "exceeded max depth", off: i}
}

// skipObject skips the object whose '{' is at buf[i].
func skipObject(buf []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, errDepth(i)
	}
	i = skipSpace(buf, i+1)
	if i < len(buf) && buf[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(buf) || buf[i] != '"' {
			return i, errAt(buf, i, "looking for beginning of object key string")
		}
		var err error
		if i, err = skipString(buf, i); err != nil {
			return i, err
		}
		i = skipSpace(buf, i)
		if i >= len(buf) || buf[i] != ':' {
			return i, errAt(buf, i, "after object key")
		}
		if i, err = skipValue(buf, i+1, depth); err != nil {
			return i, err
		}
		i = skipSpace(buf, i)
		if i >= len(buf) {
			return i, errEOF(i)
		}
		switch buf[i] {
		case ',':
			i = skipSpace(buf, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, errAt(buf, i, "after object key:value pair")
		}
	}
}

// skipArray skips the array whose '[' is at buf[i].
func skipArray(buf []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, errDepth(i)
	}
	i = skipSpace(buf, i+1)
	if i < len(buf) && buf[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = skipValue(buf, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(buf, i)
		if i >= len(buf) {
			return i, errEOF(i)
		}
		switch buf[i] {
		case ',':
			i++
		case ']':
			return i + 1, nil
		default:
			return i, errAt(buf, i, "after array element")
		}
	}
}

func skipLiteral(buf []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(buf) || buf[i+k] != lit[k] {
			return i + k, errAt(buf, i+k, "in literal "+lit)
		}
	}
	return i + len(lit), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipNumber follows the JSON number grammar exactly, rejecting forms Go's
// strconv would accept (leading zeros, "1.", ".5", "+1").
func skipNumber(buf []byte, i int) (int, error) {
	if buf[i] == '-' {
		i++
	}
	switch {
	case i >= len(buf):
		return i, errEOF(i)
	case buf[i] == '0':
		i++
	case isDigit(buf[i]):
		i = skipDigits(buf, i+1)
	default:
		return i, errAt(buf, i, "in numeric literal")
	}
	if i < len(buf) && buf[i] == '.' {
		i++
		if i >= len(buf) || !isDigit(buf[i]) {
			return i, errAt(buf, i, "after decimal point in numeric literal")
		}
		i = skipDigits(buf, i+1)
	}
	if i < len(buf) && (buf[i] == 'e' || buf[i] == 'E') {
		i++
		if i < len(buf) && (buf[i] == '+' || buf[i] == '-') {
			i++
		}
		if i >= len(buf) || !isDigit(buf[i]) {
			return i, errAt(buf, i, "in exponent of numeric literal")
		}
		i = skipDigits(buf, i+1)
	}
	return i, nil
}

func skipDigits(buf []byte, i int) int {
	for i < len(buf) && isDigit(buf[i]) {
		i++
	}
	return i
}
