package anthropic

import (
	"encoding/json"
	"regexp"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// defaultJSONTool names the forced tool when the schema's name does not
// fit Anthropic's rules for tool names.
const defaultJSONTool = "json_response"

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// anyObject is the schema of a json_object answer.
var anyObject = json.RawMessage(`{"type":"object"}`)

// applyResponseFormat implements response_format json_schema and
// json_object with a forced tool whose input schema is the wanted schema:
// this works on every Claude model, where Anthropic's own structured
// output (output_config) depends on the model. The tool's input comes
// back as the answer's content. It returns the tool's name, or "" when
// the client wants text.
func applyResponseFormat(out *messagesRequest, chat *translate.ChatRequest, budget int) (string, *providers.Error) {
	raw := chat.Raw["response_format"]
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var format struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Schema      json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(raw, &format); err != nil {
		return "", translate.Invalid("response_format", "response_format must be an object with a type")
	}
	t := tool{Name: defaultJSONTool, Description: "Give the answer as this tool's input.", InputSchema: anyObject}
	switch format.Type {
	case "", "text":
		return "", nil
	case "json_object":
	case "json_schema":
		s := format.JSONSchema
		if s == nil || len(s.Schema) == 0 || string(s.Schema) == "null" {
			return "", translate.Invalid("response_format.json_schema.schema", "response_format json_schema needs json_schema.schema")
		}
		if toolName.MatchString(s.Name) {
			t.Name = s.Name
		}
		if s.Description != "" {
			t.Description = s.Description
		}
		t.InputSchema = s.Schema
	default:
		return "", translate.Invalid("response_format.type", "response_format.type must be text, json_object or json_schema")
	}
	if len(out.Tools) > 0 {
		return "", translate.Unsupported("response_format", "the anthropic provider cannot combine response_format with tools")
	}
	if budget > 0 {
		return "", translate.Unsupported("response_format", "the anthropic provider cannot combine response_format with reasoning_effort: Anthropic models do not think while forced to answer in a format")
	}
	out.Tools = []tool{t}
	out.ToolChoice = &toolChoice{Type: "tool", Name: t.Name}
	return t.Name, nil
}
