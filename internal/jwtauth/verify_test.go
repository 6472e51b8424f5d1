package jwtauth

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyAcceptsEveryFittingAlgorithm(t *testing.T) {
	rsaPub := &rsaKey().PublicKey
	ecPub := &ecKey().PublicKey
	tests := []struct {
		name   string
		cfg    Config
		method jwt.SigningMethod
		key    any
		header map[string]any
	}{
		{"HS256", Config{Secret: testSecret}, jwt.SigningMethodHS256, testSecret, nil},
		{"HS384", Config{Secret: testSecret}, jwt.SigningMethodHS384, testSecret, nil},
		{"HS512", Config{Secret: testSecret}, jwt.SigningMethodHS512, testSecret, nil},
		{"HS256 ignores kid", Config{Secret: testSecret}, jwt.SigningMethodHS256, testSecret, map[string]any{"kid": "whatever"}},
		{"RS256 PKIX", Config{PublicKeyPEM: pkixPEM(t, rsaPub)}, jwt.SigningMethodRS256, rsaKey(), nil},
		{"RS384 PKIX", Config{PublicKeyPEM: pkixPEM(t, rsaPub)}, jwt.SigningMethodRS384, rsaKey(), nil},
		{"RS512 PKIX", Config{PublicKeyPEM: pkixPEM(t, rsaPub)}, jwt.SigningMethodRS512, rsaKey(), nil},
		{"PS256 PKIX", Config{PublicKeyPEM: pkixPEM(t, rsaPub)}, jwt.SigningMethodPS256, rsaKey(), nil},
		{"PS384 PKIX", Config{PublicKeyPEM: pkixPEM(t, rsaPub)}, jwt.SigningMethodPS384, rsaKey(), nil},
		{"PS512 PKIX", Config{PublicKeyPEM: pkixPEM(t, rsaPub)}, jwt.SigningMethodPS512, rsaKey(), nil},
		{"RS256 PKCS1", Config{PublicKeyPEM: pkcs1PEM(rsaPub)}, jwt.SigningMethodRS256, rsaKey(), nil},
		{"RS256 certificate", Config{PublicKeyPEM: certPEM(t, rsaKey())}, jwt.SigningMethodRS256, rsaKey(), nil},
		{"ES256 PKIX", Config{PublicKeyPEM: pkixPEM(t, ecPub)}, jwt.SigningMethodES256, ecKey(), nil},
		{"ES256 certificate", Config{PublicKeyPEM: certPEM(t, ecKey())}, jwt.SigningMethodES256, ecKey(), nil},
		{"ES384 PKIX", Config{PublicKeyPEM: pkixPEM(t, &ec384Key().PublicKey)}, jwt.SigningMethodES384, ec384Key(), nil},
		{
			"JWKS RSA by kid",
			Config{JWKS: jwks(t, rsaJWK(rsaPub, map[string]any{"kid": "r1"}), ecJWK(t, ecPub, map[string]any{"kid": "e1"}))},
			jwt.SigningMethodRS256, rsaKey(), map[string]any{"kid": "r1"},
		},
		{
			"JWKS EC by kid",
			Config{JWKS: jwks(t, rsaJWK(rsaPub, map[string]any{"kid": "r1"}), ecJWK(t, ecPub, map[string]any{"kid": "e1"}))},
			jwt.SigningMethodES256, ecKey(), map[string]any{"kid": "e1"},
		},
		{
			"JWKS sole key without kid in token",
			Config{JWKS: jwks(t, ecJWK(t, ecPub, map[string]any{"kid": "e1"}))},
			jwt.SigningMethodES256, ecKey(), nil,
		},
		{
			"JWKS sole usable key beside skipped ones",
			Config{JWKS: jwks(t,
				rsaJWK(rsaPub, map[string]any{"kid": "r1", "use": "sig", "alg": "PS256"}),
				rsaJWK(&otherRSAKey().PublicKey, map[string]any{"kid": "enc", "use": "enc"}),
				map[string]any{"kty": "oct", "kid": "sym", "k": b64(testSecret)},
				map[string]any{"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": b64(make([]byte, 32))},
			)},
			jwt.SigningMethodPS256, rsaKey(), nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustNew(t, tt.cfg)
			got, err := v.Verify(sign(t, tt.method, tt.key, validClaims(), tt.header))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Identity != "alice" || got.Models != nil {
				t.Fatalf("Verify = %+v, want identity alice and no models", got)
			}
		})
	}
}

