package jwtauth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestVerifyRejects covers every way a token must fail, and that no error
// text, for logs or for clients, repeats any part of the token.
func TestVerifyRejects(t *testing.T) {
	rsaPub := &rsaKey().PublicKey
	ecPub := &ecKey().PublicKey
	rsaPEM := pkixPEM(t, rsaPub)
	ecPEM := pkixPEM(t, ecPub)
	hmacCfg := Config{Secret: testSecret}
	rsaCfg := Config{PublicKeyPEM: rsaPEM}
	ecCfg := Config{PublicKeyPEM: ecPEM}
	jwksDoc := jwks(t,
		rsaJWK(rsaPub, map[string]any{"kid": "r1", "alg": "RS256"}),
		rsaJWK(&otherRSAKey().PublicKey, map[string]any{"kid": "r2"}),
		ecJWK(t, ecPub, map[string]any{"kid": "e1"}),
	)
	jwksCfg := Config{JWKS: jwksDoc}
	past := time.Now().Add(-2 * time.Minute).Unix()
	future := time.Now().Add(2 * time.Minute).Unix()
	hs := func(c jwt.MapClaims) func(*testing.T) string {
		return func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, testSecret, c, nil) }
	}
	goodHS := sign(t, jwt.SigningMethodHS256, testSecret, validClaims(), nil)

	tests := []struct {
		name  string
		cfg   Config
		token func(t *testing.T) string
		want  error
	}{
		// Algorithm handling.
		{"alg none", hmacCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims(), nil)
		}, ErrAlgorithm},
		{"alg none against public key", rsaCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims(), nil)
		}, ErrAlgorithm},
		{"alg NONE spelled otherwise", hmacCfg, func(*testing.T) string {
			return rawToken(map[string]any{"alg": "NONE"}, validClaims(), "")
		}, ErrAlgorithm},
		{"alg missing", hmacCfg, func(*testing.T) string {
			return rawToken(map[string]any{"typ": "JWT"}, validClaims(), "c2lnbmF0dXJl")
		}, ErrAlgorithm},
		{"HS256 signed with RSA PEM as secret", rsaCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, rsaPEM, validClaims(), nil)
		}, ErrAlgorithm},
		{"HS256 signed with EC PEM as secret", ecCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, ecPEM, validClaims(), nil)
		}, ErrAlgorithm},
		{"HS256 signed with JWKS document as secret", jwksCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, jwksDoc, validClaims(), map[string]any{"kid": "r1"})
		}, ErrAlgorithm},
		{"RS256 against HMAC verifier", hmacCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey(), validClaims(), nil)
		}, ErrAlgorithm},
		{"ES256 against RSA key", rsaCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ecKey(), validClaims(), nil)
		}, ErrAlgorithm},
		{"RS256 against EC key", ecCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey(), validClaims(), nil)
		}, ErrAlgorithm},
		{"ES384 against P-256 key", ecCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES384, ec384Key(), validClaims(), nil)
		}, ErrAlgorithm},
		{"PS256 for JWKS key pinned to RS256", jwksCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodPS256, rsaKey(), validClaims(), map[string]any{"kid": "r1"})
		}, ErrAlgorithm},
		{"ES256 naming an RSA JWKS key", jwksCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ecKey(), validClaims(), map[string]any{"kid": "r2"})
		}, ErrAlgorithm},

		// Keys.
		{"HMAC with another secret", hmacCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-thirty-two-byt"), validClaims(), nil)
		}, ErrSignature},
		{"RSA with another key", rsaCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, otherRSAKey(), validClaims(), nil)
		}, ErrSignature},
		{"EC with another key", ecCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, otherECKey(), validClaims(), nil)
		}, ErrSignature},
		{"JWKS kid signed by another key", jwksCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, otherECKey(), validClaims(), map[string]any{"kid": "e1"})
		}, ErrSignature},
		{"tampered payload", hmacCfg, func(t *testing.T) string {
			parts := strings.Split(goodHS, ".")
			other := strings.Split(sign(t, jwt.SigningMethodHS256, testSecret, with(validClaims(), "sub", "mallory"), nil), ".")
			return parts[0] + "." + other[1] + "." + parts[2]
		}, ErrSignature},
		{"bad signature checked before expiry", hmacCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-thirty-two-byt"), with(validClaims(), "exp", past), nil)
		}, ErrSignature},
		{"kid not in JWKS", jwksCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ecKey(), validClaims(), map[string]any{"kid": "e9"})
		}, ErrUnknownKey},
		{"no kid with several JWKS keys", jwksCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ecKey(), validClaims(), nil)
		}, ErrUnknownKey},
		{"kid not a string", jwksCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ecKey(), validClaims(), map[string]any{"kid": 1})
		}, ErrMalformed},

		// Time.
		{"expired", hmacCfg, hs(with(validClaims(), "exp", past)), ErrExpired},
		{"expired beyond leeway", Config{Secret: testSecret, Leeway: time.Minute}, hs(with(validClaims(), "exp", past)), ErrExpired},
		{"nbf in the future", hmacCfg, hs(with(validClaims(), "nbf", future)), ErrNotYetValid},
		{"iat in the future", hmacCfg, hs(with(validClaims(), "iat", future)), ErrNotYetValid},
		{"missing exp", hmacCfg, hs(with(validClaims(), "exp", nil)), ErrNoExpiry},
		{"exp zero", hmacCfg, hs(with(validClaims(), "exp", 0)), ErrNoExpiry},
		{"exp not a number", hmacCfg, hs(with(validClaims(), "exp", "tomorrow")), ErrMalformed},

		// Issuer, audience, identity.
		{"wrong issuer", Config{Secret: testSecret, Issuer: "https://idp"}, hs(with(validClaims(), "iss", "https://evil")), ErrIssuer},
		{"missing issuer", Config{Secret: testSecret, Issuer: "https://idp"}, hs(validClaims()), ErrIssuer},
		{"issuer not a string", Config{Secret: testSecret, Issuer: "https://idp"}, hs(with(validClaims(), "iss", 7)), ErrIssuer},
		{"wrong audience", Config{Secret: testSecret, Audience: "gw"}, hs(with(validClaims(), "aud", "other")), ErrAudience},
		{"audience array without ours", Config{Secret: testSecret, Audience: "gw"}, hs(with(validClaims(), "aud", []string{"a", "b"})), ErrAudience},
		{"missing audience", Config{Secret: testSecret, Audience: "gw"}, hs(validClaims()), ErrAudience},
		{"missing sub", hmacCfg, hs(with(validClaims(), "sub", nil)), ErrIdentity},
		{"empty sub", hmacCfg, hs(with(validClaims(), "sub", "")), ErrIdentity},
		{"numeric sub", hmacCfg, hs(with(validClaims(), "sub", 42)), ErrIdentity},
		{"missing custom identity", Config{Secret: testSecret, IdentityClaim: "email"}, hs(validClaims()), ErrIdentity},

		// Shape.
		{"empty", hmacCfg, func(*testing.T) string { return "" }, ErrMalformed},
		{"one segment", hmacCfg, func(*testing.T) string { return "not-a-jwt-at-all" }, ErrMalformed},
		{"two segments", hmacCfg, func(*testing.T) string {
			parts := strings.Split(goodHS, ".")
			return parts[0] + "." + parts[1]
		}, ErrMalformed},
		{"four segments", hmacCfg, func(*testing.T) string { return goodHS + ".extra" }, ErrMalformed},
		{"header not base64", hmacCfg, func(*testing.T) string { return "!!!!" + goodHS[strings.Index(goodHS, "."):] }, ErrMalformed},
		{"header not JSON", hmacCfg, func(*testing.T) string {
			return b64([]byte("not json")) + goodHS[strings.Index(goodHS, "."):]
		}, ErrMalformed},
		{"padded segments", hmacCfg, func(*testing.T) string {
			parts := strings.Split(goodHS, ".")
			return parts[0] + "=." + parts[1] + "." + parts[2]
		}, ErrMalformed},
		{"crit header", hmacCfg, func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, validClaims(), map[string]any{"crit": []string{"b64"}, "b64": false})
		}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustNew(t, tt.cfg)
			tok := tt.token(t)
			got, err := v.Verify(tok)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if got.Identity != "" || got.Models != nil {
				t.Errorf("Verify claims = %+v on failure, want zero", got)
			}
			if r := Reason(err); r != tt.want.Error() {
				t.Errorf("Reason = %q, want %q", r, tt.want.Error())
			}
			assertNoLeak(t, tok, err.Error())
			assertNoLeak(t, tok, Reason(err))
		})
	}
}

// assertNoLeak fails when msg contains the token or any of its segments
// long enough to be more than a coincidence.
func assertNoLeak(t *testing.T, tok, msg string) {
	t.Helper()
	if tok != "" && strings.Contains(msg, tok) {
		t.Fatalf("error %q contains the token", msg)
	}
	for i, seg := range strings.Split(tok, ".") {
		if len(seg) >= 4 && strings.Contains(msg, seg) {
			t.Fatalf("error %q contains token segment %d", msg, i)
		}
	}
}
