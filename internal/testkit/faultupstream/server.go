package faultupstream

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
)

// DefaultChunks is the number of content chunks of a stream whose
// request sets no max_tokens, when Options.Chunks is 0.
const DefaultChunks = 8

// Options configures a Server.
type Options struct {
	// Plan picks each request's fault; nil answers all in health.
	Plan Plan
	// Chunks is the number of content chunks of a stream whose request
	// sets no max_tokens (a request's max_tokens sets it otherwise, as
	// OpenAI stops at the limit). 0 means DefaultChunks.
	Chunks int
	// Gate, when set, holds every stream at Gate.After events.
	Gate *Gate
}

// Server is the fake upstream, listening on a loopback port; its base
// URL for a provider's base_url is URL + "/v1". It answers every POST as a
// chat completion, whatever the path.
type Server struct {
	*httptest.Server
	opts    Options
	closing chan struct{}
	close   sync.Once

	mu       sync.Mutex
	requests int
	inFlight map[string]int // by Request.User
	active   int
	changed  chan struct{} // closed and replaced when a request ends
	byUser   map[string][]*Record
	unnamed  []*Record
	counts   Counts
}

// Counts adds up what the server did.
type Counts struct {
	Requests int
	// Status counts the status lines sent, 200 included.
	Status    map[int]int
	Stalled   int
	Dropped   int
	Garbage   int
	Completed int
	Cancelled int
}

// New starts a Server.
func New(opts Options) *Server {
	s := &Server{
		opts:     opts,
		closing:  make(chan struct{}),
		inFlight: make(map[string]int),
		changed:  make(chan struct{}),
		byUser:   make(map[string][]*Record),
		counts:   Counts{Status: make(map[int]int)},
	}
	s.Server = httptest.NewServer(s)
	return s
}

// Close ends every answer still running (stalled, gated or trickling)
// and shuts the server down.
func (s *Server) Close() {
	s.close.Do(func() { close(s.closing) })
	s.Server.Close()
}

// maxRequestBody bounds how much of a request the server reads.
const maxRequestBody = 1 << 20

// ServeHTTP answers one request as its fault says, and records it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	req := parseRequest(body)
	s.mu.Lock()
	s.requests++
	req.N = s.requests
	s.inFlight[req.User]++
	s.active++
	s.mu.Unlock()

	var fault Fault
	if s.opts.Plan != nil {
		fault = s.opts.Plan(req)
	}
	a := &answer{w: w, rc: http.NewResponseController(w), ctx: r.Context(), closing: s.closing,
		rec: &Record{Request: req, Fault: fault}}
	a.serve(s.chunks(req), s.opts.Gate)
	s.finish(a)
}

func (s *Server) chunks(req Request) int {
	switch {
	case req.MaxTokens > 0:
		return req.MaxTokens
	case s.opts.Chunks > 0:
		return s.opts.Chunks
	}
	return DefaultChunks
}

// parseRequest reads the fields of a chat request the server uses; a body
// that is not JSON leaves them empty.
func parseRequest(body []byte) Request {
	var in struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
		MaxTokens           int    `json:"max_tokens"`
		MaxCompletionTokens int    `json:"max_completion_tokens"`
		User                string `json:"user"`
	}
	_ = json.Unmarshal(body, &in)
	req := Request{Model: in.Model, Stream: in.Stream, IncludeUsage: in.Stream && in.StreamOptions.IncludeUsage,
		MaxTokens: in.MaxTokens, User: in.User}
	if in.MaxCompletionTokens > 0 {
		req.MaxTokens = in.MaxCompletionTokens
	}
	return req
}

func (s *Server) finish(a *answer) {
	rec := a.rec
	rec.Cancelled = a.interrupted
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.Status != 0 {
		s.counts.Status[rec.Status]++
	}
	switch {
	case rec.Completed:
		s.counts.Completed++
	case rec.Cancelled:
		s.counts.Cancelled++
	}
	if a.broke {
		switch rec.Fault.Break {
		case Stall:
			s.counts.Stalled++
		case Drop:
			s.counts.Dropped++
		case Garbage:
			s.counts.Garbage++
		}
	}
	s.counts.Requests++
	if rec.User == "" {
		s.unnamed = append(s.unnamed, rec)
	} else {
		s.byUser[rec.User] = append(s.byUser[rec.User], rec)
	}
	s.inFlight[rec.User]--
	if s.inFlight[rec.User] == 0 {
		delete(s.inFlight, rec.User)
	}
	s.active--
	close(s.changed)
	s.changed = make(chan struct{})
}

// Records returns the finished requests the server still keeps (see
// Settle), in order of arrival.
func (s *Server) Records() []*Record {
	s.mu.Lock()
	out := slices.Clone(s.unnamed)
	for _, recs := range s.byUser {
		out = append(out, recs...)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *Record) int { return a.N - b.N })
	return out
}

// Counts returns the running totals; they include settled requests.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	c.Status = make(map[int]int, len(s.counts.Status))
	for k, v := range s.counts.Status {
		c.Status[k] = v
	}
	return c
}

// Settle waits until no request of user is running, then hands over that
// user's records in order of arrival and forgets them, so a long run
// keeps only what it has not checked yet.
func (s *Server) Settle(ctx context.Context, user string) ([]*Record, error) {
	if err := s.waitFor(ctx, func() bool { return s.inFlight[user] == 0 }); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.byUser[user]
	delete(s.byUser, user)
	return recs, nil
}

// Idle waits until no request is running.
func (s *Server) Idle(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return s.active == 0 })
}

// waitFor waits until done, called under s.mu, holds.
func (s *Server) waitFor(ctx context.Context, done func() bool) error {
	for {
		s.mu.Lock()
		ok, changed := done(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
