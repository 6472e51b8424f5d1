// Package handler is the llm_gateway request pipeline: it routes OpenAI API
// requests to providers, falls back across targets, relays answers and
// streams, and writes errors, metrics and logs. It runs without a Caddy
// server, so it is tested directly.
package handler

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/llmgateway/caddy-llm-gateway/providers"
)

// Config is everything the pipeline needs; the Caddy module builds it from
// its own configuration.
type Config struct {
	// Routes in configuration order; a route named Wildcard catches every
	// other model.
	Routes []Route
	// DefaultModel is used for requests that name no model.
	DefaultModel string
	// MaxBody bounds request bodies, in bytes.
	MaxBody int64
	// Timeout bounds a whole request, streams included.
	Timeout time.Duration
	// Auth identifies callers; nil lets everyone in, identified by IP.
	Auth Authenticator
	// Limits are the default per-caller limits.
	Limits Limits
	// Logger receives one line per request.
	Logger *zap.Logger
}

// Handler serves the gateway's HTTP surface.
type Handler struct {
	cfg         Config
	routes      *router
	passthrough bool // callers' keys go to providers without a key of their own
	// storeErrorLogged is when a store failure was last logged (unix ns).
	storeErrorLogged atomic.Int64
}

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if len(cfg.Routes) == 0 {
		return nil, errors.New("no model routes")
	}
	for _, r := range cfg.Routes {
		if len(r.Targets) == 0 {
			return nil, fmt.Errorf("model %q has no targets", r.Name)
		}
	}
	if cfg.MaxBody <= 0 {
		return nil, errors.New("max body size must be positive")
	}
	if cfg.Timeout <= 0 {
		return nil, errors.New("timeout must be positive")
	}
	if (cfg.Limits.Requests != nil || cfg.Limits.Tokens != nil) && cfg.Limits.Counter == nil {
		return nil, errors.New("limits need a counter store")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	_, passthrough := cfg.Auth.(PassthroughAuth)
	return &Handler{cfg: cfg, routes: newRouter(cfg.Routes), passthrough: passthrough}, nil
}

// ServeHTTP serves r when its path belongs to the gateway and reports
// whether it did; other requests are left for the next handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	switch {
	case path == "/v1/chat/completions":
		return h.post(w, r, providers.Chat)
	case path == "/v1/completions":
		return h.post(w, r, providers.Completions)
	case path == "/v1/embeddings":
		return h.post(w, r, providers.Embeddings)
	case path == "/v1/models":
		return h.get(w, r, h.listModels)
	case strings.HasPrefix(path, "/v1/models/"):
		return h.get(w, r, h.getModel)
	}
	return false
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request, op providers.Operation) bool {
	switch r.Method {
	case http.MethodPost:
		h.serveOperation(w, r, op)
	case http.MethodOptions: // CORS preflights are answered by the site's own config
		return false
	default:
		methodNotAllowed(w, "POST")
	}
	return true
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request)) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		serve(w, r)
	case http.MethodOptions:
		return false
	default:
		methodNotAllowed(w, "GET, HEAD")
	}
	return true
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	x := &exchange{start: time.Now()}
	w.Header().Set("Allow", allow)
	x.fail(w, providers.NewError(http.StatusMethodNotAllowed, "method_not_allowed",
		"this endpoint accepts "+allow))
}

// authenticate returns the caller of r, or the error to answer with. With
// no auth configured every caller is anonymous (nil).
func (h *Handler) authenticate(r *http.Request) (*Caller, *providers.Error) {
	if h.cfg.Auth == nil {
		return &Caller{upstreamKey: presentedKey(r)}, nil
	}
	return h.cfg.Auth.Authenticate(r)
}

// requestContext bounds a request by the gateway's timeout.
func (h *Handler) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), h.cfg.Timeout)
}
