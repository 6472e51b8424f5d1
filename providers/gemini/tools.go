package gemini

import (
	"encoding/json"
	"fmt"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

type tool struct {
	FunctionDeclarations []functionDeclaration `json:"functionDeclarations"`
}

type functionDeclaration struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// ParametersJSONSchema takes plain JSON Schema; Gemini's older
	// `parameters` field takes an OpenAPI subset that rejects keywords
	// OpenAI clients commonly send, such as additionalProperties.
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

type toolConfig struct {
	FunctionCallingConfig functionCallingConfig `json:"functionCallingConfig"`
}

type functionCallingConfig struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

// toolModes maps OpenAI's tool_choice modes to Gemini's.
var toolModes = map[string]string{"auto": "AUTO", "none": "NONE", "required": "ANY"}

// buildTools maps tools to one Gemini tool of function declarations, and
// tool_choice to a function-calling mode.
func buildTools(req *translate.ChatRequest) ([]tool, *toolConfig, *providers.Error) {
	var decls []functionDeclaration
	for i, t := range req.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type != "function" && t.Type != "" {
			return nil, nil, translate.Unsupported(param+".type", fmt.Sprintf("tools of type %q are not supported by the gemini provider", t.Type))
		}
		if t.Function == nil || t.Function.Name == "" {
			return nil, nil, translate.Invalid(param+".function.name", "a function tool needs a name")
		}
		d := functionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if t.Function.Parameters != nil {
			schema, err := json.Marshal(t.Function.Parameters)
			if err != nil {
				return nil, nil, translate.Invalid(param+".function.parameters", "the parameters schema is not valid JSON")
			}
			if string(schema) != "null" {
				d.ParametersJSONSchema = schema
			}
		}
		decls = append(decls, d)
	}
	choice := req.ToolChoice
	if choice == nil {
		if len(decls) == 0 {
			return nil, nil, nil
		}
		return []tool{{FunctionDeclarations: decls}}, nil, nil
	}
	if len(decls) == 0 {
		if choice.Mode == "none" || choice.Mode == "auto" {
			return nil, nil, nil // nothing to choose from either way
		}
		return nil, nil, translate.Invalid("tool_choice", "tool_choice requires tools")
	}
	cfg := &toolConfig{}
	if choice.Function != "" {
		cfg.FunctionCallingConfig = functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{choice.Function}}
	} else {
		cfg.FunctionCallingConfig.Mode = toolModes[choice.Mode]
	}
	return []tool{{FunctionDeclarations: decls}}, cfg, nil
}
