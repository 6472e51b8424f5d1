package jsonscan

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestReplace(t *testing.T) {
	obj := []byte(`{"a":1,"b":2}`)
	orig := bytes.Clone(obj)
	tests := []struct {
		start, end int
		value      string
		want       string
	}{
		{5, 6, `"x"`, `{"a":"x","b":2}`},
		{5, 6, ``, `{"a":,"b":2}`},
		{11, 12, `[1,2,3]`, `{"a":1,"b":[1,2,3]}`},
		{0, 0, ` `, ` {"a":1,"b":2}`},
		{13, 13, `!`, `{"a":1,"b":2}!`},
	}
	for _, tt := range tests {
		got := Replace(obj, tt.start, tt.end, []byte(tt.value))
		if string(got) != tt.want {
			t.Errorf("Replace(%d,%d,%q) = %q, want %q", tt.start, tt.end, tt.value, got, tt.want)
		}
	}
	if !bytes.Equal(obj, orig) {
		t.Fatalf("Replace modified its input: %q", obj)
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		name, in, key, value string
		want                 string
		wantErr              bool
	}{
		{"replace", `{"model":"a","stream":false}`, "stream", "true", `{"model":"a","stream":true}`, false},
		{"replace keeps spacing", `{ "model" : "a" , "n" : 1 }`, "model", `"b"`, `{ "model" : "b" , "n" : 1 }`, false},
		{"replace last duplicate", `{"n":1,"n":2}`, "n", "3", `{"n":1,"n":3}`, false},
		{"insert into empty", `{}`, "stream", "true", `{"stream":true}`, false},
		{"insert into empty spaced", ` { } `, "a", "1", ` {"a":1 } `, false},
		{"insert first", `{"model":"a"}`, "stream_options", `{"include_usage":true}`, `{"stream_options":{"include_usage":true},"model":"a"}`, false},
		{"insert keeps leading whitespace", "\n{\n\"a\":1}", "b", "2", "\n{\"b\":2,\n\"a\":1}", false},
		{"value with surrounding space", `{}`, "a", ` 1 `, `{"a": 1 }`, false},
		{"escaped key", `{}`, `a\"b`, "1", `{"a\"b":1}`, false},

		{"not object", `[1]`, "a", "1", "", true},
		{"malformed object", `{"a":`, "a", "1", "", true},
		{"empty value", `{}`, "a", ``, "", true},
		{"invalid value", `{}`, "a", `{"x":}`, "", true},
		{"two values", `{}`, "a", `1 2`, "", true},
		{"key with quote", `{}`, `a"b`, "1", "", true},
		{"key with control char", `{}`, "a\nb", "1", "", true},
		{"key with bad escape", `{}`, `a\`, "1", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got, err := Set(in, tt.key, []byte(tt.value))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Set err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if string(got) != tt.want {
				t.Fatalf("Set = %q, want %q", got, tt.want)
			}
			if string(in) != tt.in {
				t.Fatalf("Set modified its input: %q", in)
			}
			if !json.Valid(got) {
				t.Fatalf("Set produced invalid JSON %q", got)
			}
		})
	}
}

// TestSetMatchesUnmarshal checks Set against decoding, assigning and
// re-decoding with encoding/json.
func TestSetMatchesUnmarshal(t *testing.T) {
	for _, key := range []string{"model", "stream", "stream_options", "new"} {
		got, err := Set([]byte(chatRequest), key, []byte(`{"x":[1,2]}`))
		if err != nil {
			t.Fatal(err)
		}
		var want, have map[string]any
		if err := json.Unmarshal([]byte(chatRequest), &want); err != nil {
			t.Fatal(err)
		}
		want[key] = map[string]any{"x": []any{1.0, 2.0}}
		if err := json.Unmarshal(got, &have); err != nil {
			t.Fatalf("result does not decode: %v\n%s", err, got)
		}
		if !reflect.DeepEqual(have, want) {
			t.Fatalf("Set(%q) decoded to %v, want %v", key, have, want)
		}
	}
}

func TestRemove(t *testing.T) {
	for _, tc := range []struct{ in, key, want string }{
		{`{"a":1,"usage":null}`, "usage", `{"a":1}`},
		{`{"usage":null,"a":1}`, "usage", `{"a":1}`},
		{`{"usage":null}`, "usage", `{}`},
		{`{ "a" : 1 , "usage" : {"x":[1,2]} , "b" : 2 }`, "usage", `{ "a" : 1 , "b" : 2 }`},
		{`{"a":1 , "usage":null }`, "usage", `{"a":1  }`},
		{`{"usage":1,"a":{"usage":2},"usage":3}`, "usage", `{"a":{"usage":2}}`},
		{`{"a":1}`, "usage", `{"a":1}`},
	} {
		got, removed, err := Remove([]byte(tc.in), tc.key)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if string(got) != tc.want || removed != (tc.in != tc.want) {
			t.Errorf("Remove(%s) = %s, %v; want %s", tc.in, got, removed, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("Remove(%s) = %s is not valid JSON", tc.in, got)
		}
	}
	if _, _, err := Remove([]byte(`{"a":`), "a"); err == nil {
		t.Error("a malformed object was accepted")
	}
}
