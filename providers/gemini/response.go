package gemini

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/translate"
)

// generateResponse is a GenerateContentResponse: a whole answer, or one
// event of a stream. Error is only ever set on a stream event.
type generateResponse struct {
	Candidates     []candidate     `json:"candidates"`
	PromptFeedback *promptFeedback `json:"promptFeedback"`
	UsageMetadata  *usageMetadata  `json:"usageMetadata"`
	Error          *apiError       `json:"error"`
}

type candidate struct {
	// Index is nil when Gemini leaves out a zero index.
	Index        *int     `json:"index"`
	Content      *content `json:"content"`
	FinishReason string   `json:"finishReason"`
}

type promptFeedback struct {
	BlockReason        string `json:"blockReason"`
	BlockReasonMessage string `json:"blockReasonMessage"`
}

type usageMetadata struct {
	PromptTokenCount        int `json:"promptTokenCount"`
	CandidatesTokenCount    int `json:"candidatesTokenCount"`
	ThoughtsTokenCount      int `json:"thoughtsTokenCount"`
	CachedContentTokenCount int `json:"cachedContentTokenCount"`
}

// usage converts Gemini's counts: thinking is billed as output, so it is
// part of completion_tokens as with OpenAI's reasoning models.
func (u *usageMetadata) usage() translate.Usage {
	if u == nil {
		u = new(usageMetadata)
	}
	return translate.Usage{
		PromptTokens:            u.PromptTokenCount,
		CompletionTokens:        u.CandidatesTokenCount + u.ThoughtsTokenCount,
		PromptTokensDetails:     &translate.PromptDetails{CachedTokens: u.CachedContentTokenCount},
		CompletionTokensDetails: &translate.CompletionDetails{ReasoningTokens: u.ThoughtsTokenCount},
	}
}

// contentFilterReasons are the finish reasons that mean Gemini withheld or
// cut the answer for policy reasons.
var contentFilterReasons = map[string]bool{
	"SAFETY": true, "RECITATION": true, "BLOCKLIST": true, "PROHIBITED_CONTENT": true, "SPII": true,
	"IMAGE_SAFETY": true, "IMAGE_PROHIBITED_CONTENT": true, "IMAGE_RECITATION": true,
}

// finishReason maps Gemini's finishReason. Gemini ends a turn of function
// calls with STOP, so whether the candidate called tools decides between
// stop and tool_calls. Reasons with no OpenAI counterpart (OTHER,
// LANGUAGE, MALFORMED_FUNCTION_CALL, ...) end the answer as stop.
func finishReason(reason string, calledTools bool) string {
	switch {
	case reason == "MAX_TOKENS":
		return "length"
	case contentFilterReasons[reason]:
		return "content_filter"
	case calledTools:
		return "tool_calls"
	default:
		return "stop"
	}
}

// blocked is the error for a prompt Gemini refused to answer at all: it
// answers 200 with no candidates and the reason in promptFeedback.
func blocked(pf *promptFeedback) *providers.Error {
	msg := "the prompt was blocked by Gemini (blockReason " + pf.BlockReason + ")"
	if pf.BlockReasonMessage != "" {
		msg += ": " + pf.BlockReasonMessage
	}
	e := providers.NewError(http.StatusBadRequest, "content_filter", msg)
	e.Param = "messages"
	return e
}

// completionBody maps a whole generateContent answer to OpenAI's
// chat.completion body.
func completionBody(body []byte, model string) ([]byte, *providers.Error) {
	var r generateResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, providers.NewError(http.StatusBadGateway, "upstream_error", "the upstream answered with a body that is not a Gemini response")
	}
	if len(r.Candidates) == 0 {
		if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
			return nil, blocked(r.PromptFeedback)
		}
		return nil, providers.NewError(http.StatusBadGateway, "upstream_error", "the upstream answered with no candidates")
	}
	cands := r.Candidates
	sort.SliceStable(cands, func(i, j int) bool { return indexOf(cands[i], i) < indexOf(cands[j], j) })
	choices := make([]translate.Choice, len(cands))
	for i, c := range cands {
		choices[i] = choiceOf(c)
	}
	return translate.NewAnswer(model).Completion(choices, r.UsageMetadata.usage()), nil
}

// indexOf is a candidate's index, or its position when Gemini left the
// index out.
func indexOf(c candidate, pos int) int {
	if c.Index == nil || *c.Index < 0 {
		return pos
	}
	return *c.Index
}

func choiceOf(c candidate) translate.Choice {
	var ch translate.Choice
	var text, reasoning strings.Builder
	if c.Content != nil {
		for _, p := range c.Content.Parts {
			switch {
			case p.FunctionCall != nil:
				ch.ToolCalls = append(ch.ToolCalls, translate.ToolCall{
					ID: callID(p.ThoughtSignature), Name: p.FunctionCall.Name, Arguments: argumentsText(p.FunctionCall.Args),
				})
			case p.Thought:
				reasoning.WriteString(p.Text)
			default:
				text.WriteString(p.Text)
			}
		}
	}
	ch.Text, ch.ReasoningContent = text.String(), reasoning.String()
	ch.FinishReason = finishReason(c.FinishReason, len(ch.ToolCalls) > 0)
	return ch
}

// argumentsText is the JSON text of a call's args; a call without
// arguments gets "{}" so that clients always parse valid JSON.
func argumentsText(args json.RawMessage) string {
	var buf bytes.Buffer
	if len(args) == 0 || json.Compact(&buf, args) != nil || buf.String() == "null" {
		return "{}"
	}
	return buf.String()
}
