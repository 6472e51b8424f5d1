package openaischema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// chatMessage is a plain assistant reply, reused by several cases.
const chatMessage = `{"role":"assistant","content":"Hello!","refusal":null,"annotations":[]}`

// chatBody wraps choice JSON in an otherwise valid chat completion.
func chatBody(choices string) string {
	return `{"id":"chatcmpl-1","object":"chat.completion","created":1718900000,"model":"gpt-4o-mini",` +
		`"choices":[` + choices + `],` +
		`"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,` +
		`"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},` +
		`"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},` +
		`"service_tier":"default","system_fingerprint":"fp_1"}`
}

// chunkBody wraps choice JSON in an otherwise valid chat completion chunk.
func chunkBody(choices string) string {
	return `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718900000,"model":"gpt-4o-mini",` +
		`"choices":[` + choices + `]}`
}

// completionBody wraps choice JSON in an otherwise valid legacy completion.
func completionBody(choices string) string {
	return `{"id":"cmpl-1","object":"text_completion","created":1718900000,"model":"gpt-3.5-turbo-instruct",` +
		`"choices":[` + choices + `]}`
}

const (
	toolCall     = `{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}`
	tokenLogprob = `{"token":"Hi","logprob":-0.01,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.01,"bytes":null}]}`
	modelJSON    = `{"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"system"}`
)

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		doc    string
	}{
		{"chat completion with null logprobs and refusal", ChatCompletion,
			chatBody(`{"index":0,"message":` + chatMessage + `,"logprobs":null,"finish_reason":"stop"}`)},
		{"chat completion with tool call and null content", ChatCompletion,
			chatBody(`{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[` + toolCall + `]},"logprobs":null,"finish_reason":"tool_calls"}`)},
		{"chat completion with logprobs", ChatCompletion,
			chatBody(`{"index":0,"message":` + chatMessage + `,"logprobs":{"content":[` + tokenLogprob + `],"refusal":null},"finish_reason":"length"}`)},
		{"chat completion without usage", ChatCompletion,
			`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}`},
		{"chat completion with integral float created", ChatCompletion,
			`{"id":"c","object":"chat.completion","created":1.0,"model":"m","choices":[]}`},
		{"chunk with role", ChatCompletionChunk,
			chunkBody(`{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}`)},
		{"chunk with tool-call delta", ChatCompletionChunk,
			chunkBody(`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]},"finish_reason":null}`)},
		{"final chunk", ChatCompletionChunk,
			chunkBody(`{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}`)},
		{"usage chunk with empty choices", ChatCompletionChunk,
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718900000,"model":"gpt-4o-mini","choices":[],` +
				`"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}`},
		{"chunk with null usage", ChatCompletionChunk,
			`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":null}`},
		{"legacy completion", Completion,
			completionBody(`{"text":"Hi","index":0,"logprobs":null,"finish_reason":"stop"}`)},
		{"embedding", Embedding,
			`{"object":"list","model":"text-embedding-3-small","data":[{"object":"embedding","index":0,"embedding":[0.1,-2,3e-5]}],` +
				`"usage":{"prompt_tokens":2,"total_tokens":2}}`},
		{"model list", ModelList, `{"object":"list","data":[` + modelJSON + `]}`},
		{"model with shutdown date", Model,
			`{"id":"m","object":"model","created":1,"owned_by":"me","shutdown_date":"2026-01-31"}`},
		{"error with null param and code", Error,
			`{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`},
		{"error with string code", Error,
			`{"error":{"message":"no such model","type":"invalid_request_error","param":"model","code":"model_not_found"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.schema, []byte(tt.doc)); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		doc    string
		want   Violation // a violation the report must contain
	}{
		{"choice missing logprobs", ChatCompletion,
			chatBody(`{"index":0,"message":` + chatMessage + `,"finish_reason":"stop"}`),
			Violation{"$.choices[0].logprobs", "required property missing"}},
		{"message missing refusal", ChatCompletion,
			chatBody(`{"index":0,"message":{"role":"assistant","content":"Hi"},"logprobs":null,"finish_reason":"stop"}`),
			Violation{"$.choices[0].message.refusal", "required property missing"}},
		{"null finish_reason outside a stream", ChatCompletion,
			chatBody(`{"index":0,"message":` + chatMessage + `,"logprobs":null,"finish_reason":null}`),
			Violation{"$.choices[0].finish_reason", "got null, want string"}},
		{"tool call missing arguments", ChatCompletion,
			chatBody(`{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f"}}]},"logprobs":null,"finish_reason":"tool_calls"}`),
			Violation{"$.choices[0].message.tool_calls[0].function.arguments", "required property missing"}},
		{"tool call of unknown type", ChatCompletion,
			chatBody(`{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"call_1","type":"magic"}]},"logprobs":null,"finish_reason":"tool_calls"}`),
			Violation{"$.choices[0].message.tool_calls[0].type", `got "magic", which no alternative accepts`}},
		{"relative citation url", ChatCompletion,
			chatBody(`{"index":0,"message":{"role":"assistant","content":"x","refusal":null,"annotations":[{"type":"url_citation","url_citation":{"start_index":0,"end_index":1,"url":"/docs","title":"t"}}]},"logprobs":null,"finish_reason":"stop"}`),
			Violation{"$.choices[0].message.annotations[0].url_citation.url", `got "/docs", want a uri`}},
		{"fractional created", ChatCompletion,
			`{"id":"c","object":"chat.completion","created":1718900000.5,"model":"m","choices":[]}`,
			Violation{"$.created", "got number, want integer"}},
		{"non-string metadata value", ChatCompletion,
			`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[],"metadata":{"user-id":7}}`,
			Violation{`$.metadata["user-id"]`, "got integer, want string"}},
		{"chunk with object chat.completion", ChatCompletionChunk,
			`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}`,
			Violation{"$.object", `got "chat.completion", want one of "chat.completion.chunk"`}},
		{"chunk missing created", ChatCompletionChunk,
			`{"id":"c","object":"chat.completion.chunk","model":"m","choices":[]}`,
			Violation{"$.created", "required property missing"}},
		{"chunk choice missing finish_reason", ChatCompletionChunk,
			chunkBody(`{"index":0,"delta":{"content":"Hi"}}`),
			Violation{"$.choices[0].finish_reason", "required property missing"}},
		{"tool-call delta without index", ChatCompletionChunk,
			chunkBody(`{"index":0,"delta":{"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}`),
			Violation{"$.choices[0].delta.tool_calls[0].index", "required property missing"}},
		{"error with numeric code", Error,
			`{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":400}}`,
			Violation{"$.error.code", "got integer, want string or null"}},
		{"error missing param", Error,
			`{"error":{"message":"bad","type":"invalid_request_error","code":null}}`,
			Violation{"$.error.param", "required property missing"}},
		{"model list missing owned_by", ModelList,
			`{"object":"list","data":[{"id":"m","object":"model","created":1}]}`,
			Violation{"$.data[0].owned_by", "required property missing"}},
		{"model with bad shutdown date", Model,
			`{"id":"m","object":"model","created":1,"owned_by":"me","shutdown_date":"soon"}`,
			Violation{"$.shutdown_date", `got "soon", want a date`}},
		{"embedding as string", Embedding,
			`{"object":"list","model":"m","data":[{"object":"embedding","index":0,"embedding":"AAAA"}],"usage":{"prompt_tokens":1,"total_tokens":1}}`,
			Violation{"$.data[0].embedding", "got string, want array"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.schema, []byte(tt.doc))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			for _, v := range verr.Violations {
				if v == tt.want {
					return
				}
			}
			t.Fatalf("report lacks %q:\n%v", tt.want, err)
		})
	}
}

