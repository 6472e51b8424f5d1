package providertest

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

// encode is v's JSON as upstreams write it: HTML characters as they are.
func encode(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only the kit's own values are encoded
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// decode reads one JSON value, keeping numbers as written.
func decode(t testing.TB, doc []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	return v
}

// Canonical re-encodes JSON with sorted keys and no spacing, numbers as
// written, so that two documents compare by content alone.
func Canonical(t testing.TB, doc []byte) string {
	t.Helper()
	return encode(decode(t, doc))
}

// Pretty indents JSON for a golden file, keeping its member order.
func Pretty(t testing.TB, doc []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(doc), "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, doc)
	}
	return append(b.Bytes(), '\n')
}

// SetMembers replaces the values of top-level members of the object doc
// that are present, keeping the order: members are pairs of a key and a
// raw JSON value. Tests use it to pin what is random or clock-bound, like
// an answer's id and creation time.
func SetMembers(t testing.TB, doc []byte, members ...string) []byte {
	t.Helper()
	for i := 0; i+1 < len(members); i += 2 {
		_, _, ok, err := jsonscan.Find(doc, members[i])
		if err == nil && ok {
			doc, err = jsonscan.Set(doc, members[i], []byte(members[i+1]))
		}
		if err != nil {
			t.Fatalf("setting %s in %s: %v", members[i], doc, err)
		}
	}
	return doc
}
