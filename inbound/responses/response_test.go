package responses

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// TestHandWrittenResponsesMatchEncodingJSON writes responses and their
// output items by hand as providers.MarshalJSON writes them, whatever
// they hold.
func TestHandWrittenResponsesMatchEncodingJSON(t *testing.T) {
	awkward := "quote \" backslash \\ <b>&amp;</b> \n\t é🙂 \u2028 bad \xff"
	n, temperature, topP := int64(7), 0.7, 1e-7
	strict, effort := true, "low"
	rich := &response{ID: "resp_1", Object: "response", CreatedAt: 1700000000, Status: statusIncomplete, CompletedAt: &n,
		Error: &responseError{Code: "server_error", Message: awkward}, IncompleteDetails: &incompleteDetails{Reason: "max_output_tokens"},
		Instructions: &awkward, MaxOutputTokens: &n, Model: awkward, ParallelToolCalls: true, PreviousResponseID: &awkward,
		Reasoning: &reasoningParam{Effort: &effort}, Store: true, Temperature: &temperature, TopP: &topP,
		Text:       textParam{Format: &textFormat{Type: "json_schema", Name: "a", Schema: json.RawMessage(` { "type" : "object" } `), Strict: &strict}, Verbosity: &effort},
		ToolChoice: json.RawMessage(` { "type" : "function", "name" : "f" } `), Tools: []functionTool{{Type: "function", Name: "f", Parameters: json.RawMessage(`{"type": "object"}`)}},
		Truncation: "auto", Usage: &responseUsage{InputTokens: 1, OutputTokens: 2, TotalTokens: 3, InputTokensDetails: inputTokensDetails{4, 5}, OutputTokensDetails: outputTokensDetails{6}},
		User: &awkward, Metadata: map[string]string{"b": awkward, "a": "1"},
		Output: []any{
			&reasoningItem{ID: "rs_1", Type: "reasoning", Summary: []summaryText{{Type: "summary_text", Text: awkward}, {Type: "summary_text"}}},
			&reasoningItem{ID: "rs_2", Type: "reasoning"},
			&messageItem{ID: "msg_1", Type: "message", Status: statusCompleted, Role: "assistant", Content: []any{newText(awkward), &refusalPart{Type: "refusal", Refusal: awkward}}},
			&messageItem{ID: "msg_2", Type: "message", Status: statusInProgress, Role: "assistant"},
			&messageItem{ID: "msg_3", Type: "message", Status: statusInProgress, Role: "assistant", Content: []any{&outputText{Type: "output_text"}}},
			&functionCallItem{ID: "fc_1", Type: "function_call", Status: statusCompleted, Arguments: awkward, CallID: "call_1", Name: awkward},
		}}
	plain := &response{ID: "resp_2", Object: "response", Status: statusInProgress, Model: "m", Output: []any{}, ParallelToolCalls: true,
		Text: textParam{Format: &textFormat{Type: "text"}}, ToolChoice: json.RawMessage(`"auto"`), Tools: []functionTool{}, Truncation: "disabled", Metadata: map[string]string{}}
	bare := &response{}
	for _, r := range []*response{rich, plain, bare} {
		want, err := providers.MarshalJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil, r.encodeOutput()); !bytes.Equal(got, want) {
			t.Errorf("hand-written:\n%s\nencoding/json:\n%s", got, want)
		}
	}
}

// TestReadCompletionMatchesUnmarshal reads chat completions as json.Unmarshal does.
func TestReadCompletionMatchesUnmarshal(t *testing.T) {
	for _, body := range inboundtest.ChatCompletions {
		got, err := readCompletion([]byte(body))
		var want chatCompletion
		wantErr := json.Unmarshal([]byte(body), &want)
		if (err == nil) != (wantErr == nil) || err == nil && !reflect.DeepEqual(*got, want) {
			t.Errorf("%s:\nread    %+v %v\ndecoded %+v %v", body, got, err, want, wantErr)
		}
	}
}
