package llmgateway

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/internal/jwtauth"
)

// Auth modes.
const (
	AuthNone        = "none"
	AuthKeys        = "keys"
	AuthPassthrough = "passthrough"
	AuthJWT         = "jwt"
)

// AuthConfig says who may call the gateway's `/v1/*` endpoints. Clients
// present their credential as `Authorization: Bearer <key>` (OpenAI SDKs),
// `api-key` (Azure SDKs) or `x-api-key`.
type AuthConfig struct {
	// Mode is one of:
	//
	// - `none`: anyone may call; limits count per client IP (Caddy's,
	//   which honours the server's `trusted_proxies`).
	// - `keys`: only holders of one of Keys.
	// - `passthrough`: anyone who brings a provider key; that key is sent
	//   upstream to every provider without a key of its own, so each caller
	//   pays for its own use. It is never stored or logged; logs and limits
	//   know the caller by the first hex digits of its SHA-256.
	// - `jwt`: holders of a JWT that JWT accepts.
	//
	// Default: none.
	Mode string `json:"mode,omitempty"`

	// Keys are the accepted API keys, with mode `keys`.
	Keys []KeyConfig `json:"keys,omitempty"`

	// JWT says which tokens are accepted, with mode `jwt`.
	JWT *JWTConfig `json:"jwt,omitempty"`
}

// KeyConfig is one accepted API key.
type KeyConfig struct {
	// Key is the secret, best written as a placeholder (`{env.TEAM_A_KEY}`),
	// or its digest as `sha256:<64 hex digits>` so that no secret is in the
	// config at all.
	Key string `json:"key"`

	// Name identifies the key in logs. Default: the first 8 hex digits of
	// the key's SHA-256.
	Name string `json:"name,omitempty"`

	// Models is the list of public model names this key may use. Default:
	// every model.
	Models []string `json:"models,omitempty"`

	// RateLimit replaces the gateway's request limit for this key.
	RateLimit *LimitConfig `json:"rate_limit,omitempty"`

	// TokenLimit replaces the gateway's token limit for this key.
	TokenLimit *LimitConfig `json:"token_limit,omitempty"`

	// Budget replaces the gateway's budget for this key.
	Budget *BudgetConfig `json:"budget,omitempty"`

	// Group names the group (see the gateway's `groups`) whose budget and
	// limits this key shares with the group's other members.
	Group string `json:"group,omitempty"`
}

// JWTConfig says which JSON Web Tokens are accepted. Exactly one of
// Secret, PublicKeyFile and JWKSFile is required. Tokens must carry `exp`.
type JWTConfig struct {
	// Secret is the HMAC key (HS256/384/512), at least 32 bytes; write it
	// as a placeholder such as `{env.JWT_SECRET}`.
	Secret string `json:"secret,omitempty"`

	// PublicKeyFile is a PEM RSA or ECDSA public key or certificate
	// (RS*, PS*, ES* tokens).
	PublicKeyFile string `json:"public_key_file,omitempty"`

	// JWKSFile is a JWKS document; a token's `kid` picks its key.
	JWKSFile string `json:"jwks_file,omitempty"`

	// Issuer, when set, must equal the token's `iss`.
	Issuer string `json:"issuer,omitempty"`

	// Audience, when set, must be among the token's `aud`.
	Audience string `json:"audience,omitempty"`

	// IdentityClaim names the caller, for limits and logs. Default: `sub`.
	IdentityClaim string `json:"identity_claim,omitempty"`

	// ModelsClaim names an optional claim listing the public models the
	// caller may use (an array, or a space-separated string).
	ModelsClaim string `json:"models_claim,omitempty"`

	// GroupClaim names an optional claim holding the name of the
	// caller's group (one of the gateway's `groups`); a token naming a
	// group that is not configured is refused.
	GroupClaim string `json:"group_claim,omitempty"`

	// Leeway is the clock skew allowed for `exp`, `nbf` and `iat`.
	// Default: 0.
	Leeway caddy.Duration `json:"leeway,omitempty"`
}

func (a *AuthConfig) mode() string {
	if a == nil || a.Mode == "" {
		return AuthNone
	}
	return a.Mode
}

