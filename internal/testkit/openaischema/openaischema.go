// Package openaischema checks response bodies and stream chunks against
// OpenAI's published OpenAPI schemas, so tests anywhere in the gateway can
// assert that what it emits is wire-compatible with the OpenAI API.
//
// The schemas come from two extracts of the openai/openai-openapi
// repository, each recording its source commit under "source":
// openai-schemas.json for chat, completions, embeddings and models, with
// every $ref already resolved, and responses-schemas.json for the
// Responses API, whose recursive definitions keep their $refs. They are
// embedded so tests need no network and always check against the same
// pinned revision.
//
// The validator implements only the keywords that the extract uses (see
// schema.go). Any other keyword makes loading fail, so refreshing the file
// to a revision that relies on something new cannot silently weaken the
// checks.
package openaischema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Names of the schemas.
const (
	ChatCompletion      = "CreateChatCompletionResponse"
	ChatCompletionChunk = "CreateChatCompletionStreamResponse"
	Completion          = "CreateCompletionResponse"
	Embedding           = "CreateEmbeddingResponse"
	ModelList           = "ListModelsResponse"
	Model               = "Model"
	Error               = "ErrorResponse"

	// Response is a Responses API response object.
	Response = "Response"
	// ResponseStreamEvent is any event of a streamed Response.
	ResponseStreamEvent = "ResponseStreamEvent"
	// ResponseItemList is the list of a response's input items.
	ResponseItemList = "ResponseItemList"
)

// completionChunk names the derived schema for streamed legacy completions;
// see streamCompletionSchema for why it differs from Completion.
const completionChunk = Completion + " (stream chunk)"

//go:embed openai-schemas.json
var schemaFile []byte

//go:embed responses-schemas.json
var responsesFile []byte

// loadSchemas compiles the embedded files once; every exported function
// reports its error, so a broken file fails the calling test instead of
// panicking at init.
var loadSchemas = sync.OnceValues(func() (map[string]*schema, error) {
	schemas, err := compileFile(schemaFile)
	if err != nil {
		return nil, err
	}
	responses, err := compileResponsesFile(responsesFile)
	if err != nil {
		return nil, err
	}
	for name, s := range responses {
		schemas[name] = s
	}
	return schemas, nil
})

// Violation is one way in which a document fails its schema.
type Violation struct {
	// Path locates the offending value, e.g. `$.choices[0].message`.
	Path string
	// Message says what is wrong with it.
	Message string
}

// String renders the violation as "path: message".
func (v Violation) String() string { return v.Path + ": " + v.Message }

// ValidationError lists every violation found in one document.
type ValidationError struct {
	// Schema is the name of the schema the document was checked against.
	Schema string
	// Violations holds at least one entry. Within each object, missing
	// required properties come first, then members in name order, so the
	// report is stable from run to run.
	Violations []Violation
}

// Error lists the violations one per line, which keeps a long report
// readable in test output.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "does not match %s:", e.Schema)
	for _, v := range e.Violations {
		b.WriteString("\n\t")
		b.WriteString(v.String())
	}
	return b.String()
}

// Validate checks the JSON document doc against the named schema and
// returns an error listing every violation with its JSON path (e.g.
// `$.choices[0].message.refusal: required property missing`). A malformed
// document or an unknown schema name is reported as a plain error; schema
// violations come back as a *ValidationError.
func Validate(schema string, doc []byte) error {
	v, err := decodeJSON(doc)
	if err != nil {
		return err
	}
	return validateValue(schema, v)
}

// validateValue checks an already decoded document against a named schema.
func validateValue(name string, v any) error {
	schemas, err := loadSchemas()
	if err != nil {
		return err
	}
	s, ok := schemas[name]
	if !ok {
		return fmt.Errorf("openaischema: unknown schema %q", name)
	}
	if vs := s.validate(v, "$"); len(vs) > 0 {
		return &ValidationError{Schema: name, Violations: vs}
	}
	return nil
}

// decodeJSON decodes exactly one JSON value, keeping numbers as
// json.Number so that integer checks see the literal text rather than a
// float64 that may already have been rounded.
func decodeJSON(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode json: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("decode json: data after the first value at offset %d", dec.InputOffset())
	}
	return v, nil
}
