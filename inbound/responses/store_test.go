package responses

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// keptGateway is claudeGateway with a response store and two callers,
// the keys "key-a" and "key-b".
func keptGateway(t *testing.T, up *providertest.Upstream) string {
	t.Helper()
	auth := handler.NewKeyAuth([]handler.APIKey{{SHA256: sha256.Sum256([]byte("key-a")), Name: "a"}, {SHA256: sha256.Sum256([]byte("key-b")), Name: "b"}})
	return claudeGateway(t, up, handler.Config{Auth: auth}, &Door{Store: &Store{TTL: time.Hour, MaxBytes: 1 << 20}})
}

// claudeText is an Anthropic answer with text.
func claudeText(text string) providertest.Reply {
	return providertest.Anthropic.JSON(200, `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",`+
		`"content":[{"type":"text","text":`+quote(text)+`}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":4}}`)
}

// sentMessages is the role and text of each message the upstream got
// last, tool blocks as `tool_use <id>` and `tool_result <id>`.
func sentMessages(t *testing.T, up *providertest.Upstream) []string {
	t.Helper()
	var sent struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(up.Last(t).Body, &sent); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range sent.Messages {
		var text string
		if json.Unmarshal(m.Content, &text) == nil {
			out = append(out, m.Role+": "+text)
			continue
		}
		var blocks []struct {
			Type, Text, ID string
			ToolUseID      string `json:"tool_use_id"`
		}
		_ = json.Unmarshal(m.Content, &blocks)
		for _, b := range blocks {
			switch b.Type {
			case "text":
				out = append(out, m.Role+": "+b.Text)
			case "tool_use":
				out = append(out, m.Role+": tool_use "+b.ID)
			case "tool_result":
				out = append(out, m.Role+": tool_result "+b.ToolUseID)
			}
		}
	}
	return out
}

