package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSkip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		at   int
		want int // -1 means an error is expected
	}{
		{"string", `"abc"`, 0, 5},
		{"empty string", `""`, 0, 2},
		{"leading whitespace", " \t\r\n\"a\" ", 0, 7},
		{"escapes", `"a\"b\\c\/\b\f\n\r\t"`, 0, 21},
		{"unicode escape", `"\u00e9\uD83D\uDE00"`, 0, 20},
		{"long string crosses words", `"` + strings.Repeat("abcdefgh", 9) + `"x`, 0, 74},
		{"quote at each word offset", `"0123456\"89"`, 0, 13},
		{"utf8 bytes", `"héllo wörld ✓ 日本語"`, 0, len(`"héllo wörld ✓ 日本語"`)},
		{"invalid utf8 accepted like json.Valid", "\"\xff\xfe\"", 0, 4},
		{"object", `{"a":1,"b":[true,false,null]}`, 0, 29},
		{"empty object", `{}`, 0, 2},
		{"empty object spaces", `{ }`, 0, 3},
		{"empty array", `[ ]`, 0, 3},
		{"nested", `[[[{"a":{"b":[]}}]]]`, 0, 20},
		{"value followed by more", `{"a":1} {"b":2}`, 0, 7},
		{"start mid buffer", `{"a":  [1, 2],"b":3}`, 5, 13},
		{"start at end", `abc`, 3, -1},
		{"zero", `0`, 0, 1},
		{"negative", `-12.5e+3`, 0, 8},
		{"exponent", `1E9`, 0, 3},
		{"number stops at delimiter", `12,`, 0, 2},
		{"true", `true`, 0, 4},
		{"false", `false`, 0, 5},
		{"null", `null`, 0, 4},

		{"empty input", ``, 0, -1},
		{"only spaces", `   `, 0, -1},
		{"negative offset", `1`, -1, -1},
		{"offset past end", `1`, 2, -1},
		{"unterminated string", `"abc`, 0, -1},
		{"unterminated after escape", `"abc\`, 0, -1},
		{"bad escape", `"\x"`, 0, -1},
		{"short unicode escape", `"\u12"`, 0, -1},
		{"truncated unicode escape", `"\u12`, 0, -1},
		{"control char in string", "\"a\nb\"", 0, -1},
		{"control char in long string", "\"abcdefghijk\x01lmnop\"", 0, -1},
		{"unterminated object", `{"a":1`, 0, -1},
		{"unterminated array", `[1,2`, 0, -1},
		{"trailing comma object", `{"a":1,}`, 0, -1},
		{"trailing comma array", `[1,]`, 0, -1},
		{"missing colon", `{"a" 1}`, 0, -1},
		{"missing value", `{"a":}`, 0, -1},
		{"unquoted key", `{a:1}`, 0, -1},
		{"mismatched close", `{"a":1]`, 0, -1},
		{"mismatched close array", `[1}`, 0, -1},
		{"leading zero is a separate token", `[01]`, 0, -1},
		{"plus sign", `+1`, 0, -1},
		{"bare minus", `-`, 0, -1},
		{"minus letter", `-a`, 0, -1},
		{"dot without digits", `1.`, 0, -1},
		{"dot letter", `1.e5`, 0, -1},
		{"leading dot", `.5`, 0, -1},
		{"exponent without digits", `1e`, 0, -1},
		{"exponent sign only", `1e+`, 0, -1},
		{"truncated true", `tru`, 0, -1},
		{"misspelled null", `nul1`, 0, -1},
		{"capitalised", `True`, 0, -1},
		{"single quotes", `'a'`, 0, -1},
		{"stray close", `}`, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Skip([]byte(tt.in), tt.at)
			if tt.want < 0 {
				if err == nil {
					t.Fatalf("Skip(%q, %d) = %d, want error", tt.in, tt.at, got)
				}
				if !strings.HasPrefix(err.Error(), "jsonscan: ") {
					t.Errorf("error %q lacks package context", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Skip(%q, %d) = %d, %v; want %d", tt.in, tt.at, got, err, tt.want)
			}
		})
	}
}

func TestSkipDepth(t *testing.T) {
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		in := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		_, err := Skip(in, 0)
		if valid := json.Valid(in); (err == nil) != valid {
			t.Errorf("depth %d: Skip err = %v, json.Valid = %v", depth, err, valid)
		}
	}
	obj := []byte(strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1))
	if _, err := Skip(obj, 0); err == nil {
		t.Error("over-deep object accepted")
	}
}

// TestSkipMatchesValid cross-checks every prefix of some documents, which
// exercises truncation at every possible byte.
func TestSkipMatchesValid(t *testing.T) {
	docs := []string{
		chatRequest,
		chatChunk,
		`{"a":[1,-2.5e10,"x\u0041\n",{"b":null}],"c":true,"d":false}`,
		`[0, 1.0, -0, 1e-7, "\"\\", [], {}]`,
	}
	for _, doc := range docs {
		for n := 0; n <= len(doc); n++ {
			in := []byte(doc[:n])
			end, err := Skip(in, 0)
			ok := err == nil && skipSpace(in, end) == len(in)
			if ok != json.Valid(in) {
				t.Fatalf("Skip on %q: end=%d err=%v; json.Valid=%v", in, end, err, !ok)
			}
		}
	}
}
