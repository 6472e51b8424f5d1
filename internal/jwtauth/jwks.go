package jwtauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// jwk holds the members of a JSON Web Key this package uses; others, such
// as x5c, are ignored because n/e or x/y already say everything needed.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// errUnusable marks a key that is skipped rather than failing New, since
// published key sets routinely mix in keys meant for other parties.
var errUnusable = errors.New("unusable key")

type curve struct {
	crv   string // the JWK name
	curve elliptic.Curve
	size  int // bytes per coordinate
	alg   string
}

var curves = []curve{
	{"P-256", elliptic.P256(), 32, "ES256"},
	{"P-384", elliptic.P384(), 48, "ES384"},
	{"P-521", elliptic.P521(), 66, "ES512"},
}

func curveByName(crv string) (curve, bool) {
	i := slices.IndexFunc(curves, func(c curve) bool { return c.crv == crv })
	if i < 0 {
		return curve{}, false
	}
	return curves[i], true
}

func curveByParams(ec elliptic.Curve) (curve, bool) {
	i := slices.IndexFunc(curves, func(c curve) bool { return c.curve == ec })
	if i < 0 {
		return curve{}, false
	}
	return curves[i], true
}

// parseJWKS loads the usable signing keys of a JWKS document.
func parseJWKS(data []byte) (*keySet, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("jwtauth: jwks: %w", err)
	}
	set := &keySet{byKID: make(map[string]*verificationKey)}
	for i, k := range doc.Keys {
		vk, err := k.verificationKey()
		if errors.Is(err, errUnusable) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jwtauth: jwks key %d: %w", i, err)
		}
		if err := set.add(k.Kid, vk); err != nil {
			return nil, fmt.Errorf("jwtauth: jwks key %d: %w", i, err)
		}
	}
	switch len(set.all) {
	case 0:
		return nil, errors.New("jwtauth: jwks has no usable signing key (RSA or EC P-256/P-384/P-521)")
	case 1:
		set.sole = set.all[0]
	}
	return set, nil
}

// add rejects duplicate kids: which key a token names must be unambiguous.
func (s *keySet) add(kid string, k *verificationKey) error {
	if kid != "" {
		if _, dup := s.byKID[kid]; dup {
			return fmt.Errorf("duplicate kid %q", kid)
		}
		s.byKID[kid] = k
	}
	s.all = append(s.all, k)
	return nil
}

// verificationKey converts k, returning an error wrapping errUnusable for
// keys to skip and a plain error for keys that are broken.
func (k jwk) verificationKey() (*verificationKey, error) {
	if k.Use != "" && k.Use != "sig" {
		return nil, errUnusable
	}
	var (
		pub     any
		methods []string
		err     error
	)
	switch k.Kty {
	case "RSA":
		pub, methods, err = k.rsaKey()
	case "EC":
		pub, methods, err = k.ecKey()
	default:
		return nil, errUnusable
	}
	if err != nil {
		return nil, err
	}
	return k.restrict(pub, methods)
}

// restrict honours the key's own alg member: a key published for one
// algorithm must not verify tokens claiming another.
func (k jwk) restrict(pub any, methods []string) (*verificationKey, error) {
	if k.Alg == "" {
		return &verificationKey{key: pub, methods: methods}, nil
	}
	if !slices.Contains(methods, k.Alg) {
		return nil, fmt.Errorf("%w: alg %q does not fit a %s key", errUnusable, k.Alg, k.Kty)
	}
	return &verificationKey{key: pub, methods: []string{k.Alg}}, nil
}

func (k jwk) rsaKey() (*rsa.PublicKey, []string, error) {
	n, err := decodeMember("n", k.N)
	if err != nil {
		return nil, nil, err
	}
	e, err := decodeMember("e", k.E)
	if err != nil {
		return nil, nil, err
	}
	exp, err := rsaExponent(e)
	if err != nil {
		return nil, nil, err
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
	if pub.N.BitLen() < minRSABits {
		return nil, nil, fmt.Errorf("%w: rsa key has %d bits, need at least %d", errUnusable, pub.N.BitLen(), minRSABits)
	}
	return pub, rsaMethods, nil
}

// rsaExponent decodes e, refusing values crypto/rsa would reject later
// at verification time, so a broken key fails New instead.
func rsaExponent(e []byte) (int, error) {
	if len(e) > 4 {
		return 0, errors.New("rsa exponent too large")
	}
	exp := 0
	for _, b := range e {
		exp = exp<<8 | int(b)
	}
	if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
		return 0, fmt.Errorf("invalid rsa exponent %d", exp)
	}
	return exp, nil
}

func (k jwk) ecKey() (*ecdsa.PublicKey, []string, error) {
	c, ok := curveByName(k.Crv)
	if !ok {
		return nil, nil, fmt.Errorf("%w: curve %q", errUnusable, k.Crv)
	}
	point := make([]byte, 1, 1+2*c.size)
	point[0] = 4 // SEC 1 uncompressed point
	for _, m := range []struct{ name, value string }{{"x", k.X}, {"y", k.Y}} {
		coord, err := decodeMember(m.name, m.value)
		if err != nil {
			return nil, nil, err
		}
		if len(coord) > c.size {
			return nil, nil, fmt.Errorf("ec %s is longer than %d bytes", m.name, c.size)
		}
		// Some issuers drop leading zero bytes; the value is the same.
		point = append(point, make([]byte, c.size-len(coord))...)
		point = append(point, coord...)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(c.curve, point)
	if err != nil {
		return nil, nil, fmt.Errorf("ec key: %w", err)
	}
	return pub, []string{c.alg}, nil
}

// decodeMember decodes a base64url member, tolerating padding that some
// issuers add although RFC 7518 forbids it.
func decodeMember(name, value string) ([]byte, error) {
	if value == "" {
		return nil, fmt.Errorf("missing %s", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(value, "="))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return b, nil
}
