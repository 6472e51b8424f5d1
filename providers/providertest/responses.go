package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// ResponsesEvent frames one event of a Responses API stream, as OpenAI
// and Azure write them: the event's type, then its data.
func ResponsesEvent(typ, data string) string {
	return "event: " + typ + "\ndata: " + data + "\n\n"
}

// ResponsesAPI is a fake of OpenAI's Responses API, whatever the path
// before `/responses` (OpenAI's `/v1`, Azure's `/openai` or
// `/openai/v1`). `POST` answers with a Response (or its event stream,
// each event flushed) and keeps it unless `store` is false; `GET`, the
// input items and `DELETE` of a kept response work as OpenAI's do, and
// an unknown id gets OpenAI's 404. The answer is a call of the request's
// first function tool unless the input ends with that call's output, or
// the text Reply, with the usage 11 in and 5 out.
type ResponsesAPI struct {
	Reply string

	mu   sync.Mutex
	next int
	kept map[string]keptResponse
}

type keptResponse struct {
	response string
	input    []json.RawMessage
}

// ServeHTTP answers one request of the Responses API.
func (f *ResponsesAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, rest, ok := strings.Cut(r.URL.Path, "/responses")
	switch {
	case !ok:
		OpenAI.JSON(404, OpenAIError("Invalid URL ("+r.Method+" "+r.URL.Path+")", "invalid_request_error", "")).ServeHTTP(w, r)
	case rest == "" && r.Method == http.MethodPost:
		f.create(w, r)
	default:
		f.answerKept(w, r, strings.TrimPrefix(rest, "/"))
	}
}

// create answers a POST.
func (f *ResponsesAPI) create(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Model  string          `json:"model"`
		Input  json.RawMessage `json:"input"`
		Stream bool            `json:"stream"`
		Store  *bool           `json:"store"`
		Tools  []struct {
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"tools"`
		PreviousResponseID *string `json:"previous_response_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		OpenAI.JSON(400, OpenAIError("We could not parse the JSON body of your request.", "invalid_request_error", "")).ServeHTTP(w, r)
		return
	}
	input := inputList(req.Input)
	f.mu.Lock()
	if f.kept == nil {
		f.kept = make(map[string]keptResponse)
	}
	if req.PreviousResponseID != nil {
		prev, ok := f.kept[*req.PreviousResponseID]
		if !ok {
			f.mu.Unlock()
			OpenAI.JSON(404, OpenAIError("Previous response with id '"+*req.PreviousResponseID+"' not found.", "invalid_request_error", "previous_response_not_found")).ServeHTTP(w, r)
			return
		}
		input = append(append([]json.RawMessage{}, prev.input...), input...)
	}
	f.next++
	id := fmt.Sprintf("resp_fake%03d", f.next)
	f.mu.Unlock()

	var item string
	if fn := firstFunction(req.Tools); fn != "" && !endsWithOutput(input) {
		item = encode(map[string]any{"id": "fc_" + id, "type": "function_call", "status": "completed",
			"call_id": "call_" + id, "name": fn, "arguments": `{"city":"Paris"}`})
	} else {
		item = encode(map[string]any{"id": "msg_" + id, "type": "message", "status": "completed", "role": "assistant",
			"content": []any{map[string]any{"type": "output_text", "text": f.Reply, "annotations": []any{}, "logprobs": []any{}}}})
	}
	store := req.Store == nil || *req.Store
	response := func(status, output, usage string) string {
		if usage != "" {
			usage = `"usage":` + usage + `,`
		}
		return `{"id":"` + id + `","object":"response","created_at":1767225600,"status":"` + status + `","error":null,` +
			`"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":` + encode(req.Model) + `,` +
			`"output":[` + output + `],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},` +
			`"store":` + fmt.Sprint(store) + `,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],` +
			`"top_p":1.0,"truncation":"disabled",` + usage + `"metadata":{}}`
	}
	const usage = `{"input_tokens":11,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":16}`
	done := response("completed", item, usage)
	if store {
		f.mu.Lock()
		var out json.RawMessage = []byte(item)
		f.kept[id] = keptResponse{response: done, input: append(input, out)}
		f.mu.Unlock()
	}
	if !req.Stream {
		OpenAI.JSON(200, done).ServeHTTP(w, r)
		return
	}
	started := response("in_progress", "", "")
	var added string
	if strings.Contains(item, `"function_call"`) {
		added = strings.Replace(item, `"status":"completed"`, `"status":"in_progress"`, 1)
	} else {
		added = `{"id":"msg_` + id + `","type":"message","status":"in_progress","role":"assistant","content":[]}`
	}
	seq := 0
	ev := func(typ, data string) string {
		s := ResponsesEvent(typ, `{"type":"`+typ+`","sequence_number":`+fmt.Sprint(seq)+","+data[1:])
		seq++
		return s
	}
	stream := ev("response.created", `{"response":`+started+`}`) +
		ev("response.in_progress", `{"response":`+started+`}`) +
		ev("response.output_item.added", `{"output_index":0,"item":`+added+`}`)
	if !strings.Contains(item, `"function_call"`) {
		stream += ev("response.output_text.delta", `{"item_id":"msg_`+id+`","output_index":0,"content_index":0,"delta":`+encode(f.Reply)+`,"logprobs":[]}`)
	}
	stream += ev("response.output_item.done", `{"output_index":0,"item":`+item+`}`) +
		ev("response.completed", `{"response":`+done+`}`)
	OpenAI.Stream(stream).ServeHTTP(w, r)
}

// answerKept answers a GET or DELETE of a kept response, or its input items.
func (f *ResponsesAPI) answerKept(w http.ResponseWriter, r *http.Request, path string) {
	id, items := strings.CutSuffix(path, "/input_items")
	f.mu.Lock()
	k, ok := f.kept[id]
	if ok && r.Method == http.MethodDelete {
		delete(f.kept, id)
	}
	f.mu.Unlock()
	switch {
	case !ok:
		OpenAI.JSON(404, OpenAIError("Response with id '"+id+"' not found.", "invalid_request_error", "")).ServeHTTP(w, r)
	case r.Method == http.MethodDelete:
		OpenAI.JSON(200, `{"id":"`+id+`","object":"response","deleted":true}`).ServeHTTP(w, r)
	case items:
		data, _ := json.Marshal(k.input[:len(k.input)-1])
		OpenAI.JSON(200, `{"object":"list","data":`+string(data)+`,"first_id":null,"last_id":null,"has_more":false}`).ServeHTTP(w, r)
	default:
		OpenAI.JSON(200, k.response).ServeHTTP(w, r)
	}
}

// inputList is a request's input as items: a string is one user message.
func inputList(raw json.RawMessage) []json.RawMessage {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return []json.RawMessage{json.RawMessage(encode(map[string]string{"type": "message", "role": "user", "content": text}))}
	}
	var items []json.RawMessage
	_ = json.Unmarshal(raw, &items)
	return items
}

// firstFunction is the name of the first function tool.
func firstFunction(tools []struct {
	Type string `json:"type"`
	Name string `json:"name"`
}) string {
	for _, t := range tools {
		if t.Type == "function" {
			return t.Name
		}
	}
	return ""
}

// endsWithOutput reports whether the last input item is a function
// call's output.
func endsWithOutput(input []json.RawMessage) bool {
	if len(input) == 0 {
		return false
	}
	var last struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(input[len(input)-1], &last)
	return last.Type == "function_call_output"
}
