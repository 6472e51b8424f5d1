package jwtauth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// benchVerify measures one successful Verify, the cost every request in
// `auth jwt` mode pays.
func benchVerify(b *testing.B, cfg Config, tok string) {
	v := mustNew(b, cfg)
	if _, err := v.Verify(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyHS256(b *testing.B) {
	claims := with(validClaims(), "iss", "https://idp", "aud", "gw", "models", []string{"gpt-4o", "claude"})
	cfg := Config{Secret: testSecret, Issuer: "https://idp", Audience: "gw", ModelsClaim: "models"}
	benchVerify(b, cfg, sign(b, jwt.SigningMethodHS256, testSecret, claims, nil))
}

func BenchmarkVerifyES256(b *testing.B) {
	claims := with(validClaims(), "iss", "https://idp", "aud", "gw", "models", []string{"gpt-4o", "claude"})
	cfg := Config{
		JWKS:        jwks(b, ecJWK(b, &ecKey().PublicKey, map[string]any{"kid": "e1"}), rsaJWK(&rsaKey().PublicKey, map[string]any{"kid": "r1"})),
		Issuer:      "https://idp",
		Audience:    "gw",
		ModelsClaim: "models",
	}
	benchVerify(b, cfg, sign(b, jwt.SigningMethodES256, ecKey(), claims, map[string]any{"kid": "e1"}))
}
