package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// echoAPI is the API of echoDoor, a door as small as a door can be: a
// request `{"model","input","stream"}` is answered `{"output","usage"}`,
// or streamed as `delta` events and a `done` event, and its errors are
// `{"type":"error","error":{"type","message"}}`.
const echoAPI providers.Operation = "test/echo"

type echoDoor struct{}

func (echoDoor) Endpoints() []inbound.Endpoint {
	return []inbound.Endpoint{{Method: "POST", Path: "/v1/echo", Summary: "echo", Serve: serveEcho}}
}

func (echoDoor) WriteError(w http.ResponseWriter, e *providers.Error, _ bool) {
	body, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": e.Code, "message": e.Message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

func serveEcho(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	body, perr := hub.ReadBody(w, r)
	var req struct {
		Model  string `json:"model"`
		Input  string `json:"input"`
		Stream bool   `json:"stream"`
	}
	if perr == nil && json.Unmarshal(body, &req) != nil {
		perr = providers.NewError(http.StatusBadRequest, "invalid_request_error", "not an echo request")
	}
	if perr != nil {
		hub.Refuse(w, r, perr, echoDoor{})
		return
	}
	chat, _ := json.Marshal(map[string]any{"model": req.Model, "stream": req.Stream,
		"messages": []map[string]string{{"role": "user", "content": req.Input}}})
	hub.Serve(w, r, &inbound.Exchange{Chat: chat, Translator: echoTranslator{}, API: echoAPI, Body: body,
		Meter: func(bool) inbound.UsageMeter { return &echoMeter{} }})
}

type echoTranslator struct{ echoDoor }

func (echoTranslator) Answer(chat []byte, model string) ([]byte, error) {
	var a struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.Unmarshal(chat, &a); err != nil || len(a.Choices) == 0 {
		return nil, io.ErrUnexpectedEOF
	}
	return json.Marshal(map[string]string{"output": a.Choices[0].Message.Content, "model": model})
}

func (echoTranslator) Stream(string) inbound.StreamEncoder { return echoEvents{} }

type echoEvents struct{}

func (echoEvents) Chunk(buf, chunk []byte) []byte {
	var c struct {
		Choices []struct{ Delta struct{ Content string } }
	}
	if json.Unmarshal(chunk, &c) != nil || len(c.Choices) == 0 || c.Choices[0].Delta.Content == "" {
		return buf
	}
	text, _ := json.Marshal(c.Choices[0].Delta.Content)
	return inbound.AppendData(append(buf, "event: delta\n"...), text)
}

func (echoEvents) End(buf []byte) []byte {
	return inbound.AppendData(append(buf, "event: done\n"...), []byte("{}"))
}

func (echoEvents) Fail(buf []byte, e *providers.Error) []byte {
	body, _ := json.Marshal(map[string]string{"message": e.Message})
	return inbound.AppendData(append(buf, "event: error\n"...), body)
}

// echoMeter reads the echo API's usage, `"usage":{"input_tokens",
// "output_tokens"}`, from its answer or from the last event that has one.
type echoMeter struct{ seen bytes.Buffer }

func (m *echoMeter) Write(p []byte) (int, error) { return m.seen.Write(p) }

func (m *echoMeter) Usage() (inbound.Usage, bool) {
	var found bool
	var u inbound.Usage
	for _, doc := range append([]string{m.seen.String()}, strings.Split(m.seen.String(), "\n")...) {
		var v struct {
			Usage *struct {
				InputTokens  int `json:"input_tokens"`
				OutputTokens int `json:"output_tokens"`
			} `json:"usage"`
		}
		doc, _ = strings.CutPrefix(doc, "data: ")
		if json.Unmarshal([]byte(doc), &v) == nil && v.Usage != nil {
			u, found = inbound.Usage{PromptTokens: v.Usage.InputTokens, CompletionTokens: v.Usage.OutputTokens}, true
		}
	}
	return u, found
}

// echoNative is an OpenAI provider whose upstream also serves the echo
// API itself, at /v1/echo.
type echoNative struct {
	providers.Provider
	url string
}

func (p *echoNative) ServesNatively(op providers.Operation) bool { return op == echoAPI }

func (p *echoNative) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	if call.Op != echoAPI {
		return p.Provider.Send(ctx, call)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/v1/echo", bytes.NewReader(call.Body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, providers.NewError(resp.StatusCode, "upstream_error", string(body))
	}
	return &providers.Response{Body: resp.Body, Length: resp.ContentLength}, nil
}

// The echo upstream's own answers: whitespace, member order and a field
// no struct knows, all of which must reach the client as they are.
const (
	echoAnswer = `{ "output":"from the native API",  "extra":{"kept":true},
"usage":{"input_tokens":3,"output_tokens":4}}`
	echoStreamStart = "event: delta\ndata: \"from \"\n\n"
	echoStreamRest  = ": a comment\n\nevent: delta\ndata: \"the native API\"\n\nevent: done\ndata: {\"usage\":{\"input_tokens\":5,\"output_tokens\":6}}\n\n"
)

// echoUpstream serves the echo API natively, and OpenAI chat; every
// request fails with 500 when failing is set.
func echoUpstream(t *testing.T, failing bool) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case failing:
			errorStatus(w, http.StatusInternalServerError)
		case r.URL.Path != "/v1/echo":
			answer(w, r)
		case bytes.Contains(body, []byte(`"stream":true`)):
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, echoStreamStart)
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, echoStreamRest)
		default:
			_, _ = io.WriteString(w, echoAnswer)
		}
	})
}

