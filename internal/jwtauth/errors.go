package jwtauth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// The reasons a token is rejected. Every error from Verify wraps exactly
// one of them, and their text is what Reason returns to clients.
var (
	// ErrExpired: exp is in the past (beyond the leeway).
	ErrExpired = errors.New("token expired")
	// ErrNoExpiry: the token has no exp, which is refused so that a
	// leaked token cannot be used forever.
	ErrNoExpiry = errors.New("missing expiry")
	// ErrNotYetValid: nbf or iat is in the future (beyond the leeway).
	ErrNotYetValid = errors.New("token not valid yet")
	// ErrSignature: the signature does not verify with the selected key.
	ErrSignature = errors.New("invalid signature")
	// ErrAlgorithm: alg is missing, "none", or does not fit the key.
	ErrAlgorithm = errors.New("algorithm not accepted")
	// ErrMalformed: the token is not a well-formed JWS or a registered
	// claim has the wrong type.
	ErrMalformed = errors.New("malformed token")
	// ErrIssuer: iss is not the configured issuer.
	ErrIssuer = errors.New("wrong issuer")
	// ErrAudience: aud does not contain the configured audience.
	ErrAudience = errors.New("wrong audience")
	// ErrIdentity: the identity claim is absent, empty or not a string.
	ErrIdentity = errors.New("missing identity claim")
	// ErrModels: the models claim is neither an array of strings nor a string.
	ErrModels = errors.New("invalid models claim")
	// ErrGroup: the group claim is not a non-empty string.
	ErrGroup = errors.New("invalid group claim")
	// ErrUnknownKey: no configured key has the token's kid, or the token
	// has no kid and the key set holds several keys.
	ErrUnknownKey = errors.New("unknown key id")
)

// reasons lists every reason Reason may report.
var reasons = []error{
	ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrSignature,
	ErrNoExpiry, ErrExpired, ErrNotYetValid,
	ErrIssuer, ErrAudience, ErrIdentity, ErrModels, ErrGroup,
}

// Reason returns a short, client-safe explanation for an error from Verify.
// It never contains any part of the token, so it may go into a 401 body.
// Errors not from Verify get a generic "invalid token".
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	return "invalid token"
}

// rejection is raised by this package's own checks. It already names its
// reason precisely, so Verify reports it without the library's wrapping.
type rejection struct {
	reason error
	detail string // from configuration only, never from the token
}

func reject(reason error, detail string) *rejection {
	return &rejection{reason: reason, detail: detail}
}

func (r *rejection) Error() string {
	if r.detail == "" {
		return r.reason.Error()
	}
	return r.reason.Error() + ": " + r.detail
}

func (r *rejection) Unwrap() error { return r.reason }

// failure turns an error from the jwt parser into Verify's error: the
// reason first, then the library's explanation for operators' logs.
func (v *Verifier) failure(token string, tok *jwt.Token, err error) error {
	if r, ok := errors.AsType[*rejection](err); ok {
		return fmt.Errorf("jwtauth: %w", r)
	}
	reason := classify(tok, err, v.methods)
	// The library's messages are fixed strings today; this keeps the
	// promise that errors never carry the token should one start quoting
	// its input.
	if quotesToken(err.Error(), token) {
		return fmt.Errorf("jwtauth: %w", reason)
	}
	return fmt.Errorf("jwtauth: %w: %w", reason, err)
}

// classify maps a jwt library error to a reason. The library reports a
// disallowed alg and a bad signature with the same sentinel, so the alg is
// checked against the allow-list again to tell them apart.
func classify(tok *jwt.Token, err error, methods []string) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case tok == nil || tok.Method == nil || !slices.Contains(methods, tok.Method.Alg()):
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrInvalidType):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ErrNoExpiry // exp is the only claim the parser is told to require
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrNotYetValid
	}
	return ErrMalformed
}

// minQuoted is the shortest segment worth guarding: anything shorter
// carries too little of a credential to matter and would match by chance.
const minQuoted = 8

// quotesToken reports whether msg contains one of the token's
// dot-separated segments (or the whole token, when it has no dots).
func quotesToken(msg, token string) bool {
	for seg := range strings.SplitSeq(token, ".") {
		if len(seg) >= minQuoted && strings.Contains(msg, seg) {
			return true
		}
	}
	return false
}