// authenticator builds the handler's caller check, or nil when anyone may
// call.
func (a *AuthConfig) authenticator(groups map[string]*handler.Group) (handler.Authenticator, error) {
	mode := a.mode()
	if mode != AuthKeys && a != nil && len(a.Keys) > 0 {
		return nil, fmt.Errorf("auth: keys are configured but the mode is %q; use mode %q", mode, AuthKeys)
	}
	switch mode {
	case AuthNone:
		return nil, nil
	case AuthPassthrough:
		return handler.PassthroughAuth{}, nil
	case AuthKeys:
		return a.keyAuth(groups)
	case AuthJWT:
		if a.JWT == nil {
			return nil, fmt.Errorf("auth jwt: say which tokens to accept (secret, public_key or jwks)")
		}
		v, err := a.JWT.verifier()
		if err != nil {
			return nil, fmt.Errorf("auth jwt: %w", err)
		}
		if a.JWT.GroupClaim == "" && len(groups) > 0 {
			return nil, fmt.Errorf("auth jwt: groups are configured but no group_claim names the claim that holds a caller's group")
		}
		return handler.JWTAuth{Verifier: v, Groups: groups}, nil
	}
	return nil, fmt.Errorf("auth: unknown mode %q (want %s, %s, %s or %s)", mode, AuthNone, AuthKeys, AuthPassthrough, AuthJWT)
}

func (a *AuthConfig) keyAuth(groups map[string]*handler.Group) (*handler.KeyAuth, error) {
	if len(a.Keys) == 0 {
		return nil, fmt.Errorf("auth keys: no key configured")
	}
	keys := make([]handler.APIKey, 0, len(a.Keys))
	seen := make(map[[32]byte]bool)
	for i, k := range a.Keys {
		label := k.Name
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		key, err := resolve(k.Key)
		if err != nil {
			return nil, fmt.Errorf("auth key %s: the key is empty: %w", label, err)
		}
		digest, err := keyDigest(key)
		if err != nil {
			return nil, fmt.Errorf("auth key %s: %w", label, err)
		}
		if seen[digest] {
			return nil, fmt.Errorf("auth key %s: the same key is configured twice", label)
		}
		seen[digest] = true
		for what, l := range map[string]*LimitConfig{"rate_limit": k.RateLimit, "token_limit": k.TokenLimit} {
			if err := l.validate("auth key " + label + " " + what); err != nil {
				return nil, err
			}
		}
		budget, err := k.Budget.budget()
		if err != nil {
			return nil, fmt.Errorf("auth key %s: budget: %w", label, err)
		}
		group, ok := groups[k.Group]
		if k.Group != "" && !ok {
			return nil, fmt.Errorf("auth key %s: group %q is not configured (known: %s)", label, k.Group, strings.Join(slices.Sorted(maps.Keys(groups)), ", "))
		}
		keys = append(keys, handler.APIKey{SHA256: digest, Name: k.Name, Models: k.Models,
			RequestLimit: k.RateLimit.limit(), TokenLimit: k.TokenLimit.limit(), Budget: budget, Group: group})
	}
	return handler.NewKeyAuth(keys), nil
}

// keyDigest is the SHA-256 of a key, or the digest given as sha256:<hex>.
func keyDigest(key string) ([32]byte, error) {
	var digest [32]byte
	if hexDigest, ok := strings.CutPrefix(key, "sha256:"); ok {
		b, err := hex.DecodeString(hexDigest)
		if err != nil || len(b) != len(digest) {
			return digest, fmt.Errorf("sha256: wants 64 hex digits")
		}
		copy(digest[:], b)
		return digest, nil
	}
	if key == "" {
		return digest, fmt.Errorf("the key is empty")
	}
	return sha256.Sum256([]byte(key)), nil
}

// verifier reads the key material and builds the JWT verifier.
func (j *JWTConfig) verifier() (*jwtauth.Verifier, error) {
	cfg := jwtauth.Config{
		Issuer: j.Issuer, Audience: j.Audience,
		IdentityClaim: j.IdentityClaim, ModelsClaim: j.ModelsClaim, GroupClaim: j.GroupClaim,
		Leeway: time.Duration(j.Leeway),
	}
	sources := 0
	if j.Secret != "" {
		sources++
		secret, err := resolve(j.Secret)
		if err != nil {
			return nil, fmt.Errorf("the secret is empty: %w", err)
		}
		cfg.Secret = []byte(secret)
	}
	var err error
	if j.PublicKeyFile != "" {
		sources++
		if cfg.PublicKeyPEM, err = os.ReadFile(j.PublicKeyFile); err != nil {
			return nil, fmt.Errorf("reading public_key: %w", err)
		}
	}
	if j.JWKSFile != "" {
		sources++
		if cfg.JWKS, err = os.ReadFile(j.JWKSFile); err != nil {
			return nil, fmt.Errorf("reading jwks: %w", err)
		}
	}
	if sources != 1 {
		return nil, fmt.Errorf("give exactly one of secret, public_key and jwks")
	}
	return jwtauth.New(cfg)
}