func TestVerifyClaims(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		claims jwt.MapClaims
		want   Claims
	}{
		{"default identity is sub", Config{}, validClaims(), Claims{Identity: "alice"}},
		{"custom identity claim", Config{IdentityClaim: "email"}, with(validClaims(), "email", "a@example.com"), Claims{Identity: "a@example.com"}},
		{"issuer matches", Config{Issuer: "https://idp"}, with(validClaims(), "iss", "https://idp"), Claims{Identity: "alice"}},
		{"audience string", Config{Audience: "gw"}, with(validClaims(), "aud", "gw"), Claims{Identity: "alice"}},
		{"audience array", Config{Audience: "gw"}, with(validClaims(), "aud", []string{"other", "gw"}), Claims{Identity: "alice"}},
		{"models claim unset ignores claim", Config{}, with(validClaims(), "models", []string{"a"}), Claims{Identity: "alice"}},
		{"models absent", Config{ModelsClaim: "models"}, validClaims(), Claims{Identity: "alice"}},
		{"models array", Config{ModelsClaim: "models"}, with(validClaims(), "models", []string{"gpt-4o", "claude"}), Claims{Identity: "alice", Models: []string{"gpt-4o", "claude"}}},
		{"models spaced string", Config{ModelsClaim: "scope"}, with(validClaims(), "scope", " gpt-4o  claude "), Claims{Identity: "alice", Models: []string{"gpt-4o", "claude"}}},
		{"models empty array", Config{ModelsClaim: "models"}, with(validClaims(), "models", []string{}), Claims{Identity: "alice", Models: []string{}}},
		{"models empty string", Config{ModelsClaim: "models"}, with(validClaims(), "models", ""), Claims{Identity: "alice", Models: []string{}}},
		{"group claim", Config{GroupClaim: "team"}, with(validClaims(), "team", "research"), Claims{Identity: "alice", Group: "research"}},
		{"group claim absent", Config{GroupClaim: "team"}, validClaims(), Claims{Identity: "alice"}},
		{"group claim unset ignores claim", Config{}, with(validClaims(), "team", "research"), Claims{Identity: "alice"}},
		{"exp within leeway", Config{Leeway: time.Minute}, with(validClaims(), "exp", time.Now().Add(-30*time.Second).Unix()), Claims{Identity: "alice"}},
		{"nbf within leeway", Config{Leeway: time.Minute}, with(validClaims(), "nbf", time.Now().Add(30*time.Second).Unix()), Claims{Identity: "alice"}},
		{"iat within leeway", Config{Leeway: time.Minute}, with(validClaims(), "iat", time.Now().Add(30*time.Second).Unix()), Claims{Identity: "alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Secret = testSecret
			v := mustNew(t, tt.cfg)
			got, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, tt.claims, nil))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Identity != tt.want.Identity || got.Group != tt.want.Group || !slices.Equal(got.Models, tt.want.Models) || (got.Models == nil) != (tt.want.Models == nil) {
				t.Fatalf("Verify = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// A group claim of the wrong shape is refused: ignoring it would free the
// caller of the group's budget.
func TestVerifyRejectsBadGroupClaim(t *testing.T) {
	v := mustNew(t, Config{Secret: testSecret, GroupClaim: "team"})
	for _, value := range []any{"", 3, []any{"research"}, nil} {
		c := validClaims()
		c["team"] = value
		_, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, c, nil))
		if !errors.Is(err, ErrGroup) || Reason(err) != "invalid group claim" {
			t.Errorf("team = %#v: %v, want ErrGroup", value, err)
		}
	}
}

func TestVerifyRejectsBadModelsClaim(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{"number", 3},
		{"object", map[string]any{"a": true}},
		{"array with number", []any{"gpt-4o", 4}},
		{"null", nil},
	}
	v := mustNew(t, Config{Secret: testSecret, ModelsClaim: "models"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validClaims()
			c["models"] = tt.value
			_, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, c, nil))
			if !errors.Is(err, ErrModels) {
				t.Fatalf("Verify error = %v, want %v", err, ErrModels)
			}
		})
	}
}

func TestVerifyCopiesSecret(t *testing.T) {
	secret := append([]byte(nil), testSecret...)
	v := mustNew(t, Config{Secret: secret})
	tok := sign(t, jwt.SigningMethodHS256, testSecret, validClaims(), nil)
	secret[0] ^= 0xff
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("Verify after caller changed its slice: %v", err)
	}
}

// TestVerifyConcurrent gives the race detector one Verifier shared by
// many goroutines, as the gateway uses it.
func TestVerifyConcurrent(t *testing.T) {
	v := mustNew(t, Config{JWKS: jwks(t, ecJWK(t, &ecKey().PublicKey, map[string]any{"kid": "e1"}))})
	good := sign(t, jwt.SigningMethodES256, ecKey(), validClaims(), map[string]any{"kid": "e1"})
	bad := sign(t, jwt.SigningMethodES256, ecKey(), validClaims(), map[string]any{"kid": "e2"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := v.Verify(good); err != nil {
					t.Error(err)
					return
				}
				if _, err := v.Verify(bad); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("Verify(bad) = %v, want %v", err, ErrUnknownKey)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "invalid token"},
		{errors.New("something else"), "invalid token"},
		{ErrExpired, "token expired"},
		{reject(ErrUnknownKey, "detail"), "unknown key id"},
		{errors.Join(errors.New("x"), reject(ErrAudience, "")), "wrong audience"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestQuotesToken(t *testing.T) {
	tests := []struct {
		msg, token string
		want       bool
	}{
		{"token is expired", "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", false},
		{"bad payload eyJzdWIiOi here", "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", true},
		{"sig c2lnbmF0dXJl", "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", true},
		{"short segments a and b match by chance", "a.b.c", false},
		{"no dots: notajwtatall", "notajwtatall", true},
	}
	for _, tt := range tests {
		if got := quotesToken(tt.msg, tt.token); got != tt.want {
			t.Errorf("quotesToken(%q, %q) = %v, want %v", tt.msg, tt.token, got, tt.want)
		}
	}
}
