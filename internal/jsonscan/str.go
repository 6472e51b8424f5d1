package jsonscan

import (
	"encoding/binary"
	"math/bits"
)

// Message contents dominate request bodies, so string scanning is the hot
// loop. It inspects eight bytes per step and only drops to byte-at-a-time
// work at a quote, backslash or control character.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialMask flags the bytes of w (little-endian) that are '"', '\\' or
// below 0x20. Only the lowest flagged byte is reliable (borrows can set
// spurious flags above it), which is all the caller uses.
func specialMask(w uint64) uint64 {
	q := w ^ (lsb * '"')
	b := w ^ (lsb * '\\')
	return (((q - lsb) &^ q) | ((b - lsb) &^ b) | ((w - lsb*0x20) &^ w)) & msb
}

// skipString skips the string whose opening quote is at buf[i].
func skipString(buf []byte, i int) (int, error) {
	j := i + 1
	for j < len(buf) {
		if j+8 <= len(buf) {
			m := specialMask(binary.LittleEndian.Uint64(buf[j:]))
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3
		}
		switch c := buf[j]; {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			n, err := skipEscape(buf, j)
			if err != nil {
				return n, err
			}
			j = n
		case c < 0x20:
			return j, errAt(buf, j, "in string literal")
		default:
			j++
		}
	}
	return j, errEOF(j)
}

// skipEscape skips the escape sequence whose backslash is at buf[j].
func skipEscape(buf []byte, j int) (int, error) {
	j++
	if j >= len(buf) {
		return j, errEOF(j)
	}
	switch buf[j] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return j + 1, nil
	case 'u':
		for k := 1; k <= 4; k++ {
			if j+k >= len(buf) || !isHex(buf[j+k]) {
				return j + k, errAt(buf, j+k, "in \\u hexadecimal character escape")
			}
		}
		return j + 5, nil
	}
	return j, errAt(buf, j, "in string escape code")
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
