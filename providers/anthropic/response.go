package anthropic

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// messageResponse is a non-streamed answer of /v1/messages.
type messageResponse struct {
	Type       string         `json:"type"`
	Content    []contentBlock `json:"content"`
	StopReason string         `json:"stop_reason"`
	Usage      usage          `json:"usage"`
	Error      *nativeError   `json:"error"`
}

// contentBlock is a content block of an answer.
type contentBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
}

// usage is Anthropic's usage object. Fields are pointers because a stream's
// message_delta may restate some of them and must not reset the others.
type usage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
}

// merge takes the counts that newer reports.
func (u *usage) merge(newer *usage) {
	if newer == nil {
		return
	}
	for _, f := range [...]struct{ dst, src **int }{
		{&u.InputTokens, &newer.InputTokens},
		{&u.OutputTokens, &newer.OutputTokens},
		{&u.CacheCreationInputTokens, &newer.CacheCreationInputTokens},
		{&u.CacheReadInputTokens, &newer.CacheReadInputTokens},
	} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
}

// openAI counts the whole prompt, cached parts included, as prompt tokens.
func (u *usage) openAI() translate.Usage {
	cached := val(u.CacheReadInputTokens)
	return translate.Usage{
		PromptTokens:        val(u.InputTokens) + val(u.CacheCreationInputTokens) + cached,
		CompletionTokens:    val(u.OutputTokens),
		PromptTokensDetails: &translate.PromptDetails{CachedTokens: cached, CacheWriteTokens: val(u.CacheCreationInputTokens)},
	}
}

func val(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// finishReasons maps stop_reason to finish_reason; anything else is stop.
var finishReasons = map[string]string{
	"end_turn":                      "stop",
	"stop_sequence":                 "stop",
	"pause_turn":                    "stop",
	"max_tokens":                    "length",
	"model_context_window_exceeded": "length",
	"tool_use":                      "tool_calls",
	"refusal":                       "content_filter",
}

// finishReason maps a stop reason; with a response_format tool the tool
// call is the answer itself, so it ends with stop.
func finishReason(stopReason string, jsonMode bool) string {
	reason, ok := finishReasons[stopReason]
	if !ok || (jsonMode && reason == "tool_calls") {
		return "stop"
	}
	return reason
}

// completion translates a non-streamed answer into a chat.completion body.
func completion(answer translate.Answer, body []byte, jsonTool string) ([]byte, *providers.Error) {
	var msg messageResponse
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, providers.NewError(http.StatusBadGateway, "upstream_error", "the upstream answer is not valid JSON")
	}
	if msg.Type == "error" && msg.Error != nil {
		return nil, msg.Error.toError(0)
	}
	if msg.Type != "message" {
		return nil, providers.NewError(http.StatusBadGateway, "upstream_error", "the upstream answer is not an Anthropic message")
	}
	var text, reasoning strings.Builder
	var calls []translate.ToolCall
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			if jsonTool == "" {
				text.WriteString(b.Text)
			}
		case "thinking":
			reasoning.WriteString(b.Thinking)
		case "tool_use":
			args := compactInput(b.Input)
			if jsonTool != "" && b.Name == jsonTool {
				text.WriteString(args)
				continue
			}
			calls = append(calls, translate.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		}
	}
	choice := translate.Choice{Text: text.String(), ReasoningContent: reasoning.String(), ToolCalls: calls,
		FinishReason: finishReason(msg.StopReason, jsonTool != "")}
	return answer.Completion([]translate.Choice{choice}, msg.Usage.openAI()), nil
}

// compactInput writes a tool_use input as the JSON text OpenAI clients
// expect in arguments.
func compactInput(input json.RawMessage) string {
	var buf bytes.Buffer
	if len(input) == 0 || string(input) == "null" || json.Compact(&buf, input) != nil {
		return "{}"
	}
	return buf.String()
}
