package native

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/inbound"
	"github.com/llmgateway/caddy-llm-gateway/providers"
)

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

// withTotal is u with its total filled in when the upstream left it out.
func (u generateUsage) withTotal() generateUsage {
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	return u
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
func serveGenerate(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	generate(hub, w, r, wantsEventStream(r))
}

// serveGenerateStream answers POST /api/v1/generate/stream.
func serveGenerateStream(hub inbound.Hub, w http.ResponseWriter, r *http.Request) {
	generate(hub, w, r, true)
}

func wantsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/event-stream") {
			return true
		}
	}
	return false
}

func generate(hub inbound.Hub, w http.ResponseWriter, r *http.Request, stream bool) {
	start := time.Now()
	body, perr := hub.ReadBody(w, r)
	var g *generateRequest
	if perr == nil {
		g, perr = parseGenerate(body)
	}
	if perr != nil {
		hub.Refuse(w, r, perr, errorShape{})
		return
	}
	chat, err := g.chatBody(stream || g.Stream)
	if err != nil {
		hub.Refuse(w, r, invalidBody("encoding the request failed"), errorShape{})
		return
	}
	hub.Serve(w, r, &inbound.Exchange{Chat: chat, Translator: generation{start: start}})
}

// errorShape writes the native API's errors.
type errorShape struct{}

func (errorShape) WriteError(w http.ResponseWriter, e *providers.Error, fromUpstream bool) {
	writeError(w, e, fromUpstream)
}

// generation translates the answers of /api/v1/generate and its stream.
// start is when the request came, for the answer's latency.
type generation struct {
	errorShape
	start time.Time
}

// Answer turns a chat completion into a generateResponse.
func (g generation) Answer(chat []byte, model string) ([]byte, error) {
	var a chatAnswer
	if err := json.Unmarshal(chat, &a); err != nil {
		return nil, err
	}
	res := generateResponse{Latency: time.Since(g.start).Seconds(), Model: model}
	if len(a.Choices) > 0 {
		if c := a.Choices[0].Message.Content; c != nil {
			res.Text = *c
		}
		if f := a.Choices[0].FinishReason; f != nil {
			res.FinishReason = *f
		}
	}
	if a.Usage != nil {
		res.Usage = a.Usage.withTotal()
	}
	return providers.MarshalJSON(res)
}

// Stream renders /api/v1/generate/stream.
func (g generation) Stream(string) inbound.StreamEncoder {
	return &generateStream{start: g.start}
}

// Interface guards
var _ inbound.Translator = generation{}
