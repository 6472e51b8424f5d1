package providers

import (
	"encoding/json"
	"fmt"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
)

var includeUsageTrue = []byte(`{"include_usage":true}`)

// WithStreamUsage returns body with `stream_options.include_usage` set to
// true, keeping any other stream option the client sent. The gateway always
// needs the usage of a stream for accounting; the handler strips the usage
// chunk again when the client did not ask for it.
func WithStreamUsage(body []byte) ([]byte, error) {
	start, end, ok, err := jsonscan.Find(body, "stream_options")
	if err != nil {
		return nil, err
	}
	if !ok || jsonscan.IsNull(body[start:end]) {
		return jsonscan.Set(body, "stream_options", includeUsageTrue)
	}
	opts := body[start:end]
	if s, e, found, _ := jsonscan.Find(opts, "include_usage"); found {
		if v, _ := jsonscan.Bool(opts[s:e]); v {
			return body, nil
		}
	}
	updated, err := jsonscan.Set(opts, "include_usage", []byte("true"))
	if err != nil {
		return nil, fmt.Errorf("stream_options: %w", err)
	}
	return jsonscan.Replace(body, start, end, updated), nil
}

// ListFromJSON decodes an OpenAI model list.
func ListFromJSON(body []byte) ([]Model, error) {
	var list struct {
		Data []Model `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("decoding model list: %w", err)
	}
	return list.Data, nil
}
