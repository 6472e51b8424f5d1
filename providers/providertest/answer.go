package providertest

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// ReadAnswer reads a whole non-streamed answer and closes it.
func ReadAnswer(t testing.TB, resp *providers.Response) []byte {
	t.Helper()
	defer resp.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CheckError checks a failed call's error as the client gets it: a
// message that quotes none of secrets (keys, the upstream's URL), in
// OpenAI's error shape.
func CheckError(t testing.TB, e *providers.Error, secrets ...string) {
	t.Helper()
	if e.Message == "" {
		t.Errorf("error %d %s %q has no message", e.Status, e.Type, e.Code)
	}
	for _, secret := range secrets {
		if strings.Contains(e.Message, secret) {
			t.Errorf("message %q quotes %q", e.Message, secret)
		}
	}
	body, _ := e.MarshalJSON()
	if err := openaischema.Validate(openaischema.Error, body); err != nil {
		t.Errorf("%v\n%s", err, body)
	}
}

// An EmbeddingList is an OpenAI embeddings answer, decoded.
type EmbeddingList struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
}

// ReadEmbeddings reads a whole embeddings answer, closes it and decodes it.
func ReadEmbeddings(t testing.TB, resp *providers.Response) EmbeddingList {
	t.Helper()
	var list EmbeddingList
	if err := json.Unmarshal(ReadAnswer(t, resp), &list); err != nil {
		t.Fatal(err)
	}
	return list
}
