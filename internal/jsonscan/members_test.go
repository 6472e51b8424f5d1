package jsonscan

import (
	"strings"
	"testing"
)

type member struct{ key, value string }

func collect(t *testing.T, obj string) ([]member, error) {
	t.Helper()
	var got []member
	err := Members([]byte(obj), func(k []byte, s, e int) bool {
		got = append(got, member{string(k), obj[s:e]})
		return true
	})
	return got, err
}

func TestMembers(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []member
		wantErr bool
	}{
		{"empty", `{}`, nil, false},
		{"empty with spaces", " { \n } \n", nil, false},
		{"simple", `{"a":1,"b":"x"}`, []member{{"a", "1"}, {"b", `"x"`}}, false},
		{"spaces around", ` { "a" : [ 1 ] , "b" : {"c":2} } `, []member{{"a", "[ 1 ]"}, {"b", `{"c":2}`}}, false},
		{"raw escaped key", `{"a\"b":true,"\u0061":null}`, []member{{`a\"b`, "true"}, {`\u0061`, "null"}}, false},
		{"duplicates kept in order", `{"a":1,"a":2}`, []member{{"a", "1"}, {"a", "2"}}, false},

		{"not object", `[1]`, nil, true},
		{"empty input", ``, nil, true},
		{"string", `"a"`, nil, true},
		{"truncated", `{"a":1`, []member{{"a", "1"}}, true},
		{"truncated after comma", `{"a":1,`, []member{{"a", "1"}}, true},
		{"trailing comma", `{"a":1,}`, []member{{"a", "1"}}, true},
		{"bad value", `{"a":tru}`, nil, true},
		{"missing colon", `{"a" 1}`, nil, true},
		{"unquoted key", `{a:1}`, nil, true},
		{"trailing garbage", `{"a":1} x`, []member{{"a", "1"}}, true},
		{"two objects", `{}{}`, nil, true},
		{"array close", `{"a":1]`, []member{{"a", "1"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(t, tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("members = %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("members = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestMembersStopsEarly(t *testing.T) {
	// The garbage after the first member is never reached.
	in := []byte(`{"model":"gpt-4o","rest": nonsense`)
	var keys []string
	err := Members(in, func(k []byte, _, _ int) bool {
		keys = append(keys, string(k))
		return false
	})
	if err != nil || len(keys) != 1 || keys[0] != "model" {
		t.Fatalf("keys = %q, err = %v", keys, err)
	}
}

func TestFind(t *testing.T) {
	tests := []struct {
		name    string
		in, key string
		want    string
		ok      bool
		wantErr bool
	}{
		{"present", `{"model":"gpt-4o","stream":true}`, "stream", "true", true, false},
		{"first", `{"model":"gpt-4o","stream":true}`, "model", `"gpt-4o"`, true, false},
		{"absent", `{"model":"gpt-4o"}`, "stream", "", false, false},
		{"nested not top level", `{"a":{"stream":true}}`, "stream", "", false, false},
		{"in string not a key", `{"a":"\"stream\":true"}`, "stream", "", false, false},
		{"last duplicate wins", `{"n":1,"x":0,"n":2}`, "n", "2", true, false},
		{"raw comparison", `{"\u0061":1}`, "a", "", false, false},
		{"raw escaped key", `{"\u0061":1}`, `\u0061`, "1", true, false},
		{"prefix is not a match", `{"streaming":1}`, "stream", "", false, false},
		{"empty key", `{"":5}`, "", "5", true, false},
		{"whitespace in value span excluded", `{"a" :  [ 1 ]  }`, "a", "[ 1 ]", true, false},
		{"malformed after match", `{"a":1,"b":}`, "a", "", false, true},
		{"not an object", `[]`, "a", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, e, ok, err := Find([]byte(tt.in), tt.key)
			if (err != nil) != tt.wantErr || ok != tt.ok {
				t.Fatalf("Find = %d, %d, %v, %v; want ok=%v wantErr=%v", s, e, ok, err, tt.ok, tt.wantErr)
			}
			if ok && tt.in[s:e] != tt.want {
				t.Fatalf("value = %q, want %q", tt.in[s:e], tt.want)
			}
			if !ok && (s != 0 || e != 0) {
				t.Fatalf("offsets %d,%d returned with ok=false", s, e)
			}
		})
	}
}

func TestFindErrorMentionsOffset(t *testing.T) {
	_, _, _, err := Find([]byte(`{"a":1,"b":x}`), "a")
	if err == nil || !strings.Contains(err.Error(), "offset 11") {
		t.Fatalf("err = %v, want mention of offset 11", err)
	}
}

func TestEachMember(t *testing.T) {
	var seen []string
	all := EachMember([]byte(`{"a":1, "b" : [2]}`), func(key, value []byte) bool {
		seen = append(seen, string(key)+"="+string(value))
		return true
	})
	if !all || strings.Join(seen, " ") != "a=1 b=[2]" {
		t.Errorf("%v %v", all, seen)
	}
	if EachMember([]byte(`{"a":1,"b":2}`), func(key, _ []byte) bool { return string(key) != "a" }) {
		t.Error("a refused member is accepted")
	}
	if EachMember([]byte(`{"a":1,`), func(_, _ []byte) bool { return true }) {
		t.Error("a malformed object is accepted")
	}
}

func TestPlainKey(t *testing.T) {
	for key, plain := range map[string]bool{"id": true, "choices": false, "Choices": false, `ch\u006fices`: false, `x\"y`: false} {
		if PlainKey([]byte(key), "choices", "usage") != plain {
			t.Errorf("PlainKey(%s) = %v", key, !plain)
		}
	}
}
