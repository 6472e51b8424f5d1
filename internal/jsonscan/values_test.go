package jsonscan

import (
	"encoding/json"
	"testing"
)

func TestIsNull(t *testing.T) {
	for in, want := range map[string]bool{
		`null`: true, " null\n": true, "\tnull ": true,
		``: false, `nul`: false, `nulll`: false, `"null"`: false, `Null`: false, `n ull`: false, `0`: false,
	} {
		if got := IsNull([]byte(in)); got != want {
			t.Errorf("IsNull(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestIsEmptyArray(t *testing.T) {
	for in, want := range map[string]bool{
		`[]`: true, `[ ]`: true, " [\n\t] ": true, "[\r\n]": true,
		``: false, `[`: false, `]`: false, `][`: false, `[0]`: false, `[ null ]`: false, `{}`: false, `"[]"`: false, `[[]]`: false,
	} {
		if got := IsEmptyArray([]byte(in)); got != want {
			t.Errorf("IsEmptyArray(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestBool(t *testing.T) {
	tests := []struct {
		in    string
		v, ok bool
	}{
		{`true`, true, true},
		{` false `, false, true},
		{`True`, false, false},
		{`"true"`, false, false},
		{`1`, false, false},
		{`truee`, false, false},
		{``, false, false},
	}
	for _, tt := range tests {
		if v, ok := Bool([]byte(tt.in)); v != tt.v || ok != tt.ok {
			t.Errorf("Bool(%q) = %v, %v; want %v, %v", tt.in, v, ok, tt.v, tt.ok)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{`"gpt-4o"`, "gpt-4o", true},
		{` "a b" `, "a b", true},
		{`""`, "", true},
		{`"日本語"`, "日本語", true},
		{`"a\nb\t\"c\"\\"`, "a\nb\t\"c\"\\", true},
		{`"\u00e9\ud83d\ude00"`, "é😀", true},
		{`"\ud800"`, "\ufffd", true},
		{"\"\xff\"", "\ufffd", true},
		{`"\/"`, "/", true},

		{``, "", false},
		{`"`, "", false},
		{`"abc`, "", false},
		{`"a"b"`, "", false},
		{`"a" "b"`, "", false},
		{`abc`, "", false},
		{`123`, "", false},
		{`null`, "", false},
		{`"\x"`, "", false},
		{"\"a\nb\"", "", false},
	}
	for _, tt := range tests {
		s, ok := String([]byte(tt.in))
		if s != tt.want || ok != tt.ok {
			t.Errorf("String(%q) = %q, %v; want %q, %v", tt.in, s, ok, tt.want, tt.ok)
		}
		if tt.ok {
			var ref string
			if err := json.Unmarshal([]byte(tt.in), &ref); err != nil || ref != s {
				t.Errorf("String(%q) = %q; encoding/json gives %q, %v", tt.in, s, ref, err)
			}
		}
	}
}
