package llmgateway

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmgateway/caddy-llm-gateway/handler"
)

// Auth modes.
const (
	AuthNone = "none"
	AuthKeys = "keys"
)

// AuthConfig says who may call the gateway's `/v1/*` endpoints.
type AuthConfig struct {
	// Mode is `none` (anyone may call) or `keys` (only holders of one of
	// Keys). Default: none.
	Mode string `json:"mode,omitempty"`

	// Keys are the accepted API keys, with mode `keys`. Clients send a key
	// as `Authorization: Bearer <key>` (OpenAI SDKs), `api-key` (Azure
	// SDKs) or `x-api-key`.
	Keys []KeyConfig `json:"keys,omitempty"`
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
}

// keyAuth builds the handler's key check, or nil when anyone may call.
func (a *AuthConfig) keyAuth() (*handler.KeyAuth, error) {
	if a == nil || a.Mode == "" || a.Mode == AuthNone {
		if a != nil && len(a.Keys) > 0 {
			return nil, fmt.Errorf("auth: keys are configured but the mode is %q; use mode %q", a.Mode, AuthKeys)
		}
		return nil, nil
	}
	if a.Mode != AuthKeys {
		return nil, fmt.Errorf("auth: unknown mode %q (want %s or %s)", a.Mode, AuthNone, AuthKeys)
	}
	if len(a.Keys) == 0 {
		return nil, fmt.Errorf("auth keys: no key configured")
	}
	repl := caddy.NewReplacer()
	keys := make([]handler.APIKey, 0, len(a.Keys))
	seen := make(map[[32]byte]bool)
	for i, k := range a.Keys {
		label := k.Name
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		digest, err := keyDigest(repl.ReplaceAll(k.Key, ""))
		if err != nil {
			return nil, fmt.Errorf("auth key %s: %w", label, err)
		}
		if seen[digest] {
			return nil, fmt.Errorf("auth key %s: the same key is configured twice", label)
		}
		seen[digest] = true
		keys = append(keys, handler.APIKey{SHA256: digest, Name: k.Name, Models: k.Models})
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
		return digest, fmt.Errorf("the key is empty (is its environment variable set?)")
	}
	return sha256.Sum256([]byte(key)), nil
}
