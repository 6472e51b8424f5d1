package jwtauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
)

const (
	// minSecretLen is RFC 7518's floor for HS256: a shorter HMAC key is
	// within reach of offline guessing from any one captured token.
	minSecretLen = 32
	// minRSABits is the smallest RSA modulus still considered safe.
	minRSABits = 2048
)

var (
	hmacMethods = []string{"HS256", "HS384", "HS512"}
	rsaMethods  = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)

// verificationKey is one trusted key and the algorithms it may verify.
// Binding algorithms per key, not per Verifier, is what stops an HS256
// token from being checked with an RSA key's bytes as the secret.
type verificationKey struct {
	key     any // []byte, *rsa.PublicKey or *ecdsa.PublicKey
	methods []string
}

// keySet finds the key for a token.
type keySet struct {
	// fixed is the one key of a secret or PEM source, used whatever kid
	// the token names, as there is nothing to choose between.
	fixed *verificationKey
	byKID map[string]*verificationKey
	// sole is the only usable JWKS key, which tokens without kid may use.
	sole *verificationKey
	all  []*verificationKey
}

// loadKeys builds the key set from whichever single source cfg sets.
func loadKeys(cfg Config) (*keySet, error) {
	set := 0
	for _, src := range [][]byte{cfg.Secret, cfg.PublicKeyPEM, cfg.JWKS} {
		if len(src) > 0 {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("jwtauth: exactly one of secret, public key or jwks must be set, got %d", set)
	}
	switch {
	case len(cfg.Secret) > 0:
		return secretKeySet(cfg.Secret)
	case len(cfg.PublicKeyPEM) > 0:
		return pemKeySet(cfg.PublicKeyPEM)
	default:
		return parseJWKS(cfg.JWKS)
	}
}

func secretKeySet(secret []byte) (*keySet, error) {
	if len(secret) < minSecretLen {
		return nil, fmt.Errorf("jwtauth: secret must be at least %d bytes, got %d", minSecretLen, len(secret))
	}
	// A copy, so the caller reusing its slice cannot change which tokens verify.
	return fixedKeySet(&verificationKey{key: bytes.Clone(secret), methods: hmacMethods}), nil
}

func pemKeySet(data []byte) (*keySet, error) {
	pub, err := parsePEMKey(data)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: public key: %w", err)
	}
	methods, err := publicKeyMethods(pub)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: public key: %w", err)
	}
	return fixedKeySet(&verificationKey{key: pub, methods: methods}), nil
}

func fixedKeySet(k *verificationKey) *keySet {
	return &keySet{fixed: k, all: []*verificationKey{k}}
}

// parsePEMKey reads the first PEM block; for a certificate only its key
// matters, so validity dates and chain are deliberately not checked.
func parsePEMKey(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	return nil, fmt.Errorf("unsupported PEM block %q (want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE)", block.Type)
}

// publicKeyMethods returns the algorithms that fit pub's type.
func publicKeyMethods(pub any) ([]string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < minRSABits {
			return nil, fmt.Errorf("rsa key has %d bits, need at least %d", bits, minRSABits)
		}
		return rsaMethods, nil
	case *ecdsa.PublicKey:
		c, ok := curveByParams(k.Curve)
		if !ok {
			return nil, fmt.Errorf("unsupported ecdsa curve %s", k.Curve.Params().Name)
		}
		return []string{c.alg}, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", pub)
}

// find returns the key a token's header selects.
func (s *keySet) find(header map[string]any) (*verificationKey, error) {
	if s.fixed != nil {
		return s.fixed, nil
	}
	raw, ok := header["kid"]
	if !ok {
		if s.sole == nil {
			return nil, reject(ErrUnknownKey, "token has no kid and the key set holds several keys")
		}
		return s.sole, nil
	}
	kid, ok := raw.(string)
	if !ok {
		return nil, reject(ErrMalformed, "kid header is not a string")
	}
	k, ok := s.byKID[kid]
	if !ok {
		return nil, reject(ErrUnknownKey, "")
	}
	return k, nil
}

// methods returns every algorithm some key accepts, in a stable order.
func (s *keySet) methods() []string {
	var out []string
	for _, k := range s.all {
		for _, m := range k.methods {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}
