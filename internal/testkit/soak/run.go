package soak

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/faultupstream"
)

// Config is one soak run.
type Config struct {
	// URL is the gateway's chat completions endpoint.
	URL string
	// Upstream is the fault upstream behind the gateway, answering by Plan.
	Upstream *faultupstream.Server
	// IdleTimeout is the gateway's stream_idle_timeout, as given to Plan.
	IdleTimeout time.Duration
	// Streams is the number of concurrent clients, each sending one
	// stream after another.
	Streams int
	// Duration is how long clients keep starting streams.
	Duration time.Duration
	// Seed makes the clients' choices reproducible (the upstream's plan
	// has a seed of its own).
	Seed uint64
	// AbortRatio is the share of streams whose client goes away after a
	// random number of events (1 to 15). Default 0.2.
	AbortRatio float64
	// Client sends the requests; it should keep Streams idle connections.
	Client *http.Client
}

// settleTimeout bounds the wait for a stream's upstream requests to end
// once its client is done: the gateway must have cancelled them by then.
const settleTimeout = 10 * time.Second

// requestTimeout bounds one stream, so a hung stream fails the run
// instead of hanging it.
const requestTimeout = 60 * time.Second

// maxProblems bounds the problems a report lists; it counts them all.
const maxProblems = 20

// Run drives the soak and checks every stream. It returns when every
// client is done.
func Run(ctx context.Context, cfg Config) *Report {
	if cfg.AbortRatio == 0 {
		cfg.AbortRatio = 0.2
	}
	rep := &Report{Seed: cfg.Seed}
	before := cfg.Upstream.Counts()
	ctx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var wg sync.WaitGroup
	for w := range cfg.Streams {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(w)))
			for i := 0; ctx.Err() == nil; i++ {
				c := stream{user: fmt.Sprintf("soak-%d-%d", w, i), maxTokens: 4 + rng.IntN(27)}
				if rng.Float64() < cfg.AbortRatio {
					c.abortAt, c.maxTokens = 1+rng.IntN(15), LongAnswer
				}
				c.send(cfg)
				rep.add(c.check(cfg.Upstream, cfg.IdleTimeout))
			}
		})
	}
	wg.Wait()
	after := cfg.Upstream.Counts()
	rep.UpstreamRequests = after.Requests - before.Requests
	rep.UpstreamStatus = make(map[int]int)
	for s, n := range after.Status {
		if d := n - before.Status[s]; d > 0 {
			rep.UpstreamStatus[s] = d
		}
	}
	rep.Stalled, rep.Dropped, rep.Garbage = after.Stalled-before.Stalled, after.Dropped-before.Dropped, after.Garbage-before.Garbage
	return rep
}

// stream is one client's request and what it got.
type stream struct {
	user      string
	maxTokens int
	abortAt   int // events after which the client leaves; 0: reads to the end

	status  int
	body    []byte
	aborted bool
	err     error
}

func (c *stream) send(cfg Config) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	body := fmt.Sprintf(`{"model":"soak","stream":true,"stream_options":{"include_usage":true},"max_tokens":%d,"user":%q,"messages":[{"role":"user","content":"count"}]}`,
		c.maxTokens, c.user)
	req, err := http.NewRequestWithContext(ctx, "POST", cfg.URL, strings.NewReader(body))
	if err != nil {
		c.err = err
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := cfg.Client.Do(req)
	if err != nil {
		c.err = err
		return
	}
	defer resp.Body.Close()
	c.status = resp.StatusCode
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		c.body = append(c.body, buf[:n]...)
		// A client leaves once it has its events, unless the stream ended
		// in an error event first.
		if c.abortAt > 0 && c.status == http.StatusOK && bytes.Count(c.body, []byte("\n\n")) >= c.abortAt &&
			!bytes.Contains(c.body, errorEvent) {
			c.aborted = true
			cancel()
			return
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			c.err = err
			return
		}
	}
}

var errorEvent = []byte(`data: {"error"`)

// outcome is the verdict on one stream.
type outcome struct {
	kind     string // completed, aborted, status, error_event
	compared int
	lost     int
	problem  string
	trouble  string // the problem's kind, for the report's tally
}

