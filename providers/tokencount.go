package providers

import (
	"context"
	"net/http"
)

// MessageTokenCounter is implemented by providers whose upstream counts
// the input tokens of an Anthropic Messages request itself (Anthropic's
// `/v1/messages/count_tokens`).
type MessageTokenCounter interface {
	// CountMessageTokens sends body, a count_tokens request in
	// Anthropic's format with its model set, and returns the upstream's
	// answer, `{"input_tokens":N}`. header holds the client's request
	// headers; callerKey is as for ModelLister.ListModels.
	CountMessageTokens(ctx context.Context, body []byte, header http.Header, callerKey string) ([]byte, error)
}
