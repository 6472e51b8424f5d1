package gemini

import (
	"context"
	"net/http"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

func TestCountChatTokens(t *testing.T) {
	fake := providertest.NewUpstream(t, providertest.Gemini.JSON(http.StatusOK,
		`{"totalTokens":31,"promptTokensDetails":[{"modality":"TEXT","tokenCount":31}]}`))
	g := newGemini(t, fake.URL)
	body := []byte(`{"model":"gemini-2.5-flash","max_tokens":1,"temperature":0.5,"messages":[` +
		`{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"}],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`)
	n, err := g.CountChatTokens(context.Background(), chatCall(body, false))
	if err != nil {
		t.Fatal(err)
	}
	if n != 31 {
		t.Errorf("counted %d, want Gemini's 31", n)
	}
	got := fake.Last(t)
	if got.Path != "/v1beta/models/gemini-2.5-flash:countTokens" || got.Header.Get("X-Goog-Api-Key") != testKey {
		t.Errorf("asked %s with key %q", got.Path, got.Header.Get("X-Goog-Api-Key"))
	}
	want := []byte(`{"generateContentRequest":{"model":"models/gemini-2.5-flash",` +
		`"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Weather in Paris?"}]}],` +
		`"tools":[{"functionDeclarations":[{"name":"get_weather","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}}}}]}]}}`)
	if providertest.Canonical(t, got.Body) != providertest.Canonical(t, want) {
		t.Errorf("sent %s\nwant %s", got.Body, want)
	}
}

func TestCountChatTokensErrors(t *testing.T) {
	cases := []struct {
		name  string
		reply providertest.Reply
		want  int // the status of the providers.Error; 0 for another error
	}{
		{"upstream refusal", providertest.Gemini.JSON(http.StatusNotFound, providertest.GoogleError(404, "NOT_FOUND", "models/nope is not found", "")), http.StatusNotFound},
		{"no totalTokens", providertest.Gemini.JSON(http.StatusOK, `{}`), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGemini(t, providertest.NewUpstream(t, tc.reply).URL)
			_, err := g.CountChatTokens(context.Background(), chatCall([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`), false))
			perr, isAPIError := err.(*providers.Error)
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.want != 0 && (!isAPIError || perr.Status != tc.want):
				t.Errorf("got %v, want status %d", err, tc.want)
			case tc.want == 0 && isAPIError:
				t.Errorf("got %v, want a failed call", err)
			}
		})
	}
}
