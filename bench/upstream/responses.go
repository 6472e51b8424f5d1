package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// responsesRequest holds the few request fields the fake upstream looks
// at in a Responses request.
type responsesRequest struct {
	Stream          bool `json:"stream"`
	MaxOutputTokens int  `json:"max_output_tokens"`
}

// response is a Response of the given status, output items and usage
// members (JSON), as OpenAI writes one.
func response(status, output, usage string) string {
	return `{"id":"resp_bench","object":"response","created_at":1735689600,"status":"` + status + `","background":false,"error":null,` +
		`"incomplete_details":null,"instructions":"You are a helpful assistant.","max_output_tokens":null,"model":"bench-model","output":[` + output + `],` +
		`"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":false,"temperature":1.0,` +
		`"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled"` + usage + `,"user":null,"metadata":{}}`
}

// message is the output item of an answer of text.
func message(status, text string) string {
	return `{"id":"msg_bench","type":"message","status":"` + status + `","role":"assistant","content":[` + textPart(text) + `]}`
}

func textPart(text string) string {
	return `{"type":"output_text","annotations":[],"logprobs":[],"text":"` + text + `"}`
}

func responsesUsage(output int) string {
	return `,"usage":{"input_tokens":21,"input_tokens_details":{"cached_tokens":0},"output_tokens":` + strconv.Itoa(output) +
		`,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":` + strconv.Itoa(21+output) + `}`
}

// responseBody is the precomputed Response of a request not streamed.
var responseBody = []byte(response("completed", message("completed", "This is a fixed benchmark completion. It is about as long as a short, realistic answer from a chat model."), responsesUsage(42)) + "\n")

// handleResponses serves one Responses request as OpenAI does: max_output_tokens
// output_text.delta events when streamed, each event flushed on its own.
func handleResponses(w http.ResponseWriter, r *http.Request) {
	var req responsesRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"invalid JSON body","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	if !startAnswer(w, req.Stream, responseBody) {
		return
	}
	n := req.MaxOutputTokens
	if n <= 0 {
		n = defaultMaxTokens
	}
	send := eventSender(w)
	seq := 0
	event := func(typ, members string) bool {
		data := `{"type":"` + typ + `","sequence_number":` + strconv.Itoa(seq) + members + "}"
		seq++
		return send([]byte("event: " + typ + "\ndata: " + data + "\n\n"))
	}
	const ref = `,"item_id":"msg_bench","output_index":0,"content_index":0`
	text := strings.Repeat("tok ", n)
	ok := event("response.created", `,"response":`+response("in_progress", "", "")) &&
		event("response.in_progress", `,"response":`+response("in_progress", "", "")) &&
		event("response.output_item.added", `,"output_index":0,"item":{"id":"msg_bench","type":"message","status":"in_progress","role":"assistant","content":[]}`) &&
		event("response.content_part.added", ref+`,"part":`+textPart(""))
	for i := 0; ok && i < n; i++ {
		ok = event("response.output_text.delta", ref+`,"delta":"tok ","logprobs":[]`)
	}
	_ = ok && event("response.output_text.done", ref+`,"text":"`+text+`","logprobs":[]`) &&
		event("response.content_part.done", ref+`,"part":`+textPart(text)) &&
		event("response.output_item.done", `,"output_index":0,"item":`+message("completed", text)) &&
		event("response.completed", `,"response":`+response("completed", message("completed", text), responsesUsage(n)))
}
