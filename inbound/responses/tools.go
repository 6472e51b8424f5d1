package responses

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// functionTool is a function tool as the Responses API writes it, and as
// a Response echoes it.
type functionTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
}

// chatTool is a function tool as the chat API writes it.
type chatTool struct {
	Type     string           `json:"type"`
	Function chatToolFunction `json:"function"`
}

type chatToolFunction struct {
	Name        string          `json:"name"`
	Description *string         `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// chatToolChoice is a chat tool_choice that names a function.
type chatToolChoice struct {
	Type     string       `json:"type"`
	Function chatToolName `json:"function"`
}

type chatToolName struct {
	Name string `json:"name"`
}

// toolSet is the tools of a request: the function tools the model is
// offered, and the others, which the provider cannot run and which are
// left out of the call.
type toolSet struct {
	functions []functionTool
	// left names the tools left out, by type (and name when they have
	// one), in the request's order.
	left []string
	// choice is the request's tool_choice as the Response echoes it.
	choice json.RawMessage
}

// readTools sorts a request's tools.
func readTools(raw []json.RawMessage) (*toolSet, *providers.Error) {
	ts := &toolSet{}
	for i, r := range raw {
		var head struct {
			Type string `json:"type"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal(r, &head); err != nil {
			return nil, translate.Invalid(fmt.Sprintf("tools[%d]", i), "tools must be objects with a type")
		}
		if head.Type != "function" {
			ts.left = append(ts.left, toolLabel(head.Type, head.Name))
			continue
		}
		var f functionTool
		if err := json.Unmarshal(r, &f); err != nil || f.Name == "" {
			return nil, translate.Invalid(fmt.Sprintf("tools[%d]", i), "a function tool needs a name")
		}
		if len(f.Parameters) == 0 || isNull(f.Parameters) {
			f.Parameters = nil
		}
		ts.functions = append(ts.functions, f)
	}
	return ts, nil
}

// toolLabel names a left-out tool in logs and errors.
func toolLabel(typ, name string) string {
	if name == "" {
		return typ
	}
	return typ + " " + name
}

// chatTools are the function tools in the chat API's form, in order.
func (ts *toolSet) chatTools() []chatTool {
	out := make([]chatTool, len(ts.functions))
	for i, f := range ts.functions {
		out[i] = chatTool{Type: "function", Function: chatToolFunction{f.Name, f.Description, f.Parameters, f.Strict}}
	}
	return out
}

// echoed is the function tools as a Response lists them; built-in tools
// the model was not offered are not among them.
func (ts *toolSet) echoed() []functionTool {
	out := make([]functionTool, len(ts.functions))
	for i, f := range ts.functions {
		if f.Parameters == nil {
			f.Parameters = json.RawMessage("null")
		}
		out[i] = f
	}
	return out
}

// choose turns `tool_choice` into the chat API's; the caller drops it
// when no function is left to offer. A choice that forces a
// tool the provider cannot run is refused, naming it; allowed_tools
// narrows the offered functions to those it lists.
func (ts *toolSet) choose(raw json.RawMessage) (any, *providers.Error) {
	if len(raw) == 0 || isNull(raw) {
		ts.choice = json.RawMessage(`"auto"`)
		return nil, nil
	}
	ts.choice = raw
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		switch mode {
		case "none", "auto":
			return mode, nil
		case "required":
			if len(ts.functions) == 0 && len(ts.left) > 0 {
				return nil, ts.cannotRun("tool_choice", strings.Join(ts.left, ", "))
			}
			return mode, nil
		}
		return nil, translate.Invalid("tool_choice", fmt.Sprintf("unknown tool_choice %q: want none, auto or required", mode))
	}
	var choice struct {
		Type  string `json:"type"`
		Name  string `json:"name"`
		Mode  string `json:"mode"`
		Tools []struct {
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(raw, &choice); err != nil {
		return nil, translate.Invalid("tool_choice", "tool_choice must be a string or an object with a type")
	}
	switch choice.Type {
	case "function":
		if !ts.offers(choice.Name) {
			return nil, translate.Invalid("tool_choice.name", fmt.Sprintf("tool_choice names the function %q, which is not among the tools", choice.Name))
		}
		return chatToolChoice{Type: "function", Function: chatToolName{choice.Name}}, nil
	case "allowed_tools":
		var keep []string
		var cannot []string
		for _, t := range choice.Tools {
			if t.Type == "function" && ts.offers(t.Name) {
				keep = append(keep, t.Name)
			} else {
				cannot = append(cannot, toolLabel(t.Type, t.Name))
			}
		}
		if len(keep) == 0 && choice.Mode == "required" {
			return nil, ts.cannotRun("tool_choice.tools", strings.Join(cannot, ", "))
		}
		ts.functions = slices.DeleteFunc(ts.functions, func(f functionTool) bool { return !slices.Contains(keep, f.Name) })
		if choice.Mode == "required" {
			return "required", nil
		}
		return "auto", nil
	}
	return nil, ts.cannotRun("tool_choice.type", toolLabel(choice.Type, choice.Name))
}

// offers reports whether name is one of the function tools.
func (ts *toolSet) offers(name string) bool {
	return slices.ContainsFunc(ts.functions, func(f functionTool) bool { return f.Name == name })
}

// cannotRun refuses a tool_choice that forces the named tools, which the
// provider behind the model cannot run.
func (ts *toolSet) cannotRun(param, tools string) *providers.Error {
	return translate.Unsupported(param, "tool_choice forces "+tools+", which the provider behind this model cannot run: only function tools are offered to it through the gateway")
}
