package conformance

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gopenai "github.com/sashabaranov/go-openai"
)

func goOpenAIClient(g gateway, key string) *gopenai.Client {
	cfg := gopenai.DefaultConfig(key)
	cfg.BaseURL = g.baseURL()
	return gopenai.NewClientWithConfig(cfg)
}

func hello(model string) gopenai.ChatCompletionRequest {
	return gopenai.ChatCompletionRequest{
		Model:    model,
		Messages: []gopenai.ChatCompletionMessage{{Role: gopenai.ChatMessageRoleUser, Content: "Hello, gateway!"}},
	}
}

func TestGoOpenAIChat(t *testing.T) {
	g := needGateway(t)
	r, err := goOpenAIClient(g, g.key).CreateChatCompletion(context.Background(), hello("gpt-4o-mini"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Object != "chat.completion" || r.Model != "gpt-4o-mini" || !strings.HasPrefix(r.ID, "chatcmpl-") {
		t.Errorf("object %q model %q id %q", r.Object, r.Model, r.ID)
	}
	if len(r.Choices) != 1 || r.Choices[0].Message.Content != "Hello, gateway!" || r.Choices[0].FinishReason != gopenai.FinishReasonStop {
		t.Fatalf("choices = %+v", r.Choices)
	}
	if r.Usage.TotalTokens != r.Usage.PromptTokens+r.Usage.CompletionTokens || r.Usage.CompletionTokens == 0 {
		t.Errorf("usage = %+v", r.Usage)
	}
	// go-openai keeps the response headers: the rate-limit ones included.
	h := r.Header()
	if h.Get("X-RateLimit-Limit") != "1000" || h.Get("X-RateLimit-Remaining") == "" || h.Get("X-RateLimit-Reset") == "" {
		t.Errorf("rate-limit headers missing: %v", h)
	}
	rl := r.GetRateLimitHeaders() // go-openai's parser of OpenAI's x-ratelimit-*-requests/-tokens
	if rl.LimitRequests != 1000 || rl.LimitTokens != 1000000 || rl.RemainingRequests <= 0 {
		t.Errorf("GetRateLimitHeaders = %+v", rl)
	}
}

func TestGoOpenAIStream(t *testing.T) {
	g := needGateway(t)
	req := hello("fixed-reply")
	req.Stream = true
	req.StreamOptions = &gopenai.StreamOptions{IncludeUsage: true}
	s, err := goOpenAIClient(g, g.key).CreateChatCompletionStream(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ct := s.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type %q", ct)
	}
	var text strings.Builder
	var chunks int
	var usage *gopenai.Usage
	var finish gopenai.FinishReason
	var first, last time.Time
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Object != "chat.completion.chunk" {
			t.Errorf("object %q", c.Object)
		}
		if c.Usage != nil {
			usage = c.Usage
		}
		if len(c.Choices) == 0 {
			continue
		}
		if d := c.Choices[0].Delta.Content; d != "" {
			if chunks == 0 {
				first = time.Now()
			}
			last = time.Now()
			text.WriteString(d)
			chunks++
		}
		if c.Choices[0].FinishReason != "" {
			finish = c.Choices[0].FinishReason
		}
	}
	if text.String() != fixedReply || chunks < 5 || finish != gopenai.FinishReasonStop {
		t.Errorf("text %q in %d chunks, finish %q", text.String(), chunks, finish)
	}
	if usage == nil || usage.CompletionTokens != chunks {
		t.Errorf("usage = %+v, want completion_tokens %d", usage, chunks)
	}
	if spread := last.Sub(first); spread < 60*time.Millisecond {
		t.Errorf("chunks arrived within %v: the stream is buffered", spread)
	}
}

func TestGoOpenAIErrors(t *testing.T) {
	g := needGateway(t)
	_, err := goOpenAIClient(g, g.key).CreateChatCompletion(context.Background(), hello("no-such-model"))
	var apiErr *gopenai.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %T %v, want *openai.APIError", err, err)
	}
	if apiErr.HTTPStatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" || apiErr.Type != "invalid_request_error" {
		t.Errorf("404: %+v", apiErr)
	}

	_, err = goOpenAIClient(g, "not-a-gateway-key").CreateChatCompletion(context.Background(), hello("gpt-4o-mini"))
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusUnauthorized || apiErr.Code != "invalid_api_key" {
		t.Errorf("401: %T %v", err, err)
	}
	if err != nil && strings.Contains(err.Error(), "not-a-gateway-key") {
		t.Error("the error quotes the key")
	}

	// A streamed request that fails before the stream starts.
	req := hello("no-such-model")
	req.Stream = true
	_, err = goOpenAIClient(g, g.key).CreateChatCompletionStream(context.Background(), req)
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != http.StatusNotFound {
		t.Errorf("streamed 404: %T %v", err, err)
	}
}

func TestGoOpenAIModelsAndEmbeddings(t *testing.T) {
	g := needGateway(t)
	c := goOpenAIClient(g, g.key)
	models, err := c.ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range models.Models {
		ids[m.ID] = true
	}
	if len(ids) != 3 || !ids["gpt-4o-mini"] || !ids["fixed-reply"] || !ids["text-embedding-3-small"] {
		t.Errorf("models = %v", ids)
	}
	e, err := c.CreateEmbeddings(context.Background(), gopenai.EmbeddingRequestStrings{
		Input: []string{"a", "b"}, Model: "text-embedding-3-small",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Data) != 2 || len(e.Data[0].Embedding) == 0 || e.Data[1].Index != 1 {
		t.Errorf("embeddings = %+v", e)
	}
}
