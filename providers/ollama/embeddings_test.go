package ollama

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/providers"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestEmbedCountMismatch refuses an answer that does not have one vector
// per input.
func TestEmbedCountMismatch(t *testing.T) {
	up := newFake(t)
	up.Reply(providertest.Ollama.JSON(http.StatusOK, `{"model":"e","embeddings":[[0.1]]}`))
	o := newOllama(t, up.URL, nil)
	_, err := o.Send(t.Context(), providertest.NewCall(t, providers.Embeddings, []byte(`{"model":"e","input":["a","b"]}`), "local"))
	if e, ok := err.(*providers.Error); !ok || e.Status != http.StatusBadGateway {
		t.Errorf("err = %v, want a 502", err)
	}
}

// TestBase64Embeddings checks encoding_format base64, the OpenAI SDKs'
// default.
func TestBase64Embeddings(t *testing.T) {
	up := newFake(t)
	o := newOllama(t, up.URL, nil)
	resp, err := o.Send(t.Context(), providertest.NewCall(t, providers.Embeddings, []byte(`{"model":"e","input":["a","b"],"encoding_format":"base64"}`), "local"))
	if err != nil {
		t.Fatal(err)
	}
	// OpenAI's published schema knows only the float form, so the base64
	// vector is checked by value: 0.1 and -0.2 as little-endian float32s.
	body, _ := io.ReadAll(resp.Body)
	if want := `"embedding":"zczMPc3MTL4="`; !strings.Contains(string(body), want) {
		t.Errorf("body %s lacks %s", body, want)
	}
}
