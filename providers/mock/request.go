package mock

import (
	"encoding/json"
	"strings"
)

// request holds the fields of any OpenAI request body the mock reads.
type request struct {
	Messages            []inMessage     `json:"messages"`
	Prompt              json.RawMessage `json:"prompt"`
	Input               json.RawMessage `json:"input"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Dimensions          int             `json:"dimensions"`
	EncodingFormat      string          `json:"encoding_format"`
}

type inMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func (r *request) maxTokens() int {
	if r.MaxCompletionTokens > 0 {
		return r.MaxCompletionTokens
	}
	return r.MaxTokens
}

func (r *request) lastUserText() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return contentText(r.Messages[i].Content)
		}
	}
	return ""
}

func (r *request) promptWords() int {
	n := 0
	for _, m := range r.Messages {
		n += countWords(contentText(m.Content))
	}
	return n
}

func (r *request) promptText() string {
	return strings.Join(texts(r.Prompt), "\n")
}

// contentText reads a message's content: a string or an array of parts, of
// which the text parts count.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// texts reads a prompt or embeddings input: a string or an array of
// strings. Token arrays are rendered as their numbers.
func texts(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var tokens []json.Number
	if json.Unmarshal(raw, &tokens) == nil {
		return []string{joinNumbers(tokens)}
	}
	var batches [][]json.Number
	if json.Unmarshal(raw, &batches) == nil {
		out := make([]string, len(batches))
		for i, b := range batches {
			out[i] = joinNumbers(b)
		}
		return out
	}
	return nil
}

func joinNumbers(ns []json.Number) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	return strings.Join(parts, " ")
}

func countWords(s string) int { return len(strings.Fields(s)) }
