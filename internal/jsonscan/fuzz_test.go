package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
)

var fuzzSeeds = []string{
	chatRequest,
	chatChunk,
	`{}`,
	`{"a":1,"a":2}`,
	`{"\u0061":1,"a":2}`,
	`{"a":[1,{"b":"\"}"}],"c":-0.5e-3}`,
	`{"a":"\ud83d\ude00","b":"\xff"}`,
	`[1,2]`,
	`{"a":1`,
	`"str"`,
	`nul`,
	`null`, // encoding/json decodes null into a map; Members must reject it
}

// FuzzSkip checks that Skip never panics and accepts exactly what
// json.Valid accepts.
func FuzzSkip(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, in []byte, at int) {
		if end, err := Skip(in, at); err == nil && (end < at || end > len(in)) {
			t.Fatalf("Skip(%q, %d) = %d out of range", in, at, end)
		}
		end, err := Skip(in, 0)
		ok := err == nil && skipSpace(in, end) == len(in)
		if ok != json.Valid(in) {
			t.Fatalf("Skip(%q) end=%d err=%v, but json.Valid=%v", in, end, err, !ok)
		}
	})
}

// FuzzMembers checks Members and Find against json.Unmarshal into a map of
// raw messages.
func FuzzMembers(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var got map[string]json.RawMessage
		rawLast := map[string][]byte{} // what Find must report per raw key
		err := Members(in, func(k []byte, s, e int) bool {
			if got == nil {
				got = map[string]json.RawMessage{}
			}
			got[decodeKey(t, k)] = in[s:e]
			rawLast[string(k)] = in[s:e]
			return true
		})
		var want map[string]json.RawMessage
		// Unmarshal also accepts null into a map, so check for '{' too.
		isObject := json.Valid(in) && bytes.HasPrefix(trimSpace(in), []byte("{")) &&
			json.Unmarshal(in, &want) == nil
		if !isObject {
			if err == nil {
				t.Fatalf("Members accepted %q, which is not a valid object", in)
			}
			return
		}
		if err != nil {
			t.Fatalf("Members(%q) = %v on a valid object", in, err)
		}
		if len(got) != len(want) {
			t.Fatalf("Members found %d distinct keys, json %d", len(got), len(want))
		}
		for k, w := range want {
			if !bytes.Equal(compact(t, got[k]), compact(t, w)) {
				t.Fatalf("key %q: Members %q, json %q", k, got[k], w)
			}
		}
		for k, v := range rawLast {
			s, e, ok, err := Find(in, k)
			if err != nil || !ok || !bytes.Equal(in[s:e], v) {
				t.Fatalf("Find(%q) = %q, %v, %v; want %q", k, in[s:e], ok, err, v)
			}
		}
	})
}

// FuzzSet checks that Set yields valid JSON that decodes to the original
// members plus the assigned one.
func FuzzSet(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "a", []byte(`{"x":1}`))
		f.Add([]byte(s), "stream", []byte(`true`))
	}
	f.Fuzz(func(t *testing.T, in []byte, key string, value []byte) {
		out, err := Set(in, key, value)
		var want map[string]json.RawMessage
		isObject := json.Valid(in) && bytes.HasPrefix(trimSpace(in), []byte("{")) &&
			json.Unmarshal(in, &want) == nil
		if !json.Valid(value) || !isObject {
			if err == nil {
				t.Fatalf("Set(%q, %q, %q) succeeded on invalid input", in, key, value)
			}
			return
		}
		if err != nil {
			// Only a key that cannot stand verbatim between quotes may fail.
			if json.Valid([]byte(`"` + key + `"`)) {
				t.Fatalf("Set(%q, %q, %q) = %v", in, key, value, err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Set produced invalid JSON %q", out)
		}
		dk := decodeKey(t, []byte(key))
		// Keys are compared raw, so a differently escaped spelling of the
		// same name stays a separate member that encoding/json merges.
		ambiguous := false
		Members(in, func(k []byte, _, _ int) bool {
			ambiguous = ambiguous || (string(k) != key && decodeKey(t, k) == dk)
			return true
		})
		if ambiguous {
			return
		}
		want[dk] = value
		var have map[string]json.RawMessage
		if err := json.Unmarshal(out, &have); err != nil {
			t.Fatalf("Set result %q does not decode: %v", out, err)
		}
		if len(have) != len(want) {
			t.Fatalf("Set result has %d keys, want %d: %q", len(have), len(want), out)
		}
		for k, w := range want {
			if !bytes.Equal(compact(t, have[k]), compact(t, w)) {
				t.Fatalf("key %q = %q, want %q in %q", k, have[k], w, out)
			}
		}
	})
}

// FuzzString checks String against json.Unmarshal into a string.
func FuzzString(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u00e9"`, "\"\xff\"", `"a\"`, ` "x" `, `1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s, ok := String(in)
		var want string
		wantOK := json.Unmarshal(in, &want) == nil && bytes.HasPrefix(trimSpace(in), []byte(`"`))
		if ok != wantOK || s != want {
			t.Fatalf("String(%q) = %q, %v; json %q, %v", in, s, ok, want, wantOK)
		}
	})
}

func decodeKey(t *testing.T, raw []byte) string {
	var s string
	if err := json.Unmarshal(append(append([]byte(`"`), raw...), '"'), &s); err != nil {
		t.Fatalf("key %q does not decode: %v", raw, err)
	}
	return s
}

func compact(t *testing.T, raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compact %q: %v", raw, err)
	}
	return b.Bytes()
}
