package gemini

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// embedReply answers batchEmbedContents with one vector per request,
// [i, 0.5] for the i-th input of the batch.
var embedReply = providertest.Script(func(r *http.Request) providertest.Reply {
	var req batchEmbedRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	var parts []string
	for i := range req.Requests {
		parts = append(parts, fmt.Sprintf(`{"values":[%d,0.5]}`, i))
	}
	return providertest.Gemini.JSON(http.StatusOK, `{"embeddings":[`+strings.Join(parts, ",")+`]}`)
})

func TestEmbeddings(t *testing.T) {
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	fake.Reply(embedReply)
	call := &providers.Call{Op: providers.Embeddings, Model: "gemini-embedding-001", ClientModel: "embed",
		Body: []byte(`{"model":"gemini-embedding-001","input":["The quick brown fox","jumps"],"dimensions":768}`)}
	resp, err := g.Send(t.Context(), call)
	if err != nil {
		t.Fatal(err)
	}
	body := providertest.ReadAnswer(t, resp)
	if err := openaischema.Validate(openaischema.Embedding, body); err != nil {
		t.Errorf("answer fails OpenAI's schema: %v\n%s", err, body)
	}
	want := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0,0.5]},{"object":"embedding","index":1,"embedding":[1,0.5]}],` +
		`"model":"embed","usage":{"prompt_tokens":5,"total_tokens":5}}`
	if providertest.Canonical(t, body) != providertest.Canonical(t, []byte(want)) {
		t.Errorf("answer = %s", body)
	}
	seen := fake.Last(t)
	if seen.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" || seen.Header.Get("X-Goog-Api-Key") != testKey {
		t.Errorf("upstream saw %s with key %q", seen.Path, seen.Header.Get("X-Goog-Api-Key"))
	}
	wantNative := `{"requests":[
		{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"The quick brown fox"}]},"outputDimensionality":768},
		{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"jumps"}]},"outputDimensionality":768}]}`
	if providertest.Canonical(t, seen.Body) != providertest.Canonical(t, []byte(wantNative)) {
		t.Errorf("upstream got %s", seen.Body)
	}
}

// TestEmbeddingsBatches splits inputs into Gemini's batches of 100 and
// keeps their order.
func TestEmbeddingsBatches(t *testing.T) {
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	fake.Reply(embedReply)
	inputs := make([]string, 150)
	for i := range inputs {
		inputs[i] = "word"
	}
	in, _ := json.Marshal(inputs)
	resp, err := g.Send(t.Context(), &providers.Call{Op: providers.Embeddings, Model: "text-embedding-004", ClientModel: "embed",
		Body: []byte(`{"model":"text-embedding-004","input":` + string(in) + `,"encoding_format":"float"}`)})
	if err != nil {
		t.Fatal(err)
	}
	out := providertest.ReadEmbeddings(t, resp)
	if fake.Count() != 2 || len(out.Data) != 150 || out.Usage.PromptTokens != 150 {
		t.Fatalf("%d upstream calls, %d vectors, usage %d", fake.Count(), len(out.Data), out.Usage.PromptTokens)
	}
	if out.Data[99].Embedding[0] != 99 || out.Data[100].Embedding[0] != 0 || out.Data[149].Index != 149 {
		t.Errorf("vectors out of order: %v %v", out.Data[99], out.Data[100])
	}
}

func TestEmbeddingsErrors(t *testing.T) {
	fake := newFake(t)
	g := newGemini(t, fake.URL)
	call := func(body string) error {
		_, err := g.Send(t.Context(), &providers.Call{Op: providers.Embeddings, Model: "gemini-embedding-001", Body: []byte(body)})
		return err
	}
	if e, ok := errors.AsType[*providers.Error](call(`{"input":[[1,2,3]]}`)); !ok || e.Status != 400 {
		t.Errorf("token arrays: got %v", e)
	}
	fake.Reply(providertest.Gemini.JSON(http.StatusOK, `{"embeddings":[]}`))
	if e, ok := errors.AsType[*providers.Error](call(`{"input":"x"}`)); !ok || e.Status != 502 {
		t.Errorf("missing vectors: got %v", e)
	}
	fake.Reply(providertest.Gemini.JSON(http.StatusBadRequest, providertest.GoogleError(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", "")))
	if e, ok := errors.AsType[*providers.Error](call(`{"input":"x"}`)); !ok || e.Status != 400 || e.Code != "INVALID_ARGUMENT" {
		t.Errorf("upstream 400: got %v", e)
	}
}
