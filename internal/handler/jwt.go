package handler

import (
	"net/http"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/internal/jwtauth"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// JWTAuth lets in callers whose bearer token is a JWT the verifier
// accepts. The identity claim names the caller for limits and logs, and
// an optional models claim limits the models it may use.
type JWTAuth struct {
	Verifier *jwtauth.Verifier
	// Groups are the configured groups a token's group claim may name.
	Groups map[string]*Group
}

// Authenticate verifies the caller's token.
func (a JWTAuth) Authenticate(r *http.Request) (*Caller, *providers.Error) {
	token := presentedKey(r)
	if token == "" {
		return nil, missingKey()
	}
	claims, err := a.Verifier.Verify(token)
	if err != nil {
		return nil, providers.NewError(http.StatusUnauthorized, "invalid_token", "Invalid token: "+jwtauth.Reason(err)+".")
	}
	c := newCaller(claims.Identity, "jwt:"+claims.Identity)
	if claims.Group != "" {
		g, ok := a.Groups[claims.Group]
		if !ok {
			return nil, providers.NewError(http.StatusForbidden, "unknown_group",
				"The token names a group the gateway does not know: "+providers.Clip(claims.Group, 64)+".")
		}
		c.Group = g
	}
	if claims.Models != nil {
		c.Models = make(map[string]bool, len(claims.Models))
		for _, m := range claims.Models {
			c.Models[strings.TrimSpace(m)] = true
		}
	}
	return c, nil
}
