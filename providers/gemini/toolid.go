package gemini

import (
	"encoding/base64"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// Tool-call ids carry Gemini's thought signatures.
//
// Thinking models attach an opaque `thoughtSignature` to the functionCall
// parts they produce and require it back on those parts in the next
// request. OpenAI clients keep nothing of a tool call but its id, name and
// arguments, so the signature travels inside the id the gateway makes up:
//
//	call_<24 hex digits>                 no signature
//	call_<24 hex digits>_<signature>     signature as unpadded base64url
//
// The id stays within [A-Za-z0-9_-], which every client and provider
// accepts. When the client sends the call back, the signature is decoded
// from the id and set on the functionCall part again.
const (
	idPrefix = "call_"
	// idRandom is the length of "call_" plus translate.NewID's 24 hex digits.
	idRandom = len(idPrefix) + 24
)

// callID makes the id of a tool call answered with signature.
func callID(signature string) string {
	id := translate.NewID(idPrefix)
	if signature == "" {
		return id
	}
	raw, ok := decodeBase64(signature)
	if !ok {
		return id // not base64: it could not go back upstream as bytes anyway
	}
	return id + "_" + base64.RawURLEncoding.EncodeToString(raw)
}

// signatureFromID recovers the thought signature from an id made by
// callID; any other id gives "".
func signatureFromID(id string) string {
	if len(id) <= idRandom+1 || !strings.HasPrefix(id, idPrefix) || id[idRandom] != '_' || !isHex(id[len(idPrefix):idRandom]) {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(id[idRandom+1:])
	if err != nil || len(raw) == 0 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// decodeBase64 accepts the standard and URL alphabets, padded or not:
// Google's JSON encodes bytes as standard padded base64 but accepts all.
func decodeBase64(s string) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil && len(raw) > 0 {
			return raw, true
		}
	}
	return nil, false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
