package responses

import (
	"encoding/json"
	"fmt"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// inputMessage is a user, system or developer message as input_items
// lists it.
type inputMessage struct {
	ID      string           `json:"id"`
	Type    string           `json:"type"`
	Role    string           `json:"role"`
	Status  string           `json:"status"`
	Content []map[string]any `json:"content"`
}

// functionCallOutput is a function_call_output item as input_items lists
// it.
type functionCallOutput struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	CallID string          `json:"call_id"`
	Output json.RawMessage `json:"output"`
	Status string          `json:"status"`
}

// inputItems is a request's `input` as items, in the form input_items
// lists them and a later response's input takes them back: each with an
// id (the client's, else a new one) and a status, a message's text as
// content parts. Items of other types stay as they came, for readItems to
// refuse.
func inputItems(raw json.RawMessage) ([]json.RawMessage, *providers.Error) {
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	if text, ok := readString(raw); ok {
		return []json.RawMessage{userText(text)}, nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, translate.Invalid("input", "input must be a string or an array of items")
	}
	out := make([]json.RawMessage, len(items))
	for i, rawItem := range items {
		var item inputItem
		if err := json.Unmarshal(rawItem, &item); err != nil {
			return nil, translate.Invalid(fmt.Sprintf("input[%d]", i), "input items must be objects: "+err.Error())
		}
		v, perr := itemResource(&item, fmt.Sprintf("input[%d]", i))
		if perr != nil {
			return nil, perr
		}
		if v == nil {
			out[i] = rawItem
			continue
		}
		b, err := providers.MarshalJSON(v)
		if err != nil {
			return nil, toProviderError(err)
		}
		out[i] = b
	}
	return out, nil
}

// userText is a user message of text alone, as input_items lists it:
// written by hand, the JSON providers.MarshalJSON makes of its
// inputMessage, as nearly every request's input is a string.
func userText(text string) json.RawMessage {
	b := appendMember(make([]byte, 0, 128+len(text)+len(text)/8), `{"id":`, translate.NewID("msg_"))
	b = append(b, `,"type":"message","role":"user","status":"completed","content":[{"text":`...)
	b = translate.AppendJSONStringKeepHTML(b, text)
	return append(b, `,"type":"input_text"}]}`...)
}

// itemResource is an input item in the form input_items lists it; nil
// for an item of a type the gateway does not keep.
func itemResource(item *inputItem, param string) (any, *providers.Error) {
	if item.Type == "" && item.Role != "" {
		item.Type = "message"
	}
	id := func(prefix string) string {
		if item.ID != "" {
			return item.ID
		}
		return translate.NewID(prefix)
	}
	switch item.Type {
	case "message":
		if item.Role == "assistant" {
			return assistantResource(item, id("msg_"), param)
		}
		if text, ok := readString(item.Content); ok {
			return &inputMessage{ID: id("msg_"), Type: "message", Role: item.Role, Status: statusCompleted,
				Content: []map[string]any{{"type": "input_text", "text": text}}}, nil
		}
		var parts []map[string]any
		if json.Unmarshal(item.Content, &parts) != nil {
			return nil, translate.Invalid(param+".content", "content must be a string or an array of content parts")
		}
		for _, p := range parts {
			if p["type"] == "input_image" && p["detail"] == nil {
				p["detail"] = "auto"
			}
		}
		return &inputMessage{ID: id("msg_"), Type: "message", Role: item.Role, Status: statusCompleted, Content: parts}, nil
	case "function_call":
		return &functionCallItem{ID: id("fc_"), Type: "function_call", Status: statusCompleted,
			Arguments: item.Arguments, CallID: item.CallID, Name: item.Name}, nil
	case "function_call_output":
		return &functionCallOutput{ID: id("fco_"), Type: "function_call_output", CallID: item.CallID, Output: item.Output, Status: statusCompleted}, nil
	case "reasoning":
		summary := make([]summaryText, len(item.Summary))
		for i, s := range item.Summary {
			summary[i] = summaryText{Type: "summary_text", Text: s.Text}
		}
		return &reasoningItem{ID: id("rs_"), Type: "reasoning", Summary: summary}, nil
	}
	return nil, nil
}

// assistantResource is an assistant message of the input as an output
// message, its text as output_text parts.
func assistantResource(item *inputItem, id, param string) (any, *providers.Error) {
	if text, ok := readString(item.Content); ok {
		return newMessageWithID(id, newText(text)), nil
	}
	var parts []inputPart
	if json.Unmarshal(item.Content, &parts) != nil {
		return nil, translate.Invalid(param+".content", "content must be a string or an array of content parts")
	}
	content := make([]any, len(parts))
	for i, p := range parts {
		if p.Type == "refusal" {
			content[i] = &refusalPart{Type: "refusal", Refusal: p.Refusal}
		} else {
			content[i] = newText(p.Text)
		}
	}
	return newMessageWithID(id, content...), nil
}

// toProviderError is a failure to encode an item, which cannot happen for
// these types.
func toProviderError(err error) *providers.Error {
	if err == nil {
		return nil
	}
	return translate.Invalid("input", "the input cannot be kept: "+err.Error())
}
