package conformance

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// officialClient is openai-go without retries, so that a failing gateway
// fails the test instead of being retried away.
func officialClient(g gateway, key string) *openai.Client {
	c := openai.NewClient(
		option.WithBaseURL(g.baseURL()),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
		option.WithRequestTimeout(20*time.Second),
	)
	return &c
}

func helloParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello, gateway!")},
	}
}

func TestOpenAIGoChatAndHeaders(t *testing.T) {
	g := needGateway(t)
	var resp *http.Response
	c, err := officialClient(g, g.key).Chat.Completions.New(context.Background(), helloParams("fixed-reply"),
		option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Choices) != 1 || c.Choices[0].Message.Content != fixedReply || c.Choices[0].FinishReason != "stop" {
		t.Fatalf("choices = %+v", c.Choices)
	}
	if c.Model != "fixed-reply" || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens {
		t.Errorf("model %q usage %+v", c.Model, c.Usage)
	}
	// Fields OpenAI's schema requires even when null: openai-go records
	// whether they were present.
	if !c.Choices[0].JSON.Logprobs.Valid() && c.Choices[0].JSON.Logprobs.Raw() != "null" {
		t.Errorf("choices[0].logprobs is missing (raw %q)", c.Choices[0].JSON.Logprobs.Raw())
	}
	if c.Choices[0].Message.JSON.Refusal.Raw() != "null" {
		t.Errorf("message.refusal raw %q, want null", c.Choices[0].Message.JSON.Refusal.Raw())
	}
	if resp.Header.Get("X-RateLimit-Limit") != "1000" {
		t.Errorf("X-RateLimit-Limit %q", resp.Header.Get("X-RateLimit-Limit"))
	}
	reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	now := time.Now().Unix()
	if err != nil || reset < now || reset > now+61 {
		t.Errorf("X-RateLimit-Reset %q is not unix seconds within the window", resp.Header.Get("X-RateLimit-Reset"))
	}
}

func TestOpenAIGoStream(t *testing.T) {
	g := needGateway(t)
	params := helloParams("fixed-reply")
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	var resp *http.Response
	s := officialClient(g, g.key).Chat.Completions.NewStreaming(context.Background(), params, option.WithResponseInto(&resp))
	defer s.Close()
	acc := openai.ChatCompletionAccumulator{}
	var chunks int
	var first, last time.Time
	for s.Next() {
		chunk := s.Current()
		acc.AddChunk(chunk)
		if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
			if chunks == 0 {
				first = time.Now()
			}
			last = time.Now()
			chunks++
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != fixedReply || chunks < 5 {
		t.Errorf("accumulated %q in %d chunks", got, chunks)
	}
	if acc.Usage.CompletionTokens != int64(chunks) {
		t.Errorf("usage %+v, want completion_tokens %d", acc.Usage, chunks)
	}
	if resp == nil || resp.Header.Get("X-Accel-Buffering") != "no" || resp.Header.Get("X-RateLimit-Remaining") == "" {
		t.Errorf("stream headers: %v", resp)
	}
	if spread := last.Sub(first); spread < 60*time.Millisecond {
		t.Errorf("chunks arrived within %v: the stream is buffered", spread)
	}
}

func TestOpenAIGoErrors(t *testing.T) {
	g := needGateway(t)
	_, err := officialClient(g, g.key).Chat.Completions.New(context.Background(), helloParams("no-such-model"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %T %v, want *openai.Error", err, err)
	}
	if apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" || apiErr.Param != "model" {
		t.Errorf("404: status %d code %q param %q", apiErr.StatusCode, apiErr.Code, apiErr.Param)
	}

	_, err = officialClient(g, "not-a-gateway-key").Chat.Completions.New(context.Background(), helloParams("fixed-reply"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Type != "authentication_error" {
		t.Errorf("401: %T %v", err, err)
	}
	if err != nil && strings.Contains(err.Error(), "not-a-gateway-key") {
		t.Error("the error quotes the key")
	}

	// A stream that fails before it starts reports the error from Err.
	s := officialClient(g, g.key).Chat.Completions.NewStreaming(context.Background(), helloParams("no-such-model"))
	for s.Next() {
		t.Error("a chunk from a failed stream")
	}
	if !errors.As(s.Err(), &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("streamed 404: %v", s.Err())
	}
}

func TestOpenAIGoRateLimited(t *testing.T) {
	g := needGateway(t)
	if g.limitedKey == "" {
		t.Skip("LLM_GATEWAY_LIMITED_KEY is not set")
	}
	c := officialClient(g, g.limitedKey)
	// 1 request an hour: the first call may pass, the second cannot.
	_, _ = c.Chat.Completions.New(context.Background(), helloParams("fixed-reply"))
	_, err := c.Chat.Completions.New(context.Background(), helloParams("fixed-reply"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("error %T %v, want a 429", err, err)
	}
	if ra, err := strconv.Atoi(apiErr.Response.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q", apiErr.Response.Header.Get("Retry-After"))
	}
}

func TestOpenAIGoEmbeddings(t *testing.T) {
	g := needGateway(t)
	e, err := officialClient(g, g.key).Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"x", "y", "x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Data) != 3 || len(e.Data[0].Embedding) == 0 {
		t.Fatalf("embeddings = %+v", e)
	}
	for i := range e.Data[0].Embedding {
		if e.Data[0].Embedding[i] != e.Data[2].Embedding[i] {
			t.Fatal("equal inputs gave different vectors")
		}
	}
}
