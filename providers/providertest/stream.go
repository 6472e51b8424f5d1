package providertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// maxChunks bounds Drain: a translator that never ends fails the test
// instead of hanging it.
const maxChunks = 100000

// Drain reads s to its end and closes it. It returns the chunks, copied,
// and the error that ended the stream: nil for a clean end (io.EOF).
func Drain(t testing.TB, s providers.EventStream) ([][]byte, error) {
	t.Helper()
	defer s.Close()
	var chunks [][]byte
	for range maxChunks {
		c, err := s.Next()
		if errors.Is(err, io.EOF) {
			return chunks, nil
		}
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, bytes.Clone(c))
	}
	t.Fatalf("the stream does not end after %d chunks", maxChunks)
	return nil, nil
}

// SSE is the body the handler writes for a stream of chunks that ended
// with end: each chunk as an event, then `data: [DONE]` after a clean end
// (nil), or the error as a last event (a failure other than a
// *providers.Error is the handler's 502).
func SSE(chunks [][]byte, end error) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		b.WriteString("data: ")
		b.Write(c)
		b.WriteString("\n\n")
	}
	if end == nil {
		b.WriteString("data: [DONE]\n\n")
		return b.Bytes()
	}
	e, ok := errors.AsType[*providers.Error](end)
	if !ok {
		e = providers.NewError(http.StatusBadGateway, "upstream_error", end.Error())
	}
	body, _ := e.MarshalJSON()
	b.WriteString("data: ")
	b.Write(body)
	b.WriteString("\n\n")
	return b.Bytes()
}

// ValidateStream checks the body the handler writes for chunks and end
// against OpenAI's published schemas.
func ValidateStream(t testing.TB, chunks [][]byte, end error) {
	t.Helper()
	body := SSE(chunks, end)
	if err := openaischema.ValidateStream(body); err != nil {
		t.Errorf("the stream does not match OpenAI's schemas: %v\n%s", err, body)
	}
}

// An Identity is what every chunk of one answer shares.
type Identity struct {
	ID      string `json:"id"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
}

// SameIdentity fails t unless all chunks have one id, creation time and
// model, and returns that identity.
func SameIdentity(t testing.TB, chunks [][]byte) Identity {
	t.Helper()
	var first Identity
	for i, c := range chunks {
		var id Identity
		if err := json.Unmarshal(c, &id); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if i == 0 {
			first = id
		} else if id != first {
			t.Errorf("chunk %d has identity %+v, the first had %+v", i, id, first)
		}
	}
	return first
}
