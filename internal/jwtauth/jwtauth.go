// Package jwtauth verifies the JWTs callers present as
// `Authorization: Bearer <jwt>` in the gateway's `auth jwt` mode.
//
// Keys come only from configuration: headers that point at keys (jku, x5u,
// jwk, x5c) are ignored, since a token must never choose who vouches for it.
// Each configured key is bound to the algorithms that fit its type, so a
// token cannot pick a weaker or confused way of checking its own signature.
package jwtauth

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Config says which tokens are accepted. Exactly one key source must be set.
type Config struct {
	// Secret is an HMAC key for HS256, HS384 and HS512. It must be at
	// least 32 bytes, the minimum RFC 7518 allows for HS256.
	Secret []byte
	// PublicKeyPEM is a PEM RSA or ECDSA public key ("PUBLIC KEY" PKIX or
	// "RSA PUBLIC KEY" PKCS#1) or a PEM certificate whose key is used. RSA
	// keys accept RS256/384/512 and PS256/384/512; ECDSA keys accept the one
	// ES algorithm of their curve.
	PublicKeyPEM []byte
	// JWKS is a JWKS document ({"keys":[...]}) of RSA and EC (P-256, P-384,
	// P-521) keys. The token's kid header picks the key; a token without kid
	// is accepted only when the set holds exactly one usable key. Keys for
	// encryption, of unknown type or curve, or too weak are skipped; New
	// fails when none remain.
	JWKS []byte
	// Issuer, when set, must equal the token's iss claim.
	Issuer string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// IdentityClaim names the claim identifying the caller for limits and
	// logs; it must hold a non-empty string. Default "sub".
	IdentityClaim string
	// ModelsClaim, when set, names a claim listing the models the caller may
	// use, as an array of strings or a space-separated string.
	ModelsClaim string
	// GroupClaim, when set, names a claim holding the name of the
	// caller's group, a string.
	GroupClaim string
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	Leeway time.Duration
}

// Claims is what a verified token says about its caller.
type Claims struct {
	// Identity is the value of the identity claim.
	Identity string
	// Models is nil when no models claim is configured or the token lacks
	// it, meaning no restriction; otherwise it is non-nil, and empty means
	// no model is allowed.
	Models []string
	// Group is the value of the group claim; "" when there is none.
	Group string
}

// Verifier checks tokens against one Config. It is safe for concurrent use.
type Verifier struct {
	parser        *jwt.Parser
	keys          *keySet
	methods       []string    // every algorithm some key accepts
	keyfunc       jwt.Keyfunc // bound once so Verify does not allocate a method value per call
	issuer        string
	audience      string
	identityClaim string
	modelsClaim   string
	groupClaim    string
}

// New checks cfg and loads its key.
func New(cfg Config) (*Verifier, error) {
	if cfg.Leeway < 0 {
		return nil, errors.New("jwtauth: leeway must not be negative")
	}
	keys, err := loadKeys(cfg)
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		keys:          keys,
		issuer:        cfg.Issuer,
		audience:      cfg.Audience,
		identityClaim: cmp.Or(cfg.IdentityClaim, "sub"),
		modelsClaim:   cfg.ModelsClaim,
		groupClaim:    cfg.GroupClaim,
	}
	v.keyfunc = v.key
	v.methods = keys.methods()
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(v.methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		// Non-canonical base64 would let one signature be spelled several
		// ways, which breaks anyone keying caches or logs on the token.
		jwt.WithStrictDecoding(),
	)
	return v, nil
}

// Verify checks signature, algorithm, exp, nbf, iat, iss, aud and the
// identity and models claims of token (without the "Bearer " prefix).
//
// exp is required: a token without it is rejected, because a stolen token
// must not live forever. Errors wrap exactly one of the Err* reasons and never
// contain any part of the token; pass them to Reason for the client.
func (v *Verifier) Verify(token string) (Claims, error) {
	mc := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(token, mc, v.keyfunc)
	if err != nil {
		return Claims{}, v.failure(token, tok, err)
	}
	c, err := v.claims(mc)
	if err != nil {
		return Claims{}, fmt.Errorf("jwtauth: %w", err)
	}
	return c, nil
}

// key is the jwt.Keyfunc: it runs after the token's alg passed the
// Verifier-wide allow-list, and narrows that to what the chosen key fits.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	// RFC 7515 requires rejecting extensions we do not understand, and we
	// understand none.
	if _, ok := t.Header["crit"]; ok {
		return nil, reject(ErrMalformed, "crit header is not supported")
	}
	k, err := v.keys.find(t.Header)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(k.methods, t.Method.Alg()) {
		return nil, reject(ErrAlgorithm, "the key does not accept this algorithm")
	}
	return k.key, nil
}
