package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// generateRequest is the body of generateContent and streamGenerateContent.
type generateRequest struct {
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	Contents          []content         `json:"contents"`
	Tools             []tool            `json:"tools,omitempty"`
	ToolConfig        *toolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
}

// content is one turn; requests and answers share it.
type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

// part is one piece of a turn. Requests and answers share it; fields of
// other part kinds (executable code, generated media) are ignored.
type part struct {
	Text             string            `json:"text,omitempty"`
	Thought          bool              `json:"thought,omitempty"`
	InlineData       *blob             `json:"inlineData,omitempty"`
	FileData         *fileData         `json:"fileData,omitempty"`
	FunctionCall     *functionCall     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponse `json:"functionResponse,omitempty"`
	ThoughtSignature string            `json:"thoughtSignature,omitempty"`
}

type blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type fileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

type functionCall struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

type functionResponse struct {
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type generationConfig struct {
	Temperature        *float64        `json:"temperature,omitempty"`
	TopP               *float64        `json:"topP,omitempty"`
	TopK               *int            `json:"topK,omitempty"`
	CandidateCount     int             `json:"candidateCount,omitempty"`
	MaxOutputTokens    int             `json:"maxOutputTokens,omitempty"`
	StopSequences      []string        `json:"stopSequences,omitempty"`
	PresencePenalty    *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitempty"`
	Seed               *int64          `json:"seed,omitempty"`
	ResponseMimeType   string          `json:"responseMimeType,omitempty"`
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	ThinkingConfig     *thinkingConfig `json:"thinkingConfig,omitempty"`
}

type thinkingConfig struct {
	// ThinkingBudget has no omitempty: 0 turns thinking off.
	ThinkingBudget  int  `json:"thinkingBudget"`
	IncludeThoughts bool `json:"includeThoughts,omitempty"`
}

// maxStopSequences is Gemini's limit on stopSequences.
const maxStopSequences = 5

// thinkingBudgets maps reasoning_effort to a thinking budget in tokens.
// 24576 is the largest budget every Gemini 2.5 model accepts, so the
// levels above high get it too.
var thinkingBudgets = map[string]int{"none": 0, "minimal": 0, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576, "max": 24576}

// buildRequest maps a decoded OpenAI chat request to Gemini's body. Its
// errors are 400s naming the parameter Gemini cannot honour.
func buildRequest(req *translate.ChatRequest) (*generateRequest, *providers.Error) {
	if perr := refuseUnsupported(req); perr != nil {
		return nil, perr
	}
	out := new(generateRequest)
	if sys := req.SystemText(); sys != "" {
		out.SystemInstruction = &content{Parts: []part{{Text: sys}}}
	}
	var perr *providers.Error
	if out.Contents, perr = buildContents(req.Messages); perr != nil {
		return nil, perr
	}
	if out.Tools, out.ToolConfig, perr = buildTools(req); perr != nil {
		return nil, perr
	}
	if out.GenerationConfig, perr = buildGenerationConfig(req); perr != nil {
		return nil, perr
	}
	return out, nil
}

// refuseUnsupported rejects parameters whose effect a client relies on and
// Gemini cannot give; parameters that only tune delivery are dropped
// instead (see the README).
func refuseUnsupported(req *translate.ChatRequest) *providers.Error {
	if raw, ok := req.Raw["logprobs"]; ok && string(bytes.TrimSpace(raw)) == "true" {
		return translate.Unsupported("logprobs", "the gemini provider does not return logprobs")
	}
	if raw, ok := req.Raw["logit_bias"]; ok {
		var bias map[string]json.RawMessage
		if json.Unmarshal(raw, &bias) == nil && len(bias) > 0 {
			return translate.Unsupported("logit_bias", "Gemini has no logit_bias")
		}
	}
	if len(req.Stop) > maxStopSequences {
		return translate.Unsupported("stop", fmt.Sprintf("Gemini accepts at most %d stop sequences", maxStopSequences))
	}
	return nil
}

// buildGenerationConfig maps the sampling and output parameters; nil when
// the client set none.
func buildGenerationConfig(req *translate.ChatRequest) (*generationConfig, *providers.Error) {
	gc := &generationConfig{
		Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK,
		CandidateCount: req.N, MaxOutputTokens: req.MaxTokens, StopSequences: req.Stop,
		PresencePenalty: req.PresencePenalty, FrequencyPenalty: req.FrequencyPenalty, Seed: req.Seed,
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			if rf.JSONSchema != nil && rf.JSONSchema.Schema != nil {
				schema, err := json.Marshal(rf.JSONSchema.Schema)
				if err != nil {
					return nil, translate.Invalid("response_format", "response_format.json_schema.schema is not valid JSON")
				}
				gc.ResponseJSONSchema = schema
			}
		default:
			return nil, translate.Unsupported("response_format", fmt.Sprintf("response_format type %q is not supported by the gemini provider", rf.Type))
		}
	}
	if effort := req.ReasoningEffort; effort != "" {
		budget, ok := thinkingBudgets[effort]
		if !ok {
			return nil, translate.Invalid("reasoning_effort", fmt.Sprintf("unknown reasoning_effort %q; use none, minimal, low, medium, high or xhigh", effort))
		}
		// Thoughts can only be shown when there are any.
		gc.ThinkingConfig = &thinkingConfig{ThinkingBudget: budget, IncludeThoughts: budget > 0}
	}
	if isEmpty(gc) {
		return nil, nil
	}
	return gc, nil
}

func isEmpty(gc *generationConfig) bool {
	return gc.Temperature == nil && gc.TopP == nil && gc.TopK == nil && gc.CandidateCount == 0 &&
		gc.MaxOutputTokens == 0 && len(gc.StopSequences) == 0 && gc.PresencePenalty == nil &&
		gc.FrequencyPenalty == nil && gc.Seed == nil && gc.ResponseMimeType == "" && gc.ThinkingConfig == nil
}
