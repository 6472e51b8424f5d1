package ollama

import (
	"bytes"
	"encoding/json"

	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// chatAnswer is one object of Ollama's chat answer: a stream line, or the
// whole non-streamed answer.
type chatAnswer struct {
	Message struct {
		Content   string     `json:"content"`
		Thinking  string     `json:"thinking"`
		ToolCalls []toolCall `json:"tool_calls"`
	} `json:"message"`
	Done            bool   `json:"done"`
	DoneReason      string `json:"done_reason"`
	PromptEvalCount int    `json:"prompt_eval_count"`
	EvalCount       int    `json:"eval_count"`
	Error           string `json:"error"`
}

// usage reads the counts of the final object; Ollama leaves out
// prompt_eval_count when the whole prompt came from its cache.
func (a *chatAnswer) usage() translate.Usage {
	return translate.Usage{PromptTokens: a.PromptEvalCount, CompletionTokens: a.EvalCount}
}

// finishReason maps done_reason. Ollama says `stop` after tool calls too,
// so the calls seen decide `tool_calls`; load and unload (a request that
// only loaded the model) end normally.
func finishReason(doneReason string, sawToolCalls bool) string {
	switch {
	case doneReason == "length":
		return "length"
	case sawToolCalls:
		return "tool_calls"
	}
	return "stop"
}

// callID keeps Ollama's id when newer builds send one, else makes one up:
// clients need it to link their tool results to the call.
func callID(tc *toolCall) string {
	if tc.ID != "" {
		return tc.ID
	}
	return translate.NewID("call_")
}

// argumentsText is OpenAI's form of a call's arguments: JSON text. A call
// without arguments still gets `{}`, so clients can always parse it.
func argumentsText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "{}"
	}
	if raw[0] == '"' { // arguments already encoded as a string
		var s string
		if json.Unmarshal(raw, &s) == nil && json.Valid([]byte(s)) {
			return s
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return "{}"
	}
	return buf.String()
}

// chatCompletion turns a non-streamed Ollama answer into OpenAI's body.
func chatCompletion(answer translate.Answer, raw []byte) ([]byte, error) {
	var a chatAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, badAnswer("chat answer", err)
	}
	if a.Error != "" {
		return nil, streamError(a.Error)
	}
	choice := translate.Choice{Text: a.Message.Content, ReasoningContent: a.Message.Thinking}
	for i := range a.Message.ToolCalls {
		tc := &a.Message.ToolCalls[i]
		choice.ToolCalls = append(choice.ToolCalls, translate.ToolCall{ID: callID(tc), Name: tc.Function.Name,
			Arguments: argumentsText(tc.Function.Arguments)})
	}
	choice.FinishReason = finishReason(a.DoneReason, len(choice.ToolCalls) > 0)
	return answer.Completion([]translate.Choice{choice}, a.usage()), nil
}
