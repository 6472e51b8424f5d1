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

// ChatTokenCounter is implemented by providers whose upstream counts the
// input tokens of a chat request itself in its own API (Gemini's
// `countTokens`), for doors whose clients ask for a count.
type ChatTokenCounter interface {
	// CountChatTokens counts the input tokens of call.Body, an OpenAI chat
	// request, as call.Model's upstream would for its prompt.
	CountChatTokens(ctx context.Context, call *Call) (int, error)
}
