package openaischema

import (
	"encoding/json"
	"strings"
	"testing"
)

// responseBody is a completed Response with the given output items.
func responseBody(output string) string {
	return `{"id":"resp_1","object":"response","created_at":1718900000,"status":"completed","error":null,` +
		`"incomplete_details":null,"instructions":null,"model":"gpt-4o-mini","tools":[],"tool_choice":"auto",` +
		`"parallel_tool_calls":true,"metadata":{},"temperature":null,"top_p":null,"output":[` + output + `],` +
		`"usage":{"input_tokens":9,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},` +
		`"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":12}}`
}

const outputMessage = `{"type":"message","id":"msg_1","role":"assistant","status":"completed",` +
	`"content":[{"type":"output_text","text":"Hi","annotations":[],"logprobs":[]}]}`

func TestValidateResponse(t *testing.T) {
	if err := Validate(Response, []byte(responseBody(outputMessage))); err != nil {
		t.Fatalf("a valid response: %v", err)
	}
	call := `{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{}","status":"completed"}`
	if err := Validate(Response, []byte(responseBody(outputMessage+","+call))); err != nil {
		t.Fatalf("a response with a function call: %v", err)
	}
	noText := strings.Replace(outputMessage, `"text":"Hi",`, "", 1)
	err := Validate(Response, []byte(responseBody(noText)))
	if err == nil || !strings.Contains(err.Error(), "$.output[0].content[0].text: required property missing") {
		t.Fatalf("Validate = %v, want the missing text named through $ref and allOf", err)
	}
	err = Validate(Response, []byte(strings.Replace(responseBody(outputMessage), `"temperature":null`, `"temperature":3`, 1)))
	if err == nil || !strings.Contains(err.Error(), "want at most 2") {
		t.Fatalf("Validate = %v, want temperature above its maximum refused", err)
	}
}

// responseEvents renders events as a Responses stream, each named by its
// type and numbered in order.
func responseEvents(datas ...string) string {
	var b strings.Builder
	for i, d := range datas {
		var v map[string]any
		_ = json.Unmarshal([]byte(d), &v)
		d = strings.Replace(d, "{", `{"sequence_number":`+strings.TrimSpace(render(i))+",", 1)
		b.WriteString("event: " + v["type"].(string) + "\ndata: " + d + "\n\n")
	}
	return b.String()
}

func TestValidateResponseStream(t *testing.T) {
	created := `{"type":"response.created","response":` + strings.Replace(responseBody(""), `"completed"`, `"in_progress"`, 1) + `}`
	delta := `{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}`
	completed := `{"type":"response.completed","response":` + responseBody(outputMessage) + `}`
	if err := ValidateResponseStream([]byte(responseEvents(created, delta, completed))); err != nil {
		t.Fatalf("a valid stream: %v", err)
	}
	tests := []struct {
		name, body, want string
	}{
		{"no end", responseEvents(created, delta), "want an event that ends the response"},
		{"events after the end", responseEvents(created, completed, delta), "yet more events follow"},
		{"not created first", responseEvents(delta, completed), "want response.created first"},
		{"misnumbered", strings.Replace(responseEvents(created, delta, completed), `"sequence_number":1`, `"sequence_number":2`, 1), "sequence_number 2, want 1"},
		{"misnamed", strings.Replace(responseEvents(created, delta, completed), "event: response.output_text.delta", "event: delta", 1), `event: "delta"`},
		{"invalid event", responseEvents(created, strings.Replace(delta, `"logprobs":[]`, `"logprobs":null`, 1), completed), "$.logprobs"},
		{"unterminated", strings.TrimSuffix(responseEvents(created, completed), "\n"), "not terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateResponseStream([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ValidateResponseStream = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestBoundsKeywords(t *testing.T) {
	raw, err := decodeJSON([]byte(`{"type":"object","maxProperties":1,"propertyNames":{"maxLength":2},` +
		`"additionalProperties":{"type":"string","minLength":1,"pattern":"^[a-z]+$"}}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := compile(raw, "T")
	if err != nil {
		t.Fatal(err)
	}
	vs := s.validate(map[string]any{"abc": "", "b": "B"}, "$")
	want := []string{"want at most 1", "$.abc: is 3 characters long", "$.abc: is 0 characters long", `$.abc: got "", want a match`, `$.b: got "B", want a match`}
	if len(vs) != len(want) {
		t.Fatalf("got %v, want %d violations", vs, len(want))
	}
	for i, w := range want {
		if !strings.Contains(vs[i].String(), w) {
			t.Errorf("violation %d = %q, want it to contain %q", i, vs[i], w)
		}
	}
}
