package handler

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Caller is an authenticated client.
type Caller struct {
	// Name identifies the caller in logs: the key's configured name, or the
	// first 8 hex digits of its SHA-256.
	Name string
	// Models is the caller's allow-list of public model names; nil allows
	// every model.
	Models map[string]bool
}

// allows reports whether the caller may use a public model name.
func (c *Caller) allows(model string) bool {
	return c == nil || c.Models == nil || c.Models[model]
}

// APIKey is one accepted key.
type APIKey struct {
	// SHA256 is the digest of the key; the key itself is not kept.
	SHA256 [32]byte
	Name   string
	Models []string
}

// KeyAuth accepts the configured API keys. Keys are looked up by their
// SHA-256, so neither the lookup's timing nor the gateway's memory holds
// anything that helps to guess a key.
type KeyAuth struct {
	keys map[[32]byte]*Caller
}

// NewKeyAuth builds a KeyAuth from the configured keys.
func NewKeyAuth(keys []APIKey) *KeyAuth {
	a := &KeyAuth{keys: make(map[[32]byte]*Caller, len(keys))}
	for _, k := range keys {
		c := &Caller{Name: k.Name}
		if c.Name == "" {
			c.Name = hex.EncodeToString(k.SHA256[:4])
		}
		if len(k.Models) > 0 {
			c.Models = make(map[string]bool, len(k.Models))
			for _, m := range k.Models {
				c.Models[m] = true
			}
		}
		a.keys[k.SHA256] = c
	}
	return a
}

// authenticate returns the caller behind r's key.
func (a *KeyAuth) authenticate(r *http.Request) (*Caller, *providers.Error) {
	key := presentedKey(r)
	if key == "" {
		e := providers.NewError(http.StatusUnauthorized, "missing_api_key",
			"You didn't provide an API key. Send it as `Authorization: Bearer <key>`.")
		return nil, e
	}
	if c, ok := a.keys[sha256.Sum256([]byte(key))]; ok {
		return c, nil
	}
	return nil, providers.NewError(http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided.")
}

// presentedKey reads the key the way the official clients send it: OpenAI
// SDKs as a bearer token, Azure SDKs in `api-key`, Anthropic's in
// `x-api-key`.
func presentedKey(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if scheme, token, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
	}
	if key := r.Header.Get("Api-Key"); key != "" {
		return key
	}
	return r.Header.Get("X-Api-Key")
}
