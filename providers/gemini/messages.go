package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// buildContents maps the conversation to Gemini turns. System and
// developer messages go to systemInstruction instead; tool results become
// functionResponse parts of a user turn; consecutive turns of one role are
// merged, as Gemini expects roles to alternate.
func buildContents(msgs []translate.Message) ([]content, *providers.Error) {
	var out []content
	// Gemini's functionResponse needs the function's name, which OpenAI's
	// tool messages only give by the id of the call.
	names := make(map[string]string)
	for i, m := range msgs {
		var turn content
		var perr *providers.Error
		switch m.Role {
		case "system", "developer":
			continue
		case "user":
			turn.Role = "user"
			turn.Parts, perr = userParts(m)
		case "assistant":
			turn.Role = "model"
			turn.Parts, perr = modelParts(m, names)
		case "tool":
			turn.Role = "user"
			turn.Parts, perr = toolResult(m, names)
		}
		if perr != nil {
			perr.Param = fmt.Sprintf("messages[%d]%s", i, perr.Param)
			return nil, perr
		}
		if len(turn.Parts) == 0 {
			continue // Gemini rejects a turn without parts
		}
		if n := len(out); n > 0 && out[n-1].Role == turn.Role {
			out[n-1].Parts = append(out[n-1].Parts, turn.Parts...)
			continue
		}
		out = append(out, turn)
	}
	if len(out) == 0 {
		return nil, translate.Invalid("messages", "messages must hold at least one user or assistant message with content")
	}
	return out, nil
}

func userParts(m translate.Message) ([]part, *providers.Error) {
	if len(m.Parts) == 0 {
		if m.Text == "" {
			return nil, nil
		}
		return []part{{Text: m.Text}}, nil
	}
	parts := make([]part, 0, len(m.Parts))
	for _, p := range m.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" { // Gemini rejects empty text parts
				parts = append(parts, part{Text: p.Text})
			}
		case "image_url":
			img, perr := imagePart(p)
			if perr != nil {
				return nil, perr
			}
			parts = append(parts, img)
		}
	}
	return parts, nil
}

// imagePart sends a data: URL inline and any other URL by reference.
func imagePart(p translate.Part) (part, *providers.Error) {
	if mediaType, data, ok := p.ImageData(); ok {
		if mediaType == "" {
			mediaType = "image/jpeg"
		}
		return part{InlineData: &blob{MimeType: mediaType, Data: data}}, nil
	}
	if strings.HasPrefix(p.ImageURL, "data:") {
		return part{}, translate.Invalid(".content", "an image data URL must be base64: data:<media type>;base64,<data>")
	}
	u, err := url.Parse(p.ImageURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "gs") {
		return part{}, translate.Invalid(".content", "an image_url must be a data: URL, an http(s) URL or a gs:// URI")
	}
	return part{FileData: &fileData{MimeType: guessMIME(u.Path), FileURI: p.ImageURL}}, nil
}

// imageTypes are the media types Gemini accepts for images, by extension.
var imageTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".heic": "image/heic", ".heif": "image/heif",
}

// guessMIME names the media type of an image by its URL's extension:
// fileData needs one, and OpenAI's image_url does not carry it.
func guessMIME(urlPath string) string {
	if t, ok := imageTypes[strings.ToLower(path.Ext(urlPath))]; ok {
		return t
	}
	return "image/jpeg"
}

// modelParts maps an assistant message: its reasoning as a thought part,
// its text, then its tool calls with the thought signatures their ids
// carry.
func modelParts(m translate.Message, names map[string]string) ([]part, *providers.Error) {
	var parts []part
	if m.ReasoningContent != "" {
		parts = append(parts, part{Text: m.ReasoningContent, Thought: true})
	}
	if m.Text != "" {
		parts = append(parts, part{Text: m.Text})
	}
	for j, tc := range m.ToolCalls {
		if tc.Type != "" && tc.Type != "function" {
			return nil, translate.Unsupported(fmt.Sprintf(".tool_calls[%d].type", j), fmt.Sprintf("tool calls of type %q are not supported by the gemini provider", tc.Type))
		}
		if tc.Function.Name == "" {
			return nil, translate.Invalid(fmt.Sprintf(".tool_calls[%d].function.name", j), "a tool call needs a function name")
		}
		args, perr := callArguments(tc.Function.Arguments)
		if perr != nil {
			perr.Param = fmt.Sprintf(".tool_calls[%d].function.arguments", j)
			return nil, perr
		}
		if tc.ID != "" {
			names[tc.ID] = tc.Function.Name
		}
		parts = append(parts, part{
			FunctionCall:     &functionCall{Name: tc.Function.Name, Args: args},
			ThoughtSignature: signatureFromID(tc.ID),
		})
	}
	return parts, nil
}

// callArguments turns a tool call's argument text into Gemini's args
// object; no arguments at all is an empty object.
func callArguments(arguments string) (json.RawMessage, *providers.Error) {
	text := bytes.TrimSpace([]byte(arguments))
	if len(text) == 0 {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid(text) || text[0] != '{' {
		return nil, translate.Invalid("", "tool call arguments must be a JSON object")
	}
	return text, nil
}

// toolResult maps a tool message to a functionResponse part.
func toolResult(m translate.Message, names map[string]string) ([]part, *providers.Error) {
	name := names[m.ToolCallID]
	if name == "" {
		name = m.Name
	}
	if name == "" {
		return nil, translate.Invalid(".tool_call_id", fmt.Sprintf("tool_call_id %q matches no tool call of an earlier assistant message; Gemini needs the function's name", m.ToolCallID))
	}
	for _, p := range m.Parts {
		if p.Type != "text" {
			return nil, translate.Unsupported(".content", "the gemini provider takes only text in tool messages")
		}
	}
	return []part{{FunctionResponse: &functionResponse{Name: name, Response: resultObject(m.Text)}}}, nil
}

// resultObject makes a tool's output the JSON object Gemini requires: an
// object as is, any other JSON value or plain text as {"output": ...}.
func resultObject(text string) json.RawMessage {
	trimmed := bytes.TrimSpace([]byte(text))
	if len(trimmed) > 0 && json.Valid(trimmed) {
		if trimmed[0] == '{' {
			return trimmed
		}
		return append(append([]byte(`{"output":`), trimmed...), '}')
	}
	quoted, _ := json.Marshal(text) // a string cannot fail
	return append(append([]byte(`{"output":`), quoted...), '}')
}
