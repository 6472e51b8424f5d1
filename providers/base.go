package providers

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// KeyPassthrough as an api_key sends each caller's own key upstream.
const KeyPassthrough = "passthrough"

// Base is the configuration every provider type shares. Provider modules
// embed it, so its fields appear at the top level of each provider's JSON.
type Base struct {
	// Name identifies the provider in `model` routes, logs and metrics.
	// Required and unique within one llm_gateway handler.
	Name string `json:"name,omitempty"`

	// BaseURL is the upstream's address, including any path prefix the
	// operations are appended to. Each provider type documents its default.
	BaseURL string `json:"base_url,omitempty"`

	// APIKey is the upstream credential. Write it as a placeholder such as
	// `{env.OPENAI_API_KEY}` or `{file./run/secrets/key}`: it is resolved
	// when the config is loaded, so the secret never appears in the config.
	// The value `passthrough` sends each caller's own key (from its
	// `Authorization: Bearer`, `api-key` or `x-api-key` header) instead.
	APIKey string `json:"api_key,omitempty"`

	// Header holds extra request headers sent upstream with every call, for
	// example `OpenAI-Organization`. Values may use placeholders too.
	Header http.Header `json:"header,omitempty"`

	// DialTimeout bounds connecting to the upstream. Default: 10s.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`

	// MaxConcurrent bounds the calls to this provider in flight at once. A
	// call holds a slot from sending its request until its answer or
	// stream is closed, whether it ends normally, fails or its client
	// leaves. A call that finds every slot taken is refused with 503
	// `provider_busy` without contacting the upstream, and the gateway
	// tries the route's next target. Default: 0, no bound.
	MaxConcurrent int `json:"max_concurrent,omitempty"`

	// QueueTimeout lets a call that finds every max_concurrent slot taken
	// wait up to this long for one before it is refused. Default: 0, the
	// call is refused at once.
	QueueTimeout caddy.Duration `json:"queue_timeout,omitempty"`

	// MaxResponseBody bounds a non-streamed answer, in bytes. An answer
	// that declares a larger length is refused before any of it is read;
	// one without a declared length is cut off at the bound. Either way
	// the client gets 502 `upstream_response_too_large`. Streams are
	// bounded per event instead. Default: 64 MiB.
	MaxResponseBody int64 `json:"max_response_body,omitempty"`

	apiKey      string
	passthrough bool
	parseError  func(status int, header http.Header, body []byte) *Error
	streamHead  http.Header // extra headers of streamed calls
	url         *url.URL
	client      *http.Client
	header      http.Header
	slots       *slots
}

// Config returns b itself; it makes every provider that embeds Base satisfy
// the Config method of Provider.
func (b *Base) Config() *Base { return b }

// URL returns the parsed base URL.
func (b *Base) URL() *url.URL { return b.url }

// Setup resolves placeholders, applies defaultURL when BaseURL is empty,
// validates the URL and builds the pooled HTTP client. Providers call it
// from their Provision.
func (b *Base) Setup(defaultURL string) error {
	repl := caddy.NewReplacer()
	b.passthrough = b.APIKey == KeyPassthrough
	if !b.passthrough {
		b.apiKey = repl.ReplaceAll(b.APIKey, "")
	}
	if b.APIKey != "" && !b.passthrough && b.apiKey == "" {
		return fmt.Errorf("provider %q: api_key %s resolved to an empty value (is the environment variable set?)", b.Name, b.APIKey)
	}
	if b.BaseURL == "" {
		b.BaseURL = defaultURL
	}
	if b.BaseURL == "" {
		return fmt.Errorf("provider %q: base_url is required", b.Name)
	}
	rawURL := repl.ReplaceAll(b.BaseURL, "")
	if rawURL == "" {
		return fmt.Errorf("provider %q: base_url %s resolved to an empty value (is the environment variable set?)", b.Name, b.BaseURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("provider %q: parsing base_url: %w", b.Name, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("provider %q: base_url %q must be an absolute http:// or https:// URL", b.Name, b.BaseURL)
	}
	if err := b.checkBounds(); err != nil {
		return err
	}
	u.Path = strings.TrimRight(u.Path, "/")
	b.url = u
	b.header = make(http.Header, len(b.Header))
	for k, vals := range b.Header {
		for _, v := range vals {
			b.header.Add(k, repl.ReplaceAll(v, ""))
		}
	}
	dial := time.Duration(b.DialTimeout)
	if dial <= 0 {
		dial = 10 * time.Second
	}
	b.client = &http.Client{Transport: newTransport(dial)}
	b.slots = newSlots(b.MaxConcurrent, time.Duration(b.QueueTimeout))
	return nil
}

// checkBounds refuses bounds a Caddyfile cannot write but JSON can.
func (b *Base) checkBounds() error {
	switch {
	case b.MaxConcurrent < 0:
		return fmt.Errorf("provider %q: max_concurrent must not be negative", b.Name)
	case b.QueueTimeout < 0:
		return fmt.Errorf("provider %q: queue_timeout must not be negative", b.Name)
	case b.QueueTimeout > 0 && b.MaxConcurrent == 0:
		return fmt.Errorf("provider %q: queue_timeout needs max_concurrent", b.Name)
	case b.MaxResponseBody < 0:
		return fmt.Errorf("provider %q: max_response_body must not be negative", b.Name)
	}
	return nil
}

// newTransport returns the transport one provider uses for all its calls.
// Compression is left off so streamed answers arrive unbuffered, and the
// idle pool is large enough that a burst of concurrent calls reuses its
// connections instead of dialling anew. Response headers are bounded well
// below Go's 10 MB default: no provider sends more than a few KiB.
func newTransport(dial time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:      true,
		DisableCompression:     true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxResponseHeader,
	}
}

// Cleanup drops the client's idle connections. Calls still in flight keep
// theirs: a config reload must not cut streams that are being served.
func (b *Base) Cleanup() error {
	if b.client != nil {
		b.client.CloseIdleConnections()
	}
	return nil
}

// AuthSetter puts key, the credential for one call, into the upstream
// request's headers the way the provider expects it.
type AuthSetter func(h http.Header, key string)

// Post sends body to the upstream URL with the provider's extra headers and
// the call's credential. A non-2xx answer is read, closed and returned as
// an *Error.
func (b *Base) Post(ctx context.Context, target string, call *Call, body []byte, setAuth AuthSetter) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return nil, fmt.Errorf("building upstream request: %w", err)
	}
	forgetBody := setRequestBody(req, body)
	key, callers := b.keyFor(call.CallerKey)
	req.Header = b.requestHeader(setAuth, key)
	propagateTrace(ctx, req.Header)
	req.Header.Set("Content-Type", "application/json")
	if call.Stream {
		req.Header.Set("Accept", "text/event-stream")
		for k, v := range b.streamHead {
			req.Header[k] = v
		}
	} else {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := b.do(req, key, callers, !call.Stream)
	forgetBody()
	return resp, err
}

