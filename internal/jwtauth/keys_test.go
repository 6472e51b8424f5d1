package jwtauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	rsaPub := &rsaKey().PublicKey
	ecPub := &ecKey().PublicKey
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(ecKey())
	if err != nil {
		t.Fatal(err)
	}
	offCurve := ecJWK(t, ecPub, map[string]any{"kid": "e1"})
	offCurve["y"] = offCurve["x"]

	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no key source", Config{}, "exactly one"},
		{"two key sources", Config{Secret: testSecret, PublicKeyPEM: pkixPEM(t, rsaPub)}, "exactly one"},
		{"negative leeway", Config{Secret: testSecret, Leeway: -time.Second}, "leeway"},
		{"short secret", Config{Secret: []byte("secret")}, "at least 32 bytes"},
		{"not PEM", Config{PublicKeyPEM: []byte("not a key")}, "no PEM block"},
		{"private key PEM", Config{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})}, "unsupported PEM block"},
		{"garbage in PEM", Config{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")})}, "public key"},
		{"ed25519 key", Config{PublicKeyPEM: pkixPEM(t, edPub)}, "unsupported key type"},
		{"weak RSA key", Config{PublicKeyPEM: pkixPEM(t, &mustRSA(1024).PublicKey)}, "need at least 2048"},
		{"JWKS not JSON", Config{JWKS: []byte("{")}, "jwks"},
		{"JWKS without keys", Config{JWKS: []byte(`{"keys":[]}`)}, "no usable signing key"},
		{"JWKS of unusable keys only", Config{JWKS: jwks(t,
			rsaJWK(rsaPub, map[string]any{"use": "enc"}),
			map[string]any{"kty": "oct", "k": b64(testSecret)},
			ecJWK(t, ecPub, map[string]any{"alg": "RS256"}),
			rsaJWK(&mustRSA(1024).PublicKey, nil),
			map[string]any{"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"},
		)}, "no usable signing key"},
		{"JWKS duplicate kid", Config{JWKS: jwks(t,
			rsaJWK(rsaPub, map[string]any{"kid": "k"}),
			ecJWK(t, ecPub, map[string]any{"kid": "k"}),
		)}, `duplicate kid "k"`},
		{"JWKS point off curve", Config{JWKS: jwks(t, offCurve)}, "ec key"},
		{"JWKS coordinate too long", Config{JWKS: jwks(t, ecJWK(t, ecPub, map[string]any{"x": b64(make([]byte, 33))}))}, "longer than 32 bytes"},
		{"JWKS RSA without n", Config{JWKS: jwks(t, map[string]any{"kty": "RSA", "e": "AQAB"})}, "missing n"},
		{"JWKS RSA even exponent", Config{JWKS: jwks(t, rsaJWK(rsaPub, map[string]any{"e": b64([]byte{2})}))}, "invalid rsa exponent"},
		{"JWKS RSA huge exponent", Config{JWKS: jwks(t, rsaJWK(rsaPub, map[string]any{"e": b64([]byte{1, 0, 0, 0, 1})}))}, "too large"},
		{"JWKS bad base64", Config{JWKS: jwks(t, rsaJWK(rsaPub, map[string]any{"n": "!!"}))}, "decode n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(tt.cfg)
			if err == nil {
				t.Fatalf("New = %v, want error containing %q", v, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "jwtauth: ") {
				t.Fatalf("New error = %q, want it prefixed and containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestKeyMethodsFitKeyType(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"secret", Config{Secret: testSecret}, "HS256 HS384 HS512"},
		{"RSA", Config{PublicKeyPEM: pkixPEM(t, &rsaKey().PublicKey)}, "RS256 RS384 RS512 PS256 PS384 PS512"},
		{"P-256", Config{PublicKeyPEM: pkixPEM(t, &ecKey().PublicKey)}, "ES256"},
		{"P-384", Config{PublicKeyPEM: pkixPEM(t, &ec384Key().PublicKey)}, "ES384"},
		{"JWKS pinned and unpinned", Config{JWKS: jwks(t,
			rsaJWK(&rsaKey().PublicKey, map[string]any{"kid": "r", "alg": "PS384"}),
			ecJWK(t, &ecKey().PublicKey, map[string]any{"kid": "e"}),
		)}, "PS384 ES256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(mustNew(t, tt.cfg).methods, " "); got != tt.want {
				t.Fatalf("methods = %q, want %q", got, tt.want)
			}
		})
	}
}
