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
	// ID keys the caller's limit counters; unique per caller.
	ID string
	// Models is the caller's allow-list of public model names; nil allows
	// every model. A name ending in `*` allows every model name with that
	// prefix (see IsPrefixPattern).
	Models map[string]bool
	// RequestLimit and TokenLimit replace the default limits; nil keeps
	// them.
	RequestLimit, TokenLimit *Limit
	// Budget replaces the default budget; nil keeps it.
	Budget *Budget
	// Group is the team the caller belongs to; nil for none.
	Group *Group

	// upstreamKey is the caller's own provider key, for providers that
	// pass it through. Never logged.
	upstreamKey string
}

func newCaller(name, id string) *Caller { return &Caller{Name: name, ID: id} }

// allows reports whether the caller may use a public model name.
func (c *Caller) allows(model string) bool {
	if c == nil || c.Models == nil || c.Models[model] {
		return true
	}
	for name := range c.Models {
		if IsPrefixPattern(name) && strings.HasPrefix(model, name[:len(name)-1]) {
			return true
		}
	}
	return false
}

// APIKey is one accepted key.
type APIKey struct {
	// SHA256 is the digest of the key; the key itself is not kept.
	SHA256       [32]byte
	Name         string
	Models       []string
	RequestLimit *Limit
	TokenLimit   *Limit
	Budget       *Budget
	Group        *Group
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
		c := newCaller(k.Name, "key:"+hex.EncodeToString(k.SHA256[:12]))
		c.RequestLimit, c.TokenLimit, c.Budget, c.Group = k.RequestLimit, k.TokenLimit, k.Budget, k.Group
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

// Authenticator identifies the caller of a request, or says why not.
type Authenticator interface {
	Authenticate(r *http.Request) (*Caller, *providers.Error)
}

// Authenticate returns the caller behind r's key.
func (a *KeyAuth) Authenticate(r *http.Request) (*Caller, *providers.Error) {
	key := presentedKey(r)
	if key == "" {
		return nil, missingKey()
	}
	if c, ok := a.keys[sha256.Sum256([]byte(key))]; ok {
		return c, nil
	}
	return nil, providers.NewError(http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided.")
}

func missingKey() *providers.Error {
	return providers.NewError(http.StatusUnauthorized, "missing_api_key",
		"You didn't provide an API key. Send it as `Authorization: Bearer <key>`.")
}

// PassthroughAuth lets in every caller that brings a key, and hands that
// key to the providers as the caller's own upstream key (a public gateway
// where each caller pays for its own use). The caller is known by the
// first hex digits of the key's SHA-256; the key is never kept.
type PassthroughAuth struct{}

// Authenticate requires a key and identifies the caller by its digest.
func (PassthroughAuth) Authenticate(r *http.Request) (*Caller, *providers.Error) {
	key := presentedKey(r)
	if key == "" {
		return nil, missingKey()
	}
	sum := sha256.Sum256([]byte(key))
	c := newCaller(hex.EncodeToString(sum[:4]), "pt:"+hex.EncodeToString(sum[:12]))
	c.upstreamKey = key
	return c, nil
}

// presentedKey reads the key the way the official clients send it: OpenAI
// SDKs as a bearer token, Azure SDKs in `api-key`, Anthropic's in
// `x-api-key`.
// A key with a control character in it is no key: it could not be
// forwarded in a header (passthrough) and no configured key has one.
func presentedKey(r *http.Request) string {
	key := headerKey(r)
	if strings.ContainsFunc(key, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		return ""
	}
	return key
}

func headerKey(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if scheme, token, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
	}
	if key := strings.TrimSpace(r.Header.Get("Api-Key")); key != "" {
		return key
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}
