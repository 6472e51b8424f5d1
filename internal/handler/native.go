package handler

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/jsonscan"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// The native API (seed 002's `/api/v1/generate...` and seed 001's
// `/api/chat`) is a thin edge over the OpenAI pipeline: each request is
// rewritten into an OpenAI chat request and served by serveOperation,
// through the same auth, limits, routing, fallback, metrics and log line;
// an adapting response writer turns the OpenAI answer, stream or error
// into the native shape as it goes out.

// generateRequest is the body of /api/v1/generate and of each batch item.
type generateRequest struct {
	Prompt string `json:"prompt"`
	// Model is a public model name; empty uses default_model.
	Model       string   `json:"model,omitempty"`
	MaxTokens   *int64   `json:"max_tokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	// TopP and Stop are passed on as OpenAI's fields of the same names.
	TopP   *float64        `json:"top_p,omitempty"`
	Stop   json.RawMessage `json:"stop,omitempty"`
	Stream bool            `json:"stream,omitempty"`
	// System is an optional system message put before the prompt.
	System string `json:"system,omitempty"`
}

// chatBody is the OpenAI chat request a native request becomes.
func (g *generateRequest) chatBody(stream bool) ([]byte, error) {
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	type streamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	}
	req := struct {
		Model         string          `json:"model,omitempty"`
		Messages      []message       `json:"messages"`
		MaxTokens     *int64          `json:"max_tokens,omitempty"`
		Temperature   *float64        `json:"temperature,omitempty"`
		TopP          *float64        `json:"top_p,omitempty"`
		Stop          json.RawMessage `json:"stop,omitempty"`
		Stream        bool            `json:"stream,omitempty"`
		StreamOptions *streamOptions  `json:"stream_options,omitempty"`
	}{Model: g.Model, MaxTokens: g.MaxTokens, Temperature: g.Temperature, TopP: g.TopP, Stop: g.Stop, Stream: stream}
	if g.System != "" {
		req.Messages = append(req.Messages, message{"system", g.System})
	}
	req.Messages = append(req.Messages, message{"user", g.Prompt})
	if stream {
		// The final native event carries usage.
		req.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	return providers.MarshalJSON(req)
}

// parseGenerate reads and checks a native generation body.
func parseGenerate(body []byte) (*generateRequest, *providers.Error) {
	var g generateRequest
	if err := json.Unmarshal(body, &g); err != nil {
		return nil, invalidBody("the request body is not a valid generate request: " + err.Error())
	}
	if strings.TrimSpace(g.Prompt) == "" {
		return nil, fieldError("prompt", "prompt must be a non-empty string")
	}
	return &g, nil
}

// generateUsage is the usage object of a native answer.
type generateUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// generateResponse is the answer of /api/v1/generate and of a successful
// batch item.
type generateResponse struct {
	Text  string        `json:"text"`
	Usage generateUsage `json:"usage"`
	// Latency is the time the request took in the gateway, in seconds.
	Latency      float64 `json:"latency"`
	Model        string  `json:"model"`
	FinishReason string  `json:"finish_reason,omitempty"`
}

// chatAnswer is what the native API reads of an OpenAI chat completion.
type chatAnswer struct {
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *generateUsage `json:"usage"`
}

// serveGenerate answers POST /api/v1/generate; a client that asks for an
// event stream (`Accept: text/event-stream` or `"stream": true`) gets the
// stream of /api/v1/generate/stream.
func (h *Handler) serveGenerate(w http.ResponseWriter, r *http.Request) {
	h.generate(w, r, wantsEventStream(r))
}

// serveGenerateStream answers POST /api/v1/generate/stream.
func (h *Handler) serveGenerateStream(w http.ResponseWriter, r *http.Request) {
	h.generate(w, r, true)
}

func wantsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/event-stream") {
			return true
		}
	}
	return false
}

func (h *Handler) generate(w http.ResponseWriter, r *http.Request, stream bool) {
	start := time.Now()
	body, perr := readBody(w, r, h.cfg.MaxBody)
	var g *generateRequest
	if perr == nil {
		g, perr = parseGenerate(body)
	}
	if perr != nil {
		h.refuse(w, r, perr)
		return
	}
	stream = stream || g.Stream
	chat, err := g.chatBody(stream)
	if err != nil {
		h.refuse(w, r, invalidBody("encoding the request failed"))
		return
	}
	if stream {
		sw := &nativeStreamWriter{ResponseWriter: w, start: start, event: generateEvent}
		h.serveOperation(sw, withBody(r, chat), providers.Chat)
		return
	}
	res, failure := h.generateOnce(w, r, chat, start)
	if failure != nil {
		writeNativeError(w, failure.err, failure.fromUpstream)
		return
	}
	if res != nil {
		writeJSONStatus(w, http.StatusOK, res)
	}
}

// failure is an error the pipeline answered a native request with.
type failure struct {
	err          *providers.Error
	fromUpstream bool
}

// generateOnce runs one non-streamed generation. The pipeline's headers
// go to w's header; its answer is captured and translated. It returns the
// answer, or the failure to report, or neither when the client left.
func (h *Handler) generateOnce(w http.ResponseWriter, r *http.Request, chat []byte, start time.Time) (*generateResponse, *failure) {
	cw := &captureWriter{header: w.Header()}
	h.serveOperation(cw, withBody(r, chat), providers.Chat)
	// The OpenAI answer's length is not the native one's.
	cw.header.Del("Content-Length")
	if cw.failure != nil {
		return nil, cw.failure
	}
	if cw.status != http.StatusOK {
		return nil, nil // the client went away (499): nothing to answer
	}
	var a chatAnswer
	if err := json.Unmarshal(cw.body.Bytes(), &a); err != nil {
		return nil, &failure{providers.NewError(http.StatusBadGateway, "upstream_error", "the upstream's answer could not be read"), true}
	}
	res := &generateResponse{Latency: time.Since(start).Seconds(), Model: h.modelOf(chat)}
	if len(a.Choices) > 0 {
		if c := a.Choices[0].Message.Content; c != nil {
			res.Text = *c
		}
		if f := a.Choices[0].FinishReason; f != nil {
			res.FinishReason = *f
		}
	}
	if a.Usage != nil {
		res.Usage = *a.Usage
		if res.Usage.TotalTokens == 0 {
			res.Usage.TotalTokens = res.Usage.PromptTokens + res.Usage.CompletionTokens
		}
	}
	return res, nil
}

// modelOf is the model the native client asked for; the gateway answers
// with the public name, never the upstream's.
func (h *Handler) modelOf(chat []byte) string {
	if s, e, ok, _ := jsonscan.Find(chat, "model"); ok {
		if m, ok := jsonscan.String(chat[s:e]); ok {
			return m
		}
	}
	return h.cfg.DefaultModel
}

// withBody is r with a new body, for serveOperation. The headers are
// shared, not copied: nothing in the pipeline changes them.
func withBody(r *http.Request, body []byte) *http.Request {
	r2 := r.WithContext(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.GetBody = nil
	return r2
}

// refuse answers a native request the gateway turns away before the
// pipeline runs; the attempt is still metered and logged like any other.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, e *providers.Error) {
	x := &exchange{start: time.Now(), op: providers.Chat}
	activeRequests.Inc()
	defer func() {
		activeRequests.Dec()
		h.finish(r, x)
	}()
	if _, ok := w.(failureWriter); !ok {
		w = &nativeErrorWriter{w}
	}
	x.fail(w, e)
}

// captureWriter keeps a non-streamed answer for translation.
type captureWriter struct {
	header  http.Header
	status  int
	body    bytes.Buffer
	failure *failure
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(p)
}

func (c *captureWriter) writeFailure(e *providers.Error, fromUpstream bool) {
	c.failure = &failure{e, fromUpstream}
	c.status = e.Status
}

// nativeErrorWriter writes errors in the native shape straight through.
type nativeErrorWriter struct{ http.ResponseWriter }

func (n *nativeErrorWriter) writeFailure(e *providers.Error, fromUpstream bool) {
	writeNativeError(n.ResponseWriter, e, fromUpstream)
}

// Unwrap lets http.ResponseController reach the connection.
func (n *nativeErrorWriter) Unwrap() http.ResponseWriter { return n.ResponseWriter }

// streamChunk is what the native streams read of an OpenAI chunk.
type streamChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *generateUsage `json:"usage"`
}

// nativeEvent renders the native stream's events: one per OpenAI chunk
// with content, the final one at the end (done), or nil for none.
type nativeEvent func(s *nativeStreamWriter, kind eventKind, text string) []byte

type eventKind int

const (
	eventToken eventKind = iota
	eventDone
	eventError
)

// nativeStreamWriter rewrites the pipeline's OpenAI event stream into a
// native one, event by event: relayStream writes whole events (one or a
// burst of them per Write) and flushes when it flushes, so the native
// stream is as prompt as the OpenAI one. Errors before the stream began are written as native JSON
// errors with their status.
type nativeStreamWriter struct {
	http.ResponseWriter
	start        time.Time
	event        nativeEvent
	pending      []byte // an event split across writes
	finishReason string
	usage        *generateUsage
	streaming    bool
}

// WriteHeader drops the OpenAI answer's length, which the native one
// does not have.
func (s *nativeStreamWriter) WriteHeader(status int) {
	s.streaming = status == http.StatusOK
	s.Header().Del("Content-Length")
	s.ResponseWriter.WriteHeader(status)
}

// Write translates whole events and keeps a partial one for later.
func (s *nativeStreamWriter) Write(p []byte) (int, error) {
	if !s.streaming {
		return s.ResponseWriter.Write(p)
	}
	s.pending = append(s.pending, p...)
	var out []byte
	for {
		i := bytes.Index(s.pending, []byte("\n\n"))
		if i < 0 {
			break
		}
		line := s.pending[:i]
		if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			out = append(out, s.translate(data)...)
		} else if len(line) > 0 && line[0] == ':' {
			// Keepalive comments keep idle-timeout proxies in front from
			// dropping a native stream too; SSE clients skip them.
			out = append(append(out, line...), '\n', '\n')
		}
		s.pending = s.pending[i+2:]
	}
	if len(out) > 0 {
		if _, err := s.ResponseWriter.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// translate turns one OpenAI event payload into native events.
func (s *nativeStreamWriter) translate(data []byte) []byte {
	if bytes.Equal(data, []byte("[DONE]")) {
		return s.event(s, eventDone, "")
	}
	if _, _, ok, _ := jsonscan.Find(data, "error"); ok {
		return s.errorEvent(nativeStreamError(data))
	}
	var c streamChunk
	if json.Unmarshal(data, &c) != nil {
		return nil
	}
	if c.Usage != nil {
		s.usage = c.Usage
	}
	if len(c.Choices) == 0 {
		return nil
	}
	if f := c.Choices[0].FinishReason; f != nil {
		s.finishReason = *f
	}
	if c.Choices[0].Delta.Content == "" {
		return nil
	}
	return s.event(s, eventToken, c.Choices[0].Delta.Content)
}

func (s *nativeStreamWriter) errorEvent(e nativeError) []byte {
	body, _ := providers.MarshalJSON(e)
	return s.event(s, eventError, string(body))
}

// FlushError flushes the connection, for http.ResponseController.
func (s *nativeStreamWriter) FlushError() error {
	return http.NewResponseController(s.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (s *nativeStreamWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// writeFailure writes an error that came before the stream began.
func (s *nativeStreamWriter) writeFailure(e *providers.Error, fromUpstream bool) {
	writeNativeError(s.ResponseWriter, e, fromUpstream)
}

// sseData frames one event.
func sseData(payload []byte) []byte {
	b := make([]byte, 0, len(payload)+8)
	b = append(b, "data: "...)
	b = append(b, payload...)
	return append(b, '\n', '\n')
}

// generateEvent renders /api/v1/generate/stream: `{"token","finished"}`
// for each piece of text, then a final event with `finished: true`, the
// finish reason, usage and latency. An upstream failure mid-stream ends it
// with `finished: true` and an `error` object.
func generateEvent(s *nativeStreamWriter, kind eventKind, text string) []byte {
	type event struct {
		Token        string          `json:"token"`
		Finished     bool            `json:"finished"`
		FinishReason string          `json:"finish_reason,omitempty"`
		Usage        *generateUsage  `json:"usage,omitempty"`
		Latency      *float64        `json:"latency,omitempty"`
		Error        json.RawMessage `json:"error,omitempty"`
	}
	ev := event{Token: text}
	switch kind {
	case eventDone:
		latency := time.Since(s.start).Seconds()
		ev = event{Finished: true, FinishReason: s.finishReason, Usage: s.usage, Latency: &latency}
		if s.usage != nil && s.usage.TotalTokens == 0 {
			s.usage.TotalTokens = s.usage.PromptTokens + s.usage.CompletionTokens
		}
	case eventError:
		var e struct {
			Error json.RawMessage `json:"error"`
		}
		_ = json.Unmarshal([]byte(text), &e)
		ev = event{Finished: true, Error: e.Error}
	}
	body, _ := providers.MarshalJSON(ev)
	return sseData(body)
}

// chatEvent renders seed 001's /api/chat: `{"content"}` per piece, then
// `[DONE]`; a failure mid-stream is a native error event with no [DONE].
func chatEvent(s *nativeStreamWriter, kind eventKind, text string) []byte {
	switch kind {
	case eventDone:
		return []byte("data: [DONE]\n\n")
	case eventError:
		return sseData([]byte(text))
	}
	body, _ := providers.MarshalJSON(struct {
		Content string `json:"content"`
	}{text})
	return sseData(body)
}

// serveSimpleChat answers seed 001's POST /api/chat: an OpenAI chat body
// (messages, model, temperature and any other OpenAI field), always
// streamed. The body is passed on as sent, with only `stream` set.
func (h *Handler) serveSimpleChat(w http.ResponseWriter, r *http.Request) {
	body, perr := readBody(w, r, h.cfg.MaxBody)
	if perr == nil && !json.Valid(body) {
		perr = invalidBody("the request body is not valid JSON")
	}
	var chat []byte
	if perr == nil {
		var err error
		if chat, err = jsonscan.Set(body, "stream", []byte("true")); err != nil {
			perr = invalidBody("the request body must be a JSON object")
		}
	}
	if perr != nil {
		h.refuse(w, r, perr)
		return
	}
	sw := &nativeStreamWriter{ResponseWriter: w, start: time.Now(), event: chatEvent}
	h.serveOperation(sw, withBody(r, chat), providers.Chat)
}