func TestKeptResponses(t *testing.T) {
	up := providertest.NewUpstream(t, claudeText("Hello, Ada."))
	base := keptGateway(t, up)

	resp, first := call(t, "POST", base+"/v1/responses", "key-a", `{"model":"claude","instructions":"Be kind.","input":"My name is Ada."}`)
	if resp.StatusCode != 200 || !bytes.Contains(first, []byte(`"store":true`)) {
		t.Fatalf("%d %s", resp.StatusCode, first)
	}
	id := readResponse(t, first).ID

	resp, got := call(t, "GET", base+"/v1/responses/"+id, "key-a", "")
	if resp.StatusCode != 200 || !bytes.Equal(got, first) {
		t.Errorf("GET: %d %s\nwant %s", resp.StatusCode, got, first)
	}
	resp, items := call(t, "GET", base+"/v1/responses/"+id+"/input_items", "key-a", "")
	if err := openaischema.Validate(openaischema.ResponseItemList, items); resp.StatusCode != 200 || err != nil {
		t.Errorf("input_items: %d %v %s", resp.StatusCode, err, items)
	}
	if !strings.Contains(string(items), `"text":"My name is Ada."`) || strings.Contains(string(items), "Be kind.") {
		t.Errorf("input_items %s", items)
	}
	for _, path := range []string{"/v1/responses/" + id, "/v1/responses/" + id + "/input_items"} {
		if resp, body := call(t, "GET", base+path, "key-b", ""); resp.StatusCode != 404 || openaischema.Validate(openaischema.Error, body) != nil {
			t.Errorf("GET %s by another caller: %d %s", path, resp.StatusCode, body)
		}
	}

	// The next turn, streamed, continues the first: its input comes after
	// the first's input and output, without the first's instructions.
	up.Reply(providertest.Anthropic.Stream(anthropicStream("end_turn", textBlock("0", "Your name is Ada."))))
	resp, body := call(t, "POST", base+"/v1/responses", "key-a", `{"model":"claude","stream":true,"previous_response_id":"`+id+`","input":"What is my name?"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if final, _ := readStream(t, resp, body); !strings.Contains(string(body), `"previous_response_id":"`+id+`"`) || final.Status != "completed" {
		t.Errorf("second turn:\n%s", body)
	}
	want := []string{"user: My name is Ada.", "assistant: Hello, Ada.", "user: What is my name?"}
	if got := sentMessages(t, up); strings.Join(got, "\n") != strings.Join(want, "\n") ||
		strings.Contains(string(up.Last(t).Body), "Be kind.") {
		t.Errorf("upstream got %q, want %q", got, want)
	}

	if resp, body := call(t, "POST", base+"/v1/responses", "key-b", `{"model":"claude","previous_response_id":"`+id+`","input":"Hi"}`); resp.StatusCode != 404 ||
		!strings.Contains(string(body), `"code":"previous_response_not_found"`) {
		t.Errorf("another caller's previous_response_id: %d %s", resp.StatusCode, body)
	}
	if resp, _ := call(t, "DELETE", base+"/v1/responses/"+id, "key-b", ""); resp.StatusCode != 404 {
		t.Errorf("DELETE by another caller: %d", resp.StatusCode)
	}
	if resp, body := call(t, "DELETE", base+"/v1/responses/"+id, "key-a", ""); resp.StatusCode != 200 ||
		string(body) != `{"id":"`+id+`","object":"response","deleted":true}` {
		t.Errorf("DELETE: %d %s", resp.StatusCode, body)
	}
	if resp, _ := call(t, "GET", base+"/v1/responses/"+id, "key-a", ""); resp.StatusCode != 404 {
		t.Errorf("GET after DELETE: %d", resp.StatusCode)
	}

	up.Reply(claudeText("Hi."))
	resp, unkept := call(t, "POST", base+"/v1/responses", "key-a", `{"model":"claude","input":"Hi","store":false}`)
	if resp.StatusCode != 200 || !bytes.Contains(unkept, []byte(`"store":false`)) {
		t.Fatalf("%d %s", resp.StatusCode, unkept)
	}
	if resp, _ := call(t, "GET", base+"/v1/responses/"+readResponse(t, unkept).ID, "key-a", ""); resp.StatusCode != 404 {
		t.Errorf("a response made with store false was kept: %d", resp.StatusCode)
	}
}

// TestToolRoundTripWithPreviousResponse sends a function's output after
// the response that called it: the upstream gets the call and its result.
func TestToolRoundTripWithPreviousResponse(t *testing.T) {
	up := providertest.NewUpstream(t, providertest.Anthropic.Stream(anthropicStream("tool_use",
		toolBlock("0", "toolu_07", "get_time", `{}`))))
	base := keptGateway(t, up)
	tools := `[{"type":"function","name":"get_time","parameters":{"type":"object"}}]`
	resp, body := call(t, "POST", base+"/v1/responses", "key-a", `{"model":"claude","stream":true,"tools":`+tools+`,"input":"What time is it?"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	first, _ := readStream(t, resp, body)
	if len(first.Output) != 1 || first.Output[0].CallID != "toolu_07" {
		t.Fatalf("output %+v", first.Output)
	}
	up.Reply(claudeText("It is 14:05."))
	resp, body = call(t, "POST", base+"/v1/responses", "key-a", `{"model":"claude","tools":`+tools+`,"previous_response_id":"`+first.ID+`",`+
		`"input":[{"type":"function_call_output","call_id":"toolu_07","output":"14:05"}]}`)
	if resp.StatusCode != 200 || readResponse(t, body).Output[0].Content[0].Text != "It is 14:05." {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	want := []string{"user: What time is it?", "assistant: tool_use toolu_07", "user: tool_result toolu_07"}
	if got := sentMessages(t, up); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("upstream got %q, want %q", got, want)
	}
}

func TestStoreBounds(t *testing.T) {
	st := &Store{TTL: time.Hour, MaxBytes: 100}
	entry := func(id string, size int) *stored {
		return &stored{id: id, caller: "c", response: bytes.Repeat([]byte("x"), size)}
	}
	st.put(entry("a", 40))
	st.put(entry("b", 40))
	st.put(entry("c", 40)) // a goes
	st.put(entry("huge", 101))
	for id, kept := range map[string]bool{"a": false, "b": true, "c": true, "huge": false} {
		if s, _ := st.get("c", id); (s != nil) != kept {
			t.Errorf("%s kept: %v, want %v", id, s != nil, kept)
		}
	}
	if s, _ := st.get("other", "b"); s != nil {
		t.Error("another caller got b")
	}
	st.TTL = -time.Second
	st.put(entry("d", 10))
	if s, _ := st.get("c", "d"); s != nil {
		t.Error("an expired response was returned")
	}
}
