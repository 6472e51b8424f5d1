package handler

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

type member struct {
	key, value string
}

func membersOf(t *testing.T, body []byte) []member {
	t.Helper()
	var out []member
	if err := jsonscan.Members(body, func(k []byte, s, e int) bool {
		out = append(out, member{string(k), string(body[s:e])})
		return true
	}); err != nil {
		t.Fatalf("members of %q: %v", body, err)
	}
	return out
}

// FuzzParseInbound checks that parseInbound and withModel never panic, and
// that a body they accept comes out of withModel as valid JSON whose
// `model`, read the way an upstream's JSON parser reads it, is the new name,
// with every other member byte-identical.
func FuzzParseInbound(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
		`{"messages":[],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"a","model":"b","max_tokens":12,"max_completion_tokens":3}`,
		`{"model":null}`,
		` { } `,
		`{"model":1}`,
		`{"stream":"yes"}`,
		`[1,2]`,
		`{"model":"x\u0000y","n":-1,"max_tokens":1e400}`,
		"{\"model\":\"\xff\"}",
	} {
		f.Add([]byte(s), "upstream-model")
	}
	f.Fuzz(func(t *testing.T, body []byte, name string) {
		in, perr := parseInbound(body)
		if perr != nil {
			if perr.Status != http.StatusBadRequest {
				t.Fatalf("parse error status %d", perr.Status)
			}
			return
		}
		out, err := in.withModel(name)
		if err != nil {
			t.Fatalf("withModel(%q) of accepted body %q: %v", name, body, err)
		}
		if !json.Valid(out) {
			t.Fatalf("withModel(%q) of %q gave invalid JSON %q", name, body, out)
		}
		// The upstream reads the body with an ordinary JSON parser: keys
		// unescaped, the last duplicate winning.
		var decoded map[string]json.RawMessage
		if err := json.Unmarshal(out, &decoded); err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
		var got, want string
		if err := json.Unmarshal(decoded["model"], &got); err != nil {
			t.Fatalf("model of %q is not a string: %v", out, err)
		}
		q, _ := json.Marshal(name)
		_ = json.Unmarshal(q, &want) // the name as JSON carries it (invalid UTF-8 replaced)
		if got != want {
			t.Fatalf("withModel(%q) of %q: the upstream reads model %q", name, body, got)
		}
		if in.stream {
			var s bool
			if err := json.Unmarshal(decoded["stream"], &s); err != nil || !s {
				t.Fatalf("gateway reads stream=true, upstream reads %s in %q", decoded["stream"], out)
			}
		} else if raw, ok := decoded["stream"]; ok {
			var s bool
			if json.Unmarshal(raw, &s) == nil && s {
				t.Fatalf("gateway reads stream=false, upstream reads true in %q", out)
			}
		}
		// Every member but the rewritten `model` is byte-identical.
		before, after := membersOf(t, body), membersOf(t, out)
		last := -1
		for i, m := range before {
			if m.key == "model" {
				last = i
			}
		}
		if last < 0 && !bytes.Equal(out, body) {
			if len(after) != len(before)+1 || after[0].key != "model" {
				t.Fatalf("withModel(%q) of %q added members wrongly: %q", name, body, out)
			}
			after = after[1:]
		} else if len(after) != len(before) {
			t.Fatalf("withModel(%q) of %q changed the member count: %q", name, body, out)
		}
		for i := range before {
			if i == last {
				continue
			}
			if before[i] != after[i] {
				t.Fatalf("withModel(%q) of %q changed member %d: %q -> %q", name, body, i, before[i], after[i])
			}
		}
	})
}

// FuzzPresentedKey checks that reading the caller's key never panics and
// never yields a key with a control character (CR/LF above all), whatever
// the headers hold.
func FuzzPresentedKey(f *testing.F) {
	for _, s := range [][3]string{
		{"Bearer sk-1", "", ""},
		{"Bearer", "", ""},
		{"Bearer  x", "", ""},
		{"bearer x", "", ""},
		{"Basic dXNlcjpwYXNz", "azure-key", ""},
		{"", "", "anthropic-key"},
		{"Bearer " + strings.Repeat("k", 100), "", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, authorization, apiKey, xAPIKey string) {
		r, _ := http.NewRequest(http.MethodPost, "http://gateway/v1/chat/completions", nil)
		// Set the map directly: the fuzzed values need not be valid on the wire.
		if authorization != "" {
			r.Header["Authorization"] = []string{authorization}
		}
		if apiKey != "" {
			r.Header["Api-Key"] = []string{apiKey}
		}
		if xAPIKey != "" {
			r.Header["X-Api-Key"] = []string{xAPIKey}
		}
		key := presentedKey(r)
		if strings.ContainsAny(key, "\r\n") {
			t.Fatalf("presentedKey returned %q with CR/LF", key)
		}
		for _, c := range []byte(key) {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("presentedKey returned %q with a control character", key)
			}
		}
		if key != strings.TrimSpace(key) {
			t.Fatalf("presentedKey returned %q with surrounding space", key)
		}
		// The authenticators must not panic on it either.
		_, _ = NewKeyAuth(nil).Authenticate(r)
		_, _ = PassthroughAuth{}.Authenticate(r)
	})
}

func TestDuplicateReadMembersAreRefused(t *testing.T) {
	for _, body := range []string{
		`{"model":"evil","model":"allowed","messages":[]}`,
		`{"stream":false,"messages":[],"stream":true}`,
	} {
		if _, perr := parseInbound([]byte(body)); perr == nil || perr.Code != "invalid_request_body" {
			t.Errorf("%s: %v, want 400 invalid_request_body", body, perr)
		}
	}
	if _, perr := parseInbound([]byte(`{"model":"m","messages":[],"temperature":0,"messages2":1}`)); perr != nil {
		t.Errorf("a plain body was refused: %v", perr)
	}
}
