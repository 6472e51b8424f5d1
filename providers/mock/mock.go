// Package mock is a built-in provider that answers without any network: it
// replies with a configured text or echoes the last user message, streams
// word by word, and reports usage. It powers the quickstart, the examples,
// tests and benchmarks.
package mock

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

func init() {
	caddy.RegisterModule(Mock{})
}

// answerIDs numbers answers, so each has its own id.
var answerIDs atomic.Uint64

// Mock answers deterministically from within the gateway. Chat and legacy
// completions answer with Reply, or echo the last user message (the prompt
// for completions) when Reply is empty; `max_tokens` cuts the answer after
// that many words with finish reason `length`. Embeddings are unit vectors
// derived from a hash of each input. Usage counts words.
type Mock struct {
	providers.Base

	// Reply is the answer text. Default: echo the last user message.
	Reply string `json:"reply,omitempty"`

	// Delay is the pause before each streamed word. Default: 0.
	Delay caddy.Duration `json:"delay,omitempty"`

	// Models are the model names the provider lists. Default: `mock`.
	Models []string `json:"models,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Mock) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  providers.Namespace + ".mock",
		New: func() caddy.Module { return new(Mock) },
	}
}

// Provision applies defaults.
func (m *Mock) Provision(caddy.Context) error {
	if len(m.Models) == 0 {
		m.Models = []string{"mock"}
	}
	return nil
}

// Send answers the call.
func (m *Mock) Send(ctx context.Context, call *providers.Call) (*providers.Response, error) {
	var req request
	if err := json.Unmarshal(call.Body, &req); err != nil {
		return nil, providers.NewError(http.StatusBadRequest, "", "invalid request body: "+err.Error())
	}
	created := time.Now().Unix()
	id := answerIDs.Add(1)
	switch call.Op {
	case providers.Embeddings:
		return m.embed(call.Model, &req)
	case providers.Completions:
		prompt := req.promptText()
		return m.answer(ctx, call, answer{
			id: fmt.Sprintf("cmpl-mock-%d", id), object: "text_completion", created: created,
			words: m.words(prompt, req.maxTokens()), promptTokens: countWords(prompt),
		})
	default:
		if len(req.Messages) == 0 {
			return nil, &providers.Error{Status: http.StatusBadRequest, Type: "invalid_request_error",
				Param: "messages", Message: "messages must be a non-empty array"}
		}
		return m.answer(ctx, call, answer{
			id: fmt.Sprintf("chatcmpl-mock-%d", id), object: "chat.completion", created: created,
			words: m.words(req.lastUserText(), req.maxTokens()), promptTokens: req.promptWords(), chat: true,
		})
	}
}

// words splits the reply into stream pieces, each word carrying the space
// that follows it, and cuts it at maxTokens words.
func (m *Mock) words(echo string, maxTokens int) pieces {
	text := m.Reply
	if text == "" {
		text = echo
	}
	var p pieces
	for rest := text; rest != ""; {
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest) - 1
		}
		p.words = append(p.words, rest[:end+1])
		rest = rest[end+1:]
	}
	if maxTokens > 0 && len(p.words) > maxTokens {
		p.words, p.cut = p.words[:maxTokens], true
	}
	return p
}

func (m *Mock) answer(ctx context.Context, call *providers.Call, a answer) (*providers.Response, error) {
	a.model = call.Model
	if call.Stream {
		return &providers.Response{Stream: &stream{ctx: ctx, a: a, delay: time.Duration(m.Delay)}}, nil
	}
	body, err := json.Marshal(a.whole())
	if err != nil {
		return nil, err
	}
	return providers.BytesResponse(body), nil
}

// ListModels lists the configured model names.
func (m *Mock) ListModels(context.Context, string) ([]providers.Model, error) {
	out := make([]providers.Model, len(m.Models))
	for i, name := range m.Models {
		out[i] = providers.Model{ID: name, Object: "model", OwnedBy: m.Name}
	}
	return out, nil
}

// ListsLocally reports true: its models come from the configuration.
func (*Mock) ListsLocally() bool { return true }

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens. Syntax:
//
//	provider <name> mock {
//		reply <text>
//		delay <duration>
//		models <name>...
//	}
func (m *Mock) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return providers.ParseBlock(d, &m.Base, m.CaddyfileOptions())
}

// CaddyfileOptions are the subdirectives of a mock provider block beyond
// the common ones.
func (m *Mock) CaddyfileOptions() providers.Options {
	return providers.Options{
		"reply": func(d *caddyfile.Dispenser) error { return providers.OneArg(d, &m.Reply) },
		"delay": func(d *caddyfile.Dispenser) error { return providers.DurationArg(d, &m.Delay) },
		"models": func(d *caddyfile.Dispenser) error {
			names := d.RemainingArgs()
			if len(names) == 0 {
				return d.ArgErr()
			}
			m.Models = append(m.Models, names...)
			return nil
		},
	}
}

// Interface guards
var (
	_ providers.Provider          = (*Mock)(nil)
	_ providers.ModelLister       = (*Mock)(nil)
	_ providers.LocalLister       = (*Mock)(nil)
	_ caddy.Provisioner           = (*Mock)(nil)
	_ caddyfile.Unmarshaler       = (*Mock)(nil)
	_ providers.OptionsDocumenter = (*Mock)(nil)
)
