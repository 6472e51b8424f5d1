package responses

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// chatMessage is one message of the chat request.
type chatMessage struct {
	Role string `json:"role"`
	// Content is a string, a list of chatParts, or nil: null for an
	// assistant message that only calls tools.
	Content          any            `json:"content"`
	ReasoningContent string         `json:"reasoning_content,omitempty"`
	ToolCalls        []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID       string         `json:"tool_call_id,omitempty"`
}

// chatPart is one content part of a chat message.
type chatPart struct {
	Type     string     `json:"type"`
	Text     string     `json:"text,omitempty"`
	ImageURL *chatImage `json:"image_url,omitempty"`
	File     *chatFile  `json:"file,omitempty"`
}

type chatImage struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

type chatFile struct {
	FileData string `json:"file_data"`
	Filename string `json:"filename,omitempty"`
}

// chatToolCall is a function call of an assistant message.
type chatToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// inputItem is what the door reads of one item of `input`.
type inputItem struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	// A function_call's, and a function_call_output's call_id.
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	// A function_call_output's output: a string or content parts.
	Output json.RawMessage `json:"output"`
	// A reasoning item's summary.
	Summary []struct {
		Text string `json:"text"`
	} `json:"summary"`
}

// inputPart is what the door reads of one content part of a message item.
type inputPart struct {
	Type     string  `json:"type"`
	Text     string  `json:"text"`
	Refusal  string  `json:"refusal"`
	ImageURL *string `json:"image_url"`
	FileID   *string `json:"file_id"`
	Detail   string  `json:"detail"`
	FileData string  `json:"file_data"`
	Filename string  `json:"filename"`
	FileURL  string  `json:"file_url"`
}

// readItems turns input items into chat messages. A function call joins
// the assistant message before it, as the calls of one turn do in the
// chat API; a reasoning item's summary goes back as the next assistant
// message's reasoning_content. The items before first come from earlier
// responses; errors name the others by their place in the request's
// `input`.
func readItems(items []json.RawMessage, first int) ([]chatMessage, *providers.Error) {
	var out []chatMessage
	var reasoning []string
	for i, rawItem := range items {
		param := fmt.Sprintf("input[%d]", i-first)
		var item inputItem
		if err := json.Unmarshal(rawItem, &item); err != nil {
			return nil, translate.Invalid(param, "input items must be objects: "+err.Error())
		}
		if item.Type == "" && item.Role != "" {
			item.Type = "message"
		}
		switch item.Type {
		case "message":
			m, perr := messageFromItem(&item, param)
			if perr != nil {
				return nil, perr
			}
			out = append(out, m)
		case "function_call":
			if item.CallID == "" || item.Name == "" {
				return nil, translate.Invalid(param, "a function_call item needs a call_id and a name")
			}
			call := chatToolCall{ID: item.CallID, Type: "function", Function: chatFunction{item.Name, item.Arguments}}
			if n := len(out); n > 0 && out[n-1].Role == "assistant" {
				out[n-1].ToolCalls = append(out[n-1].ToolCalls, call)
			} else {
				out = append(out, chatMessage{Role: "assistant", ToolCalls: []chatToolCall{call}})
			}
		case "function_call_output":
			if item.CallID == "" {
				return nil, translate.Invalid(param+".call_id", "a function_call_output item needs the call_id of its function_call")
			}
			content, perr := toolOutput(item.Output, param+".output")
			if perr != nil {
				return nil, perr
			}
			out = append(out, chatMessage{Role: "tool", ToolCallID: item.CallID, Content: content})
		case "reasoning":
			for _, s := range item.Summary {
				reasoning = append(reasoning, s.Text)
			}
			continue
		case "item_reference":
			return nil, translate.Unsupported(param, "the gateway keeps no earlier items: send the item itself instead of an item_reference")
		default:
			return nil, translate.Unsupported(param+".type", fmt.Sprintf("input items of type %q cannot be sent to this model through the gateway", item.Type))
		}
		if n := len(out); len(reasoning) > 0 && out[n-1].Role == "assistant" && out[n-1].ReasoningContent == "" {
			out[n-1].ReasoningContent = strings.Join(reasoning, "\n\n")
		}
		reasoning = reasoning[:0]
	}
	return out, nil
}

// messageFromItem turns a message item into a chat message.
func messageFromItem(item *inputItem, param string) (chatMessage, *providers.Error) {
	switch item.Role {
	case "user", "assistant", "system", "developer":
	default:
		return chatMessage{}, translate.Invalid(param+".role", fmt.Sprintf("unknown role %q: want user, assistant, system or developer", item.Role))
	}
	if text, ok := readString(item.Content); ok {
		return chatMessage{Role: item.Role, Content: text}, nil
	}
	var parts []inputPart
	if json.Unmarshal(item.Content, &parts) != nil {
		return chatMessage{}, translate.Invalid(param+".content", "content must be a string or an array of content parts")
	}
	content, perr := chatContent(parts, param+".content")
	if perr != nil {
		return chatMessage{}, perr
	}
	return chatMessage{Role: item.Role, Content: content}, nil
}

// toolOutput is a function_call_output's output as chat content.
func toolOutput(raw json.RawMessage, param string) (any, *providers.Error) {
	if text, ok := readString(raw); ok {
		return text, nil
	}
	var parts []inputPart
	if json.Unmarshal(raw, &parts) != nil {
		return nil, translate.Invalid(param, "output must be a string or an array of content parts")
	}
	return chatContent(parts, param)
}

// readString reads raw as json.Unmarshal reads it into a string: ok for a
// JSON string, and for null, which leaves it empty.
func readString(raw []byte) (string, bool) {
	if jsonscan.IsNull(raw) {
		return "", true
	}
	return jsonscan.String(raw)
}

// chatContent turns content parts into chat content: one text part
// becomes a string, as every provider reads it.
func chatContent(parts []inputPart, param string) (any, *providers.Error) {
	out := make([]chatPart, 0, len(parts))
	for j, p := range parts {
		at := fmt.Sprintf("%s[%d]", param, j)
		switch p.Type {
		case "input_text", "output_text", "text":
			out = append(out, chatPart{Type: "text", Text: p.Text})
		case "refusal":
			out = append(out, chatPart{Type: "text", Text: p.Refusal})
		case "input_image":
			if p.ImageURL == nil || *p.ImageURL == "" {
				return nil, translate.Unsupported(at+".file_id", "images are sent to this model through the gateway as image_url (a URL or a data: URL), not as file ids")
			}
			detail := p.Detail
			if detail == "auto" {
				detail = ""
			}
			out = append(out, chatPart{Type: "image_url", ImageURL: &chatImage{URL: *p.ImageURL, Detail: detail}})
		case "input_file":
			if p.FileData == "" {
				return nil, translate.Unsupported(at, "files are sent to this model through the gateway as file_data, not as file ids or URLs")
			}
			out = append(out, chatPart{Type: "file", File: &chatFile{FileData: p.FileData, Filename: p.Filename}})
		default:
			return nil, translate.Unsupported(at+".type", fmt.Sprintf("content parts of type %q cannot be sent to this model through the gateway", p.Type))
		}
	}
	if len(out) == 1 && out[0].Type == "text" {
		return out[0].Text, nil
	}
	return out, nil
}
