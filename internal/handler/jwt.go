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
	if claims.Models != nil {
		c.Models = make(map[string]bool, len(claims.Models))
		for _, m := range claims.Models {
			c.Models[strings.TrimSpace(m)] = true
		}
	}
	return c, nil
}
