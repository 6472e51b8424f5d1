// Command upstream is a fast fake upstream used by the benchmark harness.
// It answers POST /v1/chat/completions as OpenAI does, with a fixed
// chat.completion object or, when the request sets "stream": true, a
// server-sent event stream; POST /v1/messages as Anthropic's Messages
// API does, so that a translating gateway can be measured too; and POST
// /v1/responses as OpenAI's Responses API does, for the native relay.
package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"
	"time"
)

// defaultMaxTokens is the number of content chunks streamed when the request
// does not set max_tokens. Each content chunk carries one "tok " token; a
// leading role chunk with empty content precedes them, as OpenAI sends it.
const defaultMaxTokens = 50

// maxBodyBytes bounds how much of a request body is read.
const maxBodyBytes = 1 << 20

// completionBody is the precomputed non-streaming response.
var completionBody = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1735689600,"model":"bench-model","system_fingerprint":"fp_bench0001","choices":[{"index":0,"message":{"role":"assistant","content":"This is a fixed benchmark completion. It is about as long as a short, realistic answer from a chat model.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":21,"completion_tokens":42,"total_tokens":63,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default"}` + "\n")

// Precomputed server-sent events of a streamed completion.
var (
	firstChunk  = []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"bench-model","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	tokenChunk  = []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"bench-model","choices":[{"index":0,"delta":{"content":"tok "},"logprobs":null,"finish_reason":null}]}` + "\n\n")
	finishChunk = []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"bench-model","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\n")
	doneEvent   = []byte("data: [DONE]\n\n")
)

// chatRequest holds the few request fields the fake upstream looks at.
type chatRequest struct {
	Model     string `json:"model"`
	Stream    bool   `json:"stream"`
	MaxTokens int    `json:"max_tokens"`
	// MaxCompletionTokens stands for max_tokens when that is absent, as
	// in the chat requests of the gateway's Responses API.
	MaxCompletionTokens int `json:"max_completion_tokens"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8900", "listen address")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", handleChat)
	mux.HandleFunc("POST /v1/messages", handleMessages)
	mux.HandleFunc("POST /v1/responses", handleResponses)
	srv := &http.Server{
		Addr:              *addr,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	log.Fatal(srv.ListenAndServe())
}

// handleChat serves one chat completion request.
func handleChat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"invalid JSON body","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	if !req.Stream {
		writeCompletion(w)
		return
	}
	n := cmp.Or(req.MaxTokens, req.MaxCompletionTokens)
	if n <= 0 {
		n = defaultMaxTokens
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	writeStream(w, n, includeUsage)
}

// writeCompletion writes the fixed non-streaming response.
func writeCompletion(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(completionBody))}
	_, _ = w.Write(completionBody)
}

// writeStream writes the role chunk, n content chunks, the finish chunk, an
// optional usage chunk and the [DONE] marker, flushing after every event.
func writeStream(w http.ResponseWriter, n int, includeUsage bool) {
	h := w.Header()
	h["Content-Type"] = []string{"text/event-stream"}
	h["Cache-Control"] = []string{"no-cache"}
	w.WriteHeader(http.StatusOK)
	send := eventSender(w)
	if !send(firstChunk) {
		return
	}
	for range n {
		if !send(tokenChunk) {
			return
		}
	}
	if !send(finishChunk) {
		return
	}
	if includeUsage && !send(usageChunk(n)) {
		return
	}
	send(doneEvent)
}

// usageChunk returns the final usage event for a stream of n completion
// tokens.
func usageChunk(n int) []byte {
	const prompt = 21
	return []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1735689600,"model":"bench-model","choices":[],"usage":{"prompt_tokens":` +
		strconv.Itoa(prompt) + `,"completion_tokens":` + strconv.Itoa(n) + `,"total_tokens":` + strconv.Itoa(prompt+n) + `}}` + "\n\n")
}

// Precomputed Anthropic Messages answer and events.
var (
	messageBody  = []byte(`{"id":"msg_bench","type":"message","role":"assistant","model":"bench-model","content":[{"type":"text","text":"This is a fixed benchmark completion. It is about as long as a short, realistic answer from a chat model."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":21,"output_tokens":42}}` + "\n")
	messageStart = []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"bench-model\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":21,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	textDelta = []byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"tok \"}}\n\n")
)

// messagesEnd is the closing events of a stream of n output tokens.
func messagesEnd(n int) []byte {
	return []byte("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" + strconv.Itoa(n) + "}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
}

// handleMessages serves one Anthropic Messages request: max_tokens text
// deltas when streamed, each flushed on its own.
func handleMessages(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(&req); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"type":"error","error":{"type":"invalid_request_error","message":"invalid JSON body"}}`)
		return
	}
	if !startAnswer(w, req.Stream, messageBody) {
		return
	}
	n := req.MaxTokens
	if n <= 0 {
		n = defaultMaxTokens
	}
	send := eventSender(w)
	if !send(messageStart) {
		return
	}
	for range n {
		if !send(textDelta) {
			return
		}
	}
	send(messagesEnd(n))
}

// startAnswer writes body, the whole answer, when the request is not
// streamed and reports false; for a streamed one it begins the event
// stream.
func startAnswer(w http.ResponseWriter, stream bool, body []byte) bool {
	h := w.Header()
	if !stream {
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		_, _ = w.Write(body)
		return false
	}
	h["Content-Type"] = []string{"text/event-stream"}
	h["Cache-Control"] = []string{"no-cache"}
	w.WriteHeader(http.StatusOK)
	return true
}

// eventSender returns a function that writes one event and flushes it,
// reporting whether the client is still there.
func eventSender(w http.ResponseWriter) func([]byte) bool {
	flusher, _ := w.(http.Flusher)
	return func(event []byte) bool {
		if _, err := w.Write(event); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
}