func TestValidateListsEveryViolation(t *testing.T) {
	doc := `{"object":"list","data":[{"id":"a","object":"model","created":1},{"id":2,"object":"model","created":1,"owned_by":"x"}]}`
	err := Validate(ModelList, []byte(doc))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	want := []Violation{
		{"$.data[0].owned_by", "required property missing"},
		{"$.data[1].id", "got integer, want string"},
	}
	if len(verr.Violations) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%v", len(verr.Violations), len(want), err)
	}
	for i := range want {
		if verr.Violations[i] != want[i] {
			t.Errorf("violation %d = %q, want %q", i, verr.Violations[i], want[i])
		}
	}
	if msg := err.Error(); !strings.Contains(msg, "ListModelsResponse") || !strings.Contains(msg, "$.data[1].id: got integer, want string") {
		t.Errorf("message %q lacks the schema name or a violation", msg)
	}
}

func TestValidateBadInput(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		doc    string
		want   string
	}{
		{"malformed json", Model, `{"id":`, "decode json"},
		{"two documents", Model, modelJSON + modelJSON, "data after the first value"},
		{"stray bracket", Model, modelJSON + `]`, "data after the first value"},
		{"unknown schema", "Nope", modelJSON, `unknown schema "Nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.schema, []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestIsInteger(t *testing.T) {
	tests := []struct {
		n    string
		want bool
	}{
		{"0", true},
		{"-17", true},
		{"1.0", true},
		{"1e3", true},
		{"2.5E1", true},
		{"123456789012345678901234567890", true},
		{"1.5", false},
		{"1e-1", false},
		// float64 would round this to an integer.
		{"9007199254740993.5", false},
	}
	for _, tt := range tests {
		if got := isInteger(json.Number(tt.n)); got != tt.want {
			t.Errorf("isInteger(%s) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

// sse renders events the way an OpenAI-compatible server writes them.
func sse(events ...string) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("data: " + e + "\n\n")
	}
	return b.String()
}

func TestValidateStream(t *testing.T) {
	role := chunkBody(`{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}`)
	text := chunkBody(`{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}`)
	stop := chunkBody(`{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}`)
	usage := `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
	noCreated := `{"id":"c","object":"chat.completion.chunk","model":"m","choices":[]}`
	errEvent := `{"error":{"message":"upstream failed","type":"server_error","param":null,"code":null}}`
	cmplText := completionBody(`{"text":"Hi","index":0,"logprobs":null,"finish_reason":null}`)
	cmplStop := completionBody(`{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}`)

	tests := []struct {
		name string
		body string
		want string // substring of the error; "" means valid
	}{
		{"chat stream", sse(role, text, stop, "[DONE]"), ""},
		{"chat stream with usage chunk", sse(role, text, stop, usage, "[DONE]"), ""},
		{"crlf, comments and event names", ": keep-alive\r\n\r\nevent: message\r\ndata: " + text + "\r\n\r\ndata: [DONE]\r\n\r\n", ""},
		{"data split over lines", "data: " + strings.Replace(text, ",", ",\ndata: ", 1) + "\n\n" + sse("[DONE]"), ""},
		{"completion stream", sse(cmplText, cmplStop, "[DONE]"), ""},
		{"error ends stream", sse(role, errEvent), ""},
		{"error as only event", sse(errEvent), ""},
		{"data after done", sse(text, "[DONE]", text), "stream event 2: data after [DONE]"},
		{"no done", sse(role, text, stop), "stream event 2: stream ends without data: [DONE]"},
		{"invalid chunk", sse(text, noCreated, "[DONE]"), "stream event 1: does not match CreateChatCompletionStreamResponse:\n\t$.created: required property missing"},
		{"completion chunk in chat stream", sse(text, cmplStop, "[DONE]"), `stream event 1: does not match CreateChatCompletionStreamResponse:`},
		{"chat chunk in completion stream", sse(cmplText, text, "[DONE]"), `stream event 1: does not match CreateCompletionResponse (stream chunk):`},
		{"invalid error event", sse(text, `{"error":{"message":"x","type":"t","param":null,"code":500}}`), "stream event 1: does not match ErrorResponse:\n\t$.error.code: got integer"},
		{"done after error", sse(text, errEvent, "[DONE]"), "stream event 2: data after an error event"},
		{"bad json", sse(text, `{"id":`, "[DONE]"), "stream event 1: decode json"},
		{"done only", sse("[DONE]"), "stream event 0: [DONE] before any chunk"},
		{"empty body", "", "no data events"},
		{"only comments", ": ping\n\n", "no data events"},
		{"unterminated last event", sse(text) + "data: [DONE]\n", "stream event 1: not terminated by a blank line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateStream([]byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("ValidateStream: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("ValidateStream = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestStreamCompletionRelaxationIsNarrow pins that the null finish_reason
// accepted in completion streams is not accepted in a plain response.
func TestStreamCompletionRelaxationIsNarrow(t *testing.T) {
	chunk := completionBody(`{"text":"Hi","index":0,"logprobs":null,"finish_reason":null}`)
	if err := Validate(Completion, []byte(chunk)); err == nil {
		t.Fatal("Validate(Completion) accepted a null finish_reason")
	}
	missing := completionBody(`{"text":"Hi","index":0,"finish_reason":null}`)
	err := ValidateStream([]byte(sse(missing, "[DONE]")))
	if err == nil || !strings.Contains(err.Error(), "$.choices[0].logprobs: required property missing") {
		t.Fatalf("ValidateStream = %v, want logprobs still required", err)
	}
}

func TestEmbeddedFile(t *testing.T) {
	var file struct {
		Source struct {
			Commit string `json:"commit"`
		} `json:"source"`
	}
	if err := json.Unmarshal(schemaFile, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Source.Commit) != 40 {
		t.Errorf("source.commit = %q, want a full commit hash", file.Source.Commit)
	}
	if _, err := loadSchemas(); err != nil {
		t.Fatalf("load embedded schemas: %v", err)
	}
}

func TestCompileRejectsUnknown(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		want   string
	}{
		{"keyword", `{"type":"integer","exclusiveMinimum":1}`, "T/exclusiveMinimum: unsupported keyword"},
		{"nested keyword", `{"properties":{"a":{"items":{"const":1}}}}`, "T/properties/a/items/const: unsupported keyword"},
		{"format", `{"type":"string","format":"email"}`, `unsupported format "email"`},
		{"type", `{"type":"int"}`, `unknown type "int"`},
		{"discriminator mapping", `{"oneOf":[{}],"discriminator":{"propertyName":"t","mapping":{}}}`, "discriminator/mapping: unsupported keyword"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := decodeJSON([]byte(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			_, err = compile(raw, "T")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("compile = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCompileAcceptsAnnotations(t *testing.T) {
	raw, err := decodeJSON([]byte(`{"type":"string","description":"d","title":"t","default":"x","deprecated":true,"example":"e","x-oaiMeta":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := compile(raw, "T")
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if vs := s.validate(json.Number("1"), "$"); len(vs) != 1 {
		t.Fatalf("annotations changed validation: %v", vs)
	}
}

func TestAdditionalPropertiesFalse(t *testing.T) {
	raw, err := decodeJSON([]byte(`{"type":"object","properties":{"a":{}},"additionalProperties":false}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := compile(raw, "T")
	if err != nil {
		t.Fatal(err)
	}
	vs := s.validate(map[string]any{"a": nil, "b c": nil}, "$")
	if len(vs) != 1 || vs[0] != (Violation{`$["b c"]`, "property not allowed"}) {
		t.Fatalf("got %v, want one disallowed property", vs)
	}
}

func TestOneOfAmbiguous(t *testing.T) {
	raw, err := decodeJSON([]byte(`{"oneOf":[{"type":"integer"},{"type":"number"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := compile(raw, "T")
	if err != nil {
		t.Fatal(err)
	}
	vs := s.validate(json.Number("3"), "$")
	if len(vs) != 1 || !strings.Contains(vs[0].Message, "matches 2 oneOf alternatives") {
		t.Fatalf("got %v, want an ambiguity violation", vs)
	}
}
