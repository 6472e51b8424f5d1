// Command upstream is a fast fake OpenAI-compatible upstream used by the
// benchmark harness. It answers POST /v1/chat/completions with a fixed
// chat.completion object, or with an OpenAI-style server-sent event stream
// when the request body sets "stream": true.
package main

import (
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
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	MaxTokens     int    `json:"max_tokens"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8900", "listen address")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", handleChat)
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
	n := req.MaxTokens
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
	flusher, _ := w.(http.Flusher)
	send := func(event []byte) bool {
		if _, err := w.Write(event); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
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