// Get sends a GET request to the upstream URL; see Post.
func (b *Base) Get(ctx context.Context, target, callerKey string, setAuth AuthSetter) (*http.Response, error) {
	return b.Request(ctx, http.MethodGet, target, callerKey, setAuth)
}

// Request sends a request without a body, such as a GET or a DELETE, to
// the upstream URL; see Post.
func (b *Base) Request(ctx context.Context, method, target, callerKey string, setAuth AuthSetter) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, fmt.Errorf("building upstream request: %w", err)
	}
	key, callers := b.keyFor(callerKey)
	req.Header = b.requestHeader(setAuth, key)
	req.Header.Set("Accept", "application/json")
	return b.do(req, key, callers, true)
}

// SetErrorParser replaces ParseError for a provider whose errors have a
// shape of their own.
func (b *Base) SetErrorParser(parse func(status int, header http.Header, body []byte) *Error) {
	b.parseError = parse
}

// SetStreamHeader sets headers sent on streamed calls only, for a provider
// that must be asked for a stream in a header as well as in the body.
func (b *Base) SetStreamHeader(h http.Header) { b.streamHead = h }

// UsesCallerKey reports whether calls carry the caller's own key: always
// with `api_key passthrough`, and under `auth passthrough` when the
// provider has no key of its own.
func (b *Base) UsesCallerKey(authPassthrough bool) bool {
	return b.passthrough || (authPassthrough && b.apiKey == "")
}

// keyFor picks the credential of a call and says whether it is the
// caller's.
func (b *Base) keyFor(callerKey string) (string, bool) {
	if callerKey != "" {
		return callerKey, true
	}
	return b.apiKey, false
}

func (b *Base) requestHeader(setAuth AuthSetter, key string) http.Header {
	h := make(http.Header, len(b.header)+4)
	for k, v := range b.header {
		h[k] = v
	}
	if setAuth != nil && key != "" {
		setAuth(h, key)
	}
	return h
}

// do sends req, which carries key, once a max_concurrent slot is free.
// The slot goes back when the answer's body is closed. A whole
// (non-streamed) answer's body is bounded by max_response_body.
func (b *Base) do(req *http.Request, key string, callersKey, whole bool) (*http.Response, error) {
	release, err := b.slots.acquire(req.Context(), b.Name)
	if err != nil {
		return nil, err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		release()
		return nil, &TransportError{Provider: b.Name, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer release()
		defer resp.Body.Close()
		return nil, b.upstreamError(resp, key, callersKey)
	}
	if whole || b.slots != nil {
		resp.Body = &answerBody{ReadCloser: resp.Body, left: -1, release: release}
	}
	if !whole {
		resp.Body = watchReads(req.Context(), resp.Body)
	} else if err := b.CapBody(resp); err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// upstreamError reads a non-2xx answer into an *Error. The message of a
// refused key is the gateway's own, as the upstream's may quote part of
// the key; any other message is relayed without the call's key.
func (b *Base) upstreamError(resp *http.Response, key string, callersKey bool) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	parse := b.parseError
	if parse == nil {
		parse = ParseError
	}
	e := parse(resp.StatusCode, resp.Header, body)
	if key != "" {
		e.Message = strings.ReplaceAll(e.Message, key, "[key]")
	}
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		whose := "the gateway's credentials; check the provider's api_key"
		if callersKey {
			whose = "your API key"
		}
		e.Message = fmt.Sprintf("the upstream provider %s refused %s (HTTP %d)", b.Name, whose, e.Status)
	}
	return e
}

// maxErrorBody bounds how much of an upstream error body is read.
const maxErrorBody = 1 << 20

// RelayHeader returns the upstream response headers that are relayed to
// the client: the request id and OpenAI's rate-limit headers.
func RelayHeader(h http.Header) http.Header {
	var out http.Header
	for k, v := range h {
		if k == "X-Request-Id" || (strings.HasPrefix(k, "X-Ratelimit-") &&
			(strings.HasSuffix(k, "-Requests") || strings.HasSuffix(k, "-Tokens"))) {
			if out == nil {
				out = make(http.Header, 8)
			}
			out[k] = v
		}
	}
	return out
}
