package responses

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/inbound/inboundtest"
	"github.com/llmgateway/caddy-llm-gateway/internal/handler"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/openaischema"
	"github.com/llmgateway/caddy-llm-gateway/providers/providertest"
)

// TestRefusal turns a chat answer's refusal into a message with a
// refusal part: whole, and streamed as OpenAI streams it, with
// response.refusal.delta events between the part's .added and .done.
func TestRefusal(t *testing.T) {
	const refusal = "I can't help with that."
	chunk := func(delta, finish string) string {
		return providertest.OpenAIEvent(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + finish + `}]}`)
	}
	stream := chunk(`{"role":"assistant","content":null,"refusal":""}`, "null") +
		chunk(`{"refusal":"I can't "}`, "null") + chunk(`{"refusal":"help with that."}`, "null") +
		chunk(`{}`, `"stop"`) + providertest.OpenAIEvent("[DONE]")
	whole := `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"` + refusal + `"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":6,"total_tokens":15}}`
	for _, tc := range []struct {
		name, stream string
		reply        providertest.Reply
	}{
		{"whole", ``, providertest.OpenAI.JSON(200, whole)},
		{"streamed", `"stream":true,`, providertest.OpenAI.Stream(stream)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := providertest.NewUpstream(t, tc.reply)
			base := inboundtest.Serve(t, handler.Config{
				Routes: []handler.Route{{Name: "gpt", Targets: []handler.Target{openaiTarget(t, up, "", "translate")}}},
				Doors:  []inbound.Door{&Door{}}})
			resp, body := post(t, base, `{"model":"gpt",`+tc.stream+`"input":"Do something bad."}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			answer := body
			if tc.stream != "" {
				readStream(t, resp, body)
				types := regexp.MustCompile(`(?m)^event: (\S+)$`).FindAllStringSubmatch(string(body), -1)
				var got []string
				for _, m := range types {
					got = append(got, m[1])
				}
				want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
					"response.refusal.delta", "response.refusal.delta", "response.refusal.done", "response.content_part.done",
					"response.output_item.done", "response.completed"}
				if strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("events\n%v\nwant\n%v", got, want)
				}
				if !strings.Contains(string(body), `"type":"response.refusal.done","sequence_number":6,"item_id":`) ||
					!strings.Contains(string(body), `"content_index":0,"refusal":"`+refusal+`"}`) {
					t.Errorf("response.refusal.done:\n%s", body)
				}
				var err error
				if answer, err = openaischema.FinalResponse(body); err != nil {
					t.Fatal(err)
				}
			}
			readResponse(t, answer)
			var r struct {
				Output []struct {
					Type    string            `json:"type"`
					Status  string            `json:"status"`
					Content []json.RawMessage `json:"content"`
				} `json:"output"`
			}
			if err := json.Unmarshal(answer, &r); err != nil {
				t.Fatal(err)
			}
			if len(r.Output) != 1 || r.Output[0].Status != "completed" || len(r.Output[0].Content) != 1 ||
				string(r.Output[0].Content[0]) != `{"type":"refusal","refusal":"`+refusal+`"}` {
				t.Errorf("output %s", answer)
			}
		})
	}
}