// echoGateway serves the echo door, routing the model "m" to targets.
func echoGateway(t *testing.T, logger *zap.Logger, targets ...Target) string {
	return gateway(t, Config{Doors: []inbound.Door{echoDoor{}}, Logger: logger, Routes: []Route{route("m", targets...)}}).URL
}

// lastLine is the fields of the last request logged.
func lastLine(t *testing.T, logs *observer.ObservedLogs) map[string]any {
	t.Helper()
	lines := logs.FilterMessage("handled request").All()
	if len(lines) == 0 {
		t.Fatal("no request was logged")
	}
	return lines[len(lines)-1].ContextMap()
}

func TestDoorServedNativelyIsRelayedUntouched(t *testing.T) {
	up := echoUpstream(t, false)
	core, logs := observer.New(zapcore.InfoLevel)
	base := echoGateway(t, zap.New(core),
		Target{Provider: &echoNative{Provider: openAIProvider(t, "native", up.URL), url: up.URL}, Model: "upstream-m"})
	for _, tc := range []struct {
		stream             bool
		answer             string
		prompt, completion int64
		contentType        string
	}{
		{false, echoAnswer, 3, 4, "application/json"},
		{true, echoStreamStart + echoStreamRest, 5, 6, "text/event-stream"},
	} {
		sent := `{"model":"m","input":"hi","stream":` + strconv.FormatBool(tc.stream) + `,"cache_control":{"type":"ephemeral"}}`
		resp, body := postWith(t, base+"/v1/echo", sent, nil)
		got := up.last(t)
		if want := strings.Replace(sent, `"m"`, `"upstream-m"`, 1); got.path != "/v1/echo" || string(got.body) != want {
			t.Errorf("upstream got %s %s, want the client's body with only the model rewritten: %s", got.path, got.body, want)
		}
		if resp.StatusCode != 200 || body != tc.answer || resp.Header.Get("Content-Type") != tc.contentType {
			t.Errorf("stream %v: %d %s %q, want the upstream's answer untouched", tc.stream, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		line := lastLine(t, logs)
		if line["operation"] != string(echoAPI) || line["prompt_tokens"] != tc.prompt || line["completion_tokens"] != tc.completion || line["status"] != int64(200) {
			t.Errorf("stream %v: logged %v", tc.stream, line)
		}
	}
}

func TestDoorTranslatedThroughTheHub(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case !bytes.Contains(body, []byte(`"stream":true`)):
			_, _ = io.WriteString(w, chatCompletion)
		case bytes.Contains(body, []byte(`"break"`)): // ends without [DONE]
			writeSSE(w, roleChunk, chunk("c", "Hel"))
		default:
			writeSSE(w, roleChunk, chunk("c", "Hel"), chunk("c", "lo"), finishChunk, usageChunk, doneEventLine)
		}
	})
	base := echoGateway(t, nil, Target{Provider: openAIProvider(t, "plain", up.URL)})
	cases := []struct {
		name, method, body string
		status             int
		want               string // the body, or a prefix of it when it ends in …
	}{
		{"answer", "POST", `{"model":"m","input":"hi"}`, 200, `{"model":"m","output":"Hello."}`},
		{"stream", "POST", `{"model":"m","input":"hi","stream":true}`, 200,
			"event: delta\ndata: \"Hel\"\n\nevent: delta\ndata: \"lo\"\n\nevent: done\ndata: {}\n\n"},
		{"stream cut midway", "POST", `{"model":"m","input":"break","stream":true}`, 200,
			"event: delta\ndata: \"Hel\"\n\nevent: error\ndata: {\"message\":\"the upstream provider plain ended its answer before it was complete\"}\n\n"},
		{"unknown model", "POST", `{"model":"nope","input":"hi"}`, 404, `{"error":{"message":"The model ` + "`nope`" + ` does not exist or you do not have access to it.","type":"model_not_found"},"type":"error"}`},
		{"bad body", "POST", `[`, 400, `{"error":{"message":"not an echo request","type":"invalid_request_error"},"type":"error"}`},
		{"wrong method", "GET", ``, 405, `{"error":{"message":"this endpoint accepts POST","type":"method_not_allowed"},"type":"error"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+"/v1/echo", strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if body := readAll(t, resp.Body); resp.StatusCode != tc.status || body != tc.want {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, body, tc.status, tc.want)
			}
		})
	}
	if got := up.last(t); got.path != "/v1/chat/completions" || !strings.Contains(string(got.body), `"messages":[{"content":"hi","role":"user"}]`) {
		t.Errorf("upstream got %s %s, want the chat request", got.path, got.body)
	}
}

func TestDoorFallsBackFromNativeToTranslated(t *testing.T) {
	down, up := echoUpstream(t, true), echoUpstream(t, false)
	base := echoGateway(t, nil,
		Target{Provider: &echoNative{Provider: openAIProvider(t, "native", down.URL), url: down.URL}},
		Target{Provider: openAIProvider(t, "plain", up.URL)})
	resp, body := postWith(t, base+"/v1/echo", `{"model":"m","input":"hi"}`, nil)
	if resp.StatusCode != 200 || body != `{"model":"m","output":"Hello."}` {
		t.Errorf("%d %s, want the second target's chat answer, translated", resp.StatusCode, body)
	}
	if got := down.last(t); got.path != "/v1/echo" {
		t.Errorf("the native target got %s", got.path)
	}
	if got := up.last(t); got.path != "/v1/chat/completions" {
		t.Errorf("the other target got %s", got.path)
	}
}
