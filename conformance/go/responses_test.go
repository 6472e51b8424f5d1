package conformance

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
)

func helloResponse(model string) responses.ResponseNewParams {
	return responses.ResponseNewParams{
		Model: model,
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello, gateway!")},
	}
}

func TestOpenAIGoResponsesNew(t *testing.T) {
	g := needGateway(t)
	r, err := officialClient(g, g.key).Responses.New(context.Background(), helloResponse("gpt-4o-mini"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.ID, "resp_") || r.Status != responses.ResponseStatusCompleted || r.Model != "gpt-4o-mini" {
		t.Errorf("id %q status %q model %q", r.ID, r.Status, r.Model)
	}
	if got := r.OutputText(); got != "Hello, gateway!" { // the echo model
		t.Errorf("output text %q", got)
	}
	if len(r.Output) != 1 || r.Output[0].Type != "message" || r.Output[0].Role != "assistant" || !strings.HasPrefix(r.Output[0].ID, "msg_") {
		t.Errorf("output %s", r.JSON.Output.Raw())
	}
	// The mock counts words.
	if u := r.Usage; u.InputTokens != 2 || u.OutputTokens != 2 || u.TotalTokens != 4 ||
		!u.InputTokensDetails.JSON.CachedTokens.Valid() || !u.OutputTokensDetails.JSON.ReasoningTokens.Valid() {
		t.Errorf("usage %s", r.JSON.Usage.Raw())
	}
}

func TestOpenAIGoResponsesStreaming(t *testing.T) {
	g := needGateway(t)
	s := officialClient(g, g.key).Responses.NewStreaming(context.Background(), helloResponse("fixed-reply"))
	defer s.Close()
	var types []string
	var text strings.Builder
	var completed *responses.Response
	var first, last time.Time
	for s.Next() {
		e := s.Current()
		if e.SequenceNumber != int64(len(types)) {
			t.Errorf("event %d (%s) has sequence_number %d", len(types), e.Type, e.SequenceNumber)
		}
		types = append(types, e.Type)
		switch e.Type {
		case "response.output_text.delta":
			if text.Len() == 0 {
				first = time.Now()
			}
			last = time.Now()
			text.WriteString(e.AsResponseOutputTextDelta().Delta)
		case "response.output_text.done":
			if got := e.AsResponseOutputTextDone().Text; got != fixedReply {
				t.Errorf("output_text.done text %q", got)
			}
		case "response.completed":
			r := e.AsResponseCompleted().Response
			completed = &r
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	words := len(strings.Fields(fixedReply))
	want := slices.Concat(
		[]string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"},
		slices.Repeat([]string{"response.output_text.delta"}, words),
		[]string{"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"},
	)
	if !slices.Equal(types, want) {
		t.Errorf("events\n%v\nwant\n%v", types, want)
	}
	if text.String() != fixedReply {
		t.Errorf("accumulated %q", text.String())
	}
	if completed == nil {
		t.Fatal("no response.completed event")
	}
	if completed.Status != responses.ResponseStatusCompleted || completed.OutputText() != fixedReply ||
		completed.Usage.OutputTokens != int64(words) || completed.Usage.InputTokens != 2 {
		t.Errorf("completed: status %q text %q usage %s", completed.Status, completed.OutputText(), completed.JSON.Usage.Raw())
	}
	if spread := last.Sub(first); spread < 60*time.Millisecond {
		t.Errorf("deltas arrived within %v: the stream is buffered", spread)
	}
}

func TestOpenAIGoResponsesGetAndDelete(t *testing.T) {
	g := needGateway(t)
	ctx := context.Background()
	c := officialClient(g, g.key)
	created, err := c.Responses.New(ctx, helloResponse("gpt-4o-mini"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Responses.Get(ctx, created.ID, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got.RawJSON() != created.RawJSON() {
		t.Errorf("retrieved\n%s\ncreated\n%s", got.RawJSON(), created.RawJSON())
	}
	if err := c.Responses.Delete(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	var apiErr *openai.Error
	_, err = c.Responses.Get(ctx, created.ID, responses.ResponseGetParams{})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "not_found" {
		t.Errorf("GET after DELETE: %v, want a 404", err)
	}
	if err := c.Responses.Delete(ctx, created.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE after DELETE: %v, want a 404", err)
	}
}
