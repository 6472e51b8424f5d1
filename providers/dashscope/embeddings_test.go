package dashscope

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// embedAnswerFor answers each batch with vectors [text_index, len(text)],
// listed in reverse order to check that text_index decides the order.
func embedAnswerFor(r *http.Request) providertest.Reply {
	var req embedRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	var items []string
	for i := len(req.Input.Texts) - 1; i >= 0; i-- {
		items = append(items, fmt.Sprintf(`{"text_index":%d,"embedding":[%d,%d.5]}`, i, i, len(req.Input.Texts[i])))
	}
	return providertest.DashScope.JSON(200,
		`{"output":{"embeddings":[`+strings.Join(items, ",")+`]},"usage":{"total_tokens":`+fmt.Sprint(len(req.Input.Texts)*3)+`},"request_id":"r-emb"}`)
}

func TestEmbeddings(t *testing.T) {
	fake := newFake(t)
	fake.Reply(providertest.Script(embedAnswerFor))
	d := newDashScope(t, fake.URL)
	call := &providers.Call{Op: providers.Embeddings, Model: "text-embedding-v4", ClientModel: "embed",
		Body: []byte(`{"model":"text-embedding-v4","input":["a","bb"],"dimensions":1024,"encoding_format":"float"}`)}
	resp, err := d.Send(t.Context(), call)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if err := openaischema.Validate(openaischema.Embedding, body); err != nil {
		t.Errorf("%v\n%s", err, body)
	}
	want := `{"data":[{"embedding":[0,1.5],"index":0,"object":"embedding"},{"embedding":[1,2.5],"index":1,"object":"embedding"}],"model":"embed","object":"list","usage":{"prompt_tokens":6,"total_tokens":6}}`
	if got := providertest.Canonical(t, body); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if resp.Header.Get("X-Request-Id") != "r-emb" {
		t.Errorf("X-Request-Id = %q", resp.Header.Get("X-Request-Id"))
	}
	got := fake.Last(t)
	if got.Path != embeddingsPath || got.Header.Get("Authorization") != "Bearer "+testKey {
		t.Errorf("upstream saw %s with %q", got.Path, got.Header.Get("Authorization"))
	}
	if c := providertest.Canonical(t, got.Body); c != `{"input":{"texts":["a","bb"]},"model":"text-embedding-v4","parameters":{"dimension":1024}}` {
		t.Errorf("native body %s", c)
	}
}

// TestEmbeddingsBatches: more than ten texts go up in batches of ten and
// come back in input order with the usage summed.
func TestEmbeddingsBatches(t *testing.T) {
	fake := newFake(t)
	fake.Reply(providertest.Script(embedAnswerFor))
	inputs := make([]string, 23)
	for i := range inputs {
		inputs[i] = strings.Repeat("x", i+1)
	}
	in, _ := json.Marshal(inputs)
	resp, err := newDashScope(t, fake.URL).Send(t.Context(), &providers.Call{Op: providers.Embeddings, Model: "text-embedding-v3", ClientModel: "e",
		Body: []byte(`{"model":"text-embedding-v3","input":` + string(in) + `}`)})
	if err != nil {
		t.Fatal(err)
	}
	out := providertest.ReadEmbeddings(t, resp)
	if len(out.Data) != 23 || out.Usage.PromptTokens != 69 {
		t.Fatalf("%d vectors, %d tokens", len(out.Data), out.Usage.PromptTokens)
	}
	for i, e := range out.Data {
		// [index within the batch, length of the text + .5]
		if e.Index != i || e.Embedding[0] != float64(i%10) || e.Embedding[1] != float64(i+1)+0.5 {
			t.Errorf("vector %d = %+v", i, e)
		}
	}
	if n := len(fake.Requests()); n != 3 {
		t.Errorf("%d upstream calls, want 3", n)
	}
	for _, r := range fake.Requests() {
		if strings.Contains(string(r.Body), "parameters") {
			t.Errorf("parameters sent without dimensions: %s", r.Body)
		}
	}
}

func TestEmbeddingsFailures(t *testing.T) {
	cases := []struct {
		name   string
		rep    providertest.Reply
		status int
		code   string
	}{
		{"missing vector", providertest.DashScope.JSON(200, `{"output":{"embeddings":[{"text_index":0,"embedding":[1]}]},"usage":{"total_tokens":1}}`), 502, "upstream_error"},
		{"index out of range", providertest.DashScope.JSON(200, `{"output":{"embeddings":[{"text_index":0,"embedding":[1]},{"text_index":7,"embedding":[1]}]}}`), 502, "upstream_error"},
		{"upstream error", providertest.DashScope.JSON(400, providertest.DashScopeError("InvalidParameter", "batch size is invalid, it should not be larger than 10.")), 400, "InvalidParameter"},
		{"not json", providertest.DashScope.JSON(200, `nope`), 502, "upstream_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t)
			fake.Reply(tc.rep)
			_, err := newDashScope(t, fake.URL).Send(t.Context(), &providers.Call{Op: providers.Embeddings, Model: "text-embedding-v4", Body: []byte(`{"model":"m","input":["a","b"]}`)})
			pe, ok := err.(*providers.Error)
			if !ok || pe.Status != tc.status || pe.Code != tc.code {
				t.Fatalf("got %#v", err)
			}
		})
	}
	fake := newFake(t)
	_, err := newDashScope(t, fake.URL).Send(t.Context(), &providers.Call{Op: providers.Embeddings, Model: "m", Body: []byte(`{"model":"m","input":[[1,2]]}`)})
	if pe, ok := err.(*providers.Error); !ok || pe.Status != 400 {
		t.Errorf("token input: %v", err)
	}
}
