// Package conformance runs Go clients against a running gateway: OpenAI's
// (github.com/sashabaranov/go-openai, github.com/openai/openai-go/v3) and
// Anthropic's (github.com/anthropics/anthropic-sdk-go/v2).
// .ci/conformance starts the gateway and sets LLM_GATEWAY_URL,
// LLM_GATEWAY_KEY and LLM_GATEWAY_LIMITED_KEY; without them every test is
// skipped.
package conformance

import (
	"os"
	"strings"
	"testing"
)

// fixedReply is what the conformance Caddyfile's fixed-reply model answers.
const fixedReply = "The quick brown fox jumps over the lazy dog."

type gateway struct {
	url        string // without /v1
	key        string
	limitedKey string
}

func (g gateway) baseURL() string { return g.url + "/v1" }

// needGateway returns the gateway under test, or skips t.
func needGateway(t *testing.T) gateway {
	t.Helper()
	g := gateway{
		url:        strings.TrimRight(os.Getenv("LLM_GATEWAY_URL"), "/"),
		key:        os.Getenv("LLM_GATEWAY_KEY"),
		limitedKey: os.Getenv("LLM_GATEWAY_LIMITED_KEY"),
	}
	if g.url == "" || g.key == "" {
		t.Skip("LLM_GATEWAY_URL and LLM_GATEWAY_KEY are not set: run .ci/conformance, which starts a gateway")
	}
	return g
}