// check compares what the client got with what the upstream's last
// attempt sent, the one whose answer reached the client.
func (c *stream) check(up *faultupstream.Server, idle time.Duration) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	recs, err := up.Settle(ctx, c.user)
	if err != nil {
		return outcome{trouble: "upstream outlived its client", problem: c.user + ": its upstream request was still running " + settleTimeout.String() + " after the client was done"}
	}
	if c.err != nil {
		return outcome{trouble: "client error", problem: fmt.Sprintf("%s: %v", c.user, c.err)}
	}
	if len(recs) == 0 {
		return outcome{trouble: "no upstream request", problem: fmt.Sprintf("%s: status %d without an upstream request", c.user, c.status)}
	}
	last := recs[len(recs)-1]
	flag := func(o *outcome, trouble, format string, args ...any) {
		o.trouble = trouble
		o.problem = fmt.Sprintf("%s (upstream %s, %d attempts): ", c.user, last.Fault, len(recs)) + fmt.Sprintf(format, args...)
	}
	// A stream the idle timeout cut although its upstream kept sending
	// points at a machine too busy to serve it in time.
	starved := func(o *outcome) {
		if last.Fault.Break != faultupstream.Stall && bytes.Contains(c.body, []byte(`"code":"upstream_timeout"`)) {
			o.trouble = "a healthy stream timed out (an overloaded machine?)"
		}
	}

	if c.aborted {
		o := outcome{kind: "aborted", compared: len(c.body), lost: len(c.body) - commonPrefix(c.body, last.Sent)}
		// An upstream that drops or garbles its stream ends the request
		// itself, maybe before the client's leaving reached it.
		brokeFirst := last.Fault.Break == faultupstream.Drop || last.Fault.Break == faultupstream.Garbage
		switch {
		case o.lost > 0:
			flag(&o, "aborted stream differs", "the client's bytes differ from the upstream's: %s", diff(c.body, last.Sent))
		case !last.Cancelled && !brokeFirst:
			flag(&o, "upstream not cancelled", "the upstream request was not cancelled when the client left (completed: %v)", last.Completed)
		}
		return o
	}

	if c.status != http.StatusOK {
		want, code := last.Status, ""
		switch {
		case last.Status == 529: // with the upstream's code, else "overloaded"
			want = http.StatusServiceUnavailable
		case last.Fault.Status != 0:
		case last.Fault.Break == faultupstream.Drop || last.Fault.Break == faultupstream.Garbage:
			if last.Events == 0 {
				want, code = http.StatusBadGateway, "upstream_error"
			}
		}
		o := outcome{kind: "status"}
		if c.status != want || !isErrorEnvelope(c.body, code) {
			flag(&o, "wrong error status", "the client got %d %s, want %d with an error of code %q", c.status, c.body, want, code)
		}
		return o
	}

	if last.Completed {
		o := outcome{kind: "completed", compared: len(last.Sent), lost: len(last.Sent) - commonPrefix(c.body, last.Sent)}
		switch {
		case o.lost > 0 || len(c.body) != len(last.Sent):
			flag(&o, "completed stream differs", "the client's bytes differ from the upstream's: %s", diff(c.body, last.Sent))
			starved(&o)
		case last.Fault.Break == faultupstream.Stall && last.Fault.StallFor > idle:
			flag(&o, "idle timeout did not fire", "the stream outlived a stall longer than stream_idle_timeout")
		}
		return o
	}

	// The stream broke after its first event: the client must get every
	// whole event, then the documented error event, and no [DONE].
	code := "upstream_error"
	if last.Fault.Break == faultupstream.Stall {
		code = "upstream_timeout"
	}
	sent := last.EventBytes()
	o := outcome{kind: "error_event", compared: len(sent), lost: len(sent) - commonPrefix(c.body, sent)}
	rest, ok := bytes.CutPrefix(c.body, sent)
	payload, isEvent := bytes.CutPrefix(rest, []byte("data: "))
	payload, ends := bytes.CutSuffix(payload, []byte("\n\n"))
	if !ok || !isEvent || !ends || !isErrorEnvelope(payload, code) {
		flag(&o, "broken stream not ended as documented", "want the upstream's %d events and an error event of code %q: %s",
			last.Events, code, diff(c.body, last.Sent))
		starved(&o)
	}
	return o
}

// diff shows where got and want part.
func diff(got, want []byte) string {
	at := commonPrefix(got, want)
	from := max(0, at-80)
	return fmt.Sprintf("at byte %d of %d (the upstream sent %d): got …%q, want …%q",
		at, len(got), len(want), got[from:min(len(got), at+160)], want[from:min(len(want), at+160)])
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
