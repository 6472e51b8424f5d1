// Package soak drives many concurrent streams through a gateway whose
// upstream is a faultupstream.Server that drops, stalls, trickles and
// sends garbage, while some clients abort at random points, and checks
// every stream against what the upstream sent. The integration tests run
// it briefly against an in-process Caddy; bench/soak runs it for minutes
// against a separate gateway process.
package soak

import (
	"strings"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/faultupstream"
)

// DefaultIdleTimeout is the gateway's stream_idle_timeout under soak:
// short, so that the long stalls of the plan run into it, and still 10
// times the slowest trickle, so a busy machine's scheduling delays do not.
const DefaultIdleTimeout = 2 * time.Second

// LongAnswer is the max_tokens of the clients that mean to abort: their
// answers trickle on long after the abort, so only the gateway cancelling
// the upstream request ends them early.
const LongAnswer = 2000

// GatewayBlock is the body of the llm_gateway directive under soak, with
// the given stream_idle_timeout and circuit breaking off: two
// providers over the one fake upstream, so failed calls fall back, and a
// wildcard route, so no model name is rewritten and every byte the
// upstream sends is passed on as it is.
func GatewayBlock(upstreamURL string, idle time.Duration) string {
	var b strings.Builder
	for _, name := range []string{"a", "b"} {
		b.WriteString("\t\tprovider " + name + " openai {\n\t\t\tbase_url " + upstreamURL + "/v1\n\t\t}\n")
	}
	b.WriteString("\t\tmodel * a b\n")
	// A third of the calls fail on purpose: circuit breaking would soon
	// refuse requests without calling the upstream, and the soak is about
	// what reaches the upstream and back.
	b.WriteString("\t\tfail_threshold off\n")
	b.WriteString("\t\tstream_idle_timeout " + idle.String() + "\n")
	b.WriteString("\t\tfirst_token_timeout 10s\n")
	return b.String()
}

// errorStatuses are the statuses the plan answers with, 429 with a
// Retry-After short enough for the gateway to wait out.
var errorStatuses = []int{429, 500, 502, 503, 504, 529}

// Plan is the soak's fault mix. Every stream trickles at a model's pace
// (20-80 ms an event); on top of that about half the requests meet a
// fault: an error status, a delay before the first byte, a slower
// trickle, a short stall (a quarter of idle at most), a long one
// (twice it, so the idle timeout fires), a dropped connection or garbage bytes,
// at a random event. idle is the gateway's stream_idle_timeout. The
// choice depends only on seed and the request's number.
func Plan(seed uint64, idle time.Duration) faultupstream.Plan {
	return func(r faultupstream.Request) faultupstream.Fault {
		rng := faultupstream.RequestRand(seed, r.N)
		f := faultupstream.Fault{Interval: time.Duration(20+rng.IntN(61)) * time.Millisecond}
		events := r.MaxTokens + 3 // role, content, finish, [DONE]
		if r.MaxTokens >= LongAnswer {
			events = 20 // faults only where an aborting client may meet them
		}
		switch p := rng.IntN(100); {
		case p < 50:
		case p < 60:
			f.Status = errorStatuses[rng.IntN(len(errorStatuses))]
			if f.Status == 429 {
				f.RetryAfter = 1
			}
		case p < 65:
			f.Delay = time.Duration(10+rng.IntN(91)) * time.Millisecond
		case p < 72:
			f.Interval = time.Duration(100+rng.IntN(101)) * time.Millisecond
		case p < 80:
			f.Break, f.At = faultupstream.Stall, rng.IntN(events)
			f.StallFor = idle/20 + time.Duration(rng.Int64N(int64(idle/5)))
		case p < 86:
			// After the first event: before it, first_token_timeout applies.
			f.Break, f.At, f.StallFor = faultupstream.Stall, 1+rng.IntN(events-1), 2*idle
		case p < 93:
			f.Break, f.At = faultupstream.Drop, rng.IntN(events)
		default:
			f.Break, f.At = faultupstream.Garbage, rng.IntN(events)
		}
		return f
	}
}
