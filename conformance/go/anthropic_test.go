package conformance

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/anthropics/anthropic-sdk-go/v2/shared"
)

// anthropicClient is github.com/anthropics/anthropic-sdk-go/v2 pointed at
// the gateway (it adds /v1 itself) with the key auth gives it
// (option.WithAPIKey: x-api-key; option.WithAuthToken: Bearer); retries
// off, so a failure shows.
func anthropicClient(g gateway, auth option.RequestOption) *anthropic.Client {
	c := anthropic.NewClient(option.WithBaseURL(g.url), auth, option.WithMaxRetries(0),
		option.WithRequestTimeout(20*time.Second))
	return &c
}

var anthropicHello = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello, gateway!"))}

func TestAnthropicMessagesNew(t *testing.T) {
	g := needGateway(t)
	m, err := anthropicClient(g, option.WithAPIKey(g.key)).Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "fixed-reply", MaxTokens: 64, Messages: anthropicHello,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 1 || m.Content[0].Type != "text" || m.Content[0].Text != fixedReply {
		t.Fatalf("content %s", m.RawJSON())
	}
	if m.Model != "fixed-reply" || m.StopReason != anthropic.StopReasonEndTurn || m.Role != "assistant" || m.Type != "message" {
		t.Errorf("model %q, stop_reason %q, role %q, type %q", m.Model, m.StopReason, m.Role, m.Type)
	}
	if len(m.ID) < 5 || m.ID[:4] != "msg_" {
		t.Errorf("id %q", m.ID)
	}
	if m.Usage.InputTokens != 2 || m.Usage.OutputTokens != 9 || m.Usage.CacheReadInputTokens != 0 {
		t.Errorf("usage %s", m.Usage.RawJSON())
	}
}

// TestAnthropicMessagesNewStreaming reads the event stream with the SDK's
// union type and accumulates it into a Message, as its docs show.
func TestAnthropicMessagesNewStreaming(t *testing.T) {
	g := needGateway(t)
	stream := anthropicClient(g, option.WithAuthToken(g.key)).Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model: "fixed-reply", MaxTokens: 64, Messages: anthropicHello,
	})
	var m anthropic.Message
	var events []string
	text := ""
	for stream.Next() {
		e := stream.Current()
		if err := m.Accumulate(e); err != nil {
			t.Fatal(err)
		}
		name := e.Type
		if e.Type == "content_block_delta" {
			name = e.Delta.Type
			text += e.Delta.Text
		}
		events = append(events, name)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"message_start", "content_block_start"}
	for range 9 { // the mock sends a word at a time
		want = append(want, "text_delta")
	}
	want = append(want, "content_block_stop", "message_delta", "message_stop")
	if !slices.Equal(events, want) {
		t.Errorf("events %v\nwant %v", events, want)
	}
	if text != fixedReply {
		t.Errorf("deltas %q", text)
	}
	if len(m.Content) != 1 || m.Content[0].Text != fixedReply || m.StopReason != anthropic.StopReasonEndTurn || m.Model != "fixed-reply" {
		t.Errorf("accumulated %+v", m)
	}
	if m.Usage.OutputTokens != 9 {
		t.Errorf("output tokens %d", m.Usage.OutputTokens)
	}
}

func TestAnthropicCountTokens(t *testing.T) {
	g := needGateway(t)
	n, err := anthropicClient(g, option.WithAPIKey(g.key)).Messages.CountTokens(context.Background(), anthropic.MessageCountTokensParams{
		Model: "fixed-reply", Messages: anthropicHello,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The gateway's estimate: 3 for the message, 4 for its 15 characters.
	if n.InputTokens != 7 {
		t.Errorf("input tokens %d, want 7", n.InputTokens)
	}
}

func TestAnthropicTypedErrors(t *testing.T) {
	g := needGateway(t)
	cases := []struct {
		name   string
		client *anthropic.Client
		model  string
		status int
		typ    shared.ErrorType
	}{
		{"unknown model", anthropicClient(g, option.WithAPIKey(g.key)), "claude-nope", 404, shared.ErrorTypeNotFoundError},
		{"wrong key", anthropicClient(g, option.WithAPIKey("not-a-gateway-key")), "fixed-reply", 401, shared.ErrorTypeAuthenticationError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.Messages.New(context.Background(), anthropic.MessageNewParams{
				Model: tc.model, MaxTokens: 8, Messages: anthropicHello,
			})
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("got %T %v, want *anthropic.Error", err, err)
			}
			if apiErr.StatusCode != tc.status || apiErr.Type() != tc.typ || apiErr.Message == "" {
				t.Errorf("status %d, type %q, message %q; want %d %q", apiErr.StatusCode, apiErr.Type(), apiErr.Message, tc.status, tc.typ)
			}
		})
	}
}

// TestAnthropicModels lists the models in Anthropic's shape, which the
// gateway answers to clients that send anthropic-version.
func TestAnthropicModels(t *testing.T) {
	g := needGateway(t)
	pager := anthropicClient(g, option.WithAPIKey(g.key)).Models.ListAutoPaging(context.Background(), anthropic.ModelListParams{})
	var ids []string
	for pager.Next() {
		m := pager.Current()
		if m.DisplayName != m.ID || m.CreatedAt.IsZero() || m.Type != "model" {
			t.Errorf("model %s", m.RawJSON())
		}
		ids = append(ids, m.ID)
	}
	if err := pager.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	if want := []string{"fixed-reply", "gpt-4o-mini", "text-embedding-3-small"}; !slices.Equal(ids, want) {
		t.Errorf("models %v, want %v", ids, want)
	}
}
