// Package faultupstream is a fake OpenAI chat-completions upstream that
// misbehaves on purpose, for tests of the gateway's retries, timeouts and
// stream relay. It speaks OpenAI's exact wire format (JSON answers, SSE
// chunks ending with `data: [DONE]`, the error envelope), lets a Plan pick
// a Fault for each request, and records what it sent byte for byte, so a
// test can compare it with what reached the client.
package faultupstream

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Break is what happens to a stream partway through.
type Break int

const (
	// NoBreak lets the answer run to its end.
	NoBreak Break = iota
	// Stall sends nothing for Fault.StallFor (until the request ends when
	// that is 0) and then goes on.
	Stall
	// Drop closes the connection: the body ends without its terminal
	// chunk, and a stream without `data: [DONE]`.
	Drop
	// Garbage writes bytes that are neither SSE nor JSON, then ends the
	// body cleanly.
	Garbage
)

func (b Break) String() string {
	switch b {
	case NoBreak:
		return "none"
	case Stall:
		return "stall"
	case Drop:
		return "drop"
	case Garbage:
		return "garbage"
	}
	return fmt.Sprintf("Break(%d)", int(b))
}

// Fault is how the upstream answers one request. Its zero value is a
// healthy, immediate answer.
type Fault struct {
	// Status, when not 0, answers with this error status and OpenAI's
	// error envelope instead of a completion.
	Status int
	// RetryAfter is sent as Retry-After (whole seconds) with Status.
	RetryAfter int
	// Delay passes before the first byte of the answer.
	Delay time.Duration
	// Interval passes between two events of a stream: a slow trickle.
	Interval time.Duration
	// Break happens after At events of a stream have been sent, when the
	// next would be due (0: right after the headers). A non-streamed
	// answer breaks before its body.
	Break Break
	At    int
	// StallFor is how long a Stall lasts; 0 stalls until the request ends.
	StallFor time.Duration
}

func (f Fault) String() string {
	var parts []string
	if f.Status != 0 {
		parts = append(parts, fmt.Sprintf("status %d", f.Status))
		if f.RetryAfter > 0 {
			parts = append(parts, fmt.Sprintf("retry-after %ds", f.RetryAfter))
		}
	}
	if f.Delay > 0 {
		parts = append(parts, "delay "+f.Delay.String())
	}
	if f.Interval > 0 {
		parts = append(parts, "trickle "+f.Interval.String())
	}
	if f.Break != NoBreak {
		s := fmt.Sprintf("%s after %d events", f.Break, f.At)
		if f.Break == Stall {
			s += " for " + f.StallFor.String()
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "healthy"
	}
	return strings.Join(parts, ", ")
}

// Request is what a Plan knows of a request: its number (from 1, in order
// of arrival) and the body fields the upstream reads.
type Request struct {
	N            int
	Model        string
	Stream       bool
	IncludeUsage bool
	// MaxTokens is max_completion_tokens or max_tokens, 0 when absent.
	MaxTokens int
	// User is the body's `user` field, which tests use to tell their
	// requests apart.
	User string
}

// Plan chooses the fault of each request. A nil Plan answers every
// request in health.
type Plan func(Request) Fault

// Every gives f to every kth request: the kth, the 2kth, and so on.
func Every(k int, f Fault) Plan {
	return func(r Request) Fault {
		if r.N%k == 0 {
			return f
		}
		return Fault{}
	}
}

// Sequence gives faults[i] to request i+1 and health to the rest.
func Sequence(faults ...Fault) Plan {
	return func(r Request) Fault {
		if r.N <= len(faults) {
			return faults[r.N-1]
		}
		return Fault{}
	}
}

// Random gives a fault to a share ratio of the requests, picked from
// faults with equal odds. The choice for request n depends only on seed
// and n, so a run is reproduced by its seed whatever the timing.
func Random(seed uint64, ratio float64, faults ...Fault) Plan {
	return func(r Request) Fault {
		rng := RequestRand(seed, r.N)
		if len(faults) == 0 || rng.Float64() >= ratio {
			return Fault{}
		}
		return faults[rng.IntN(len(faults))]
	}
}

// RequestRand is the random source of request n under seed, for plans of
// their own that must stay reproducible.
func RequestRand(seed uint64, n int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(n)))
}
