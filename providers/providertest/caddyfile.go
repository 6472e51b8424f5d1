package providertest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// CheckCaddyfile parses the provider block input into p. With wantErr set
// the parse must fail with an error that mentions it; otherwise it must
// succeed and p's JSON config must equal want's (a provider value, or its
// JSON as a json.RawMessage).
func CheckCaddyfile(t testing.TB, input string, p caddyfile.Unmarshaler, want any, wantErr string) {
	t.Helper()
	err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want one mentioning %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if Canonical(t, got) != Canonical(t, wantJSON) {
		t.Errorf("config = %s\nwant %s", got, wantJSON)
	}
}
