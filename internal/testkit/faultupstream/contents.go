package faultupstream

import (
	"encoding/json"
	"fmt"
	"strings"
)

// StreamContents decodes an OpenAI chat stream as a client got it and
// returns the content of each chunk that has some, in order: "1", "2", ...
// for a whole stream of this server's. It fails on an event that is not a
// chat.completion.chunk.
func StreamContents(stream []byte) ([]string, error) {
	var out []string
	for _, ev := range strings.SplitAfter(string(stream), "\n\n") {
		data, ok := strings.CutPrefix(strings.TrimSuffix(ev, "\n\n"), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil || chunk.Object != "chat.completion.chunk" {
			return out, fmt.Errorf("event %q is not a chat.completion.chunk: %v", ev, err)
		}
		if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
			out = append(out, chunk.Choices[0].Delta.Content)
		}
	}
	return out, nil
}
