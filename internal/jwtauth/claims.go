package jwtauth

import (
	"slices"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// claims applies the checks that depend on configuration rather than on
// the clock, once the signature is known to be good. Issuer and audience
// are checked here, not by the parser, so each failure maps to exactly one
// reason without picking apart the library's joined errors.
func (v *Verifier) claims(mc jwt.MapClaims) (Claims, error) {
	if err := v.checkIssuer(mc); err != nil {
		return Claims{}, err
	}
	if err := v.checkAudience(mc); err != nil {
		return Claims{}, err
	}
	id, err := v.identity(mc)
	if err != nil {
		return Claims{}, err
	}
	models, err := v.models(mc)
	if err != nil {
		return Claims{}, err
	}
	group, err := v.group(mc)
	if err != nil {
		return Claims{}, err
	}
	return Claims{Identity: id, Models: models, Group: group}, nil
}

// group reads the group claim. A claim of the wrong shape is rejected:
// ignoring it would free the caller of the group's budget.
func (v *Verifier) group(mc jwt.MapClaims) (string, error) {
	if v.groupClaim == "" {
		return "", nil
	}
	raw, ok := mc[v.groupClaim]
	if !ok {
		return "", nil
	}
	group, ok := raw.(string)
	if !ok || group == "" {
		return "", reject(ErrGroup, "claim "+strconv.Quote(v.groupClaim)+" is not a non-empty string")
	}
	return group, nil
}

func (v *Verifier) checkIssuer(mc jwt.MapClaims) error {
	if v.issuer == "" {
		return nil
	}
	iss, err := mc.GetIssuer()
	if err != nil {
		return reject(ErrIssuer, "iss is not a string")
	}
	if iss == "" {
		return reject(ErrIssuer, "token has no iss")
	}
	if iss != v.issuer {
		return reject(ErrIssuer, "")
	}
	return nil
}

func (v *Verifier) checkAudience(mc jwt.MapClaims) error {
	if v.audience == "" {
		return nil
	}
	aud, err := mc.GetAudience()
	if err != nil {
		return reject(ErrAudience, "aud is neither a string nor an array of strings")
	}
	if len(aud) == 0 {
		return reject(ErrAudience, "token has no aud")
	}
	if !slices.Contains(aud, v.audience) {
		return reject(ErrAudience, "")
	}
	return nil
}

func (v *Verifier) identity(mc jwt.MapClaims) (string, error) {
	id, _ := mc[v.identityClaim].(string)
	if id == "" {
		return "", reject(ErrIdentity, "claim "+strconv.Quote(v.identityClaim)+" is not a non-empty string")
	}
	return id, nil
}

// models reads the models claim. A claim of the wrong shape is rejected
// rather than ignored: ignoring it would lift the restriction it carries.
func (v *Verifier) models(mc jwt.MapClaims) ([]string, error) {
	if v.modelsClaim == "" {
		return nil, nil
	}
	raw, ok := mc[v.modelsClaim]
	if !ok {
		return nil, nil
	}
	models, ok := parseModels(raw)
	if !ok {
		return nil, reject(ErrModels, "claim "+strconv.Quote(v.modelsClaim)+" is neither an array of strings nor a string")
	}
	return models, nil
}

// parseModels accepts an array of strings or, as OAuth scopes are written,
// a space-separated string. The result is non-nil even when empty, since
// an empty list means "no models" and nil means "no restriction".
func parseModels(raw any) ([]string, bool) {
	switch m := raw.(type) {
	case string:
		return append([]string{}, strings.Fields(m)...), true
	case []any:
		out := make([]string, 0, len(m))
		for _, item := range m {
			s, ok := item.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}
