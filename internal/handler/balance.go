package handler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Policy is how a route spreads its requests over its targets: which
// target a request tries first (its primary), and in which order the
// others follow as its fallbacks.
type Policy string

// The load-balancing policies.
const (
	// First tries the targets in configuration order: the first is the
	// primary of every request, the others are fallbacks only.
	First Policy = "first"
	// RoundRobin makes each target the primary in turn.
	RoundRobin Policy = "round_robin"
	// Weighted makes each target the primary in proportion to its
	// weight, spread evenly (smooth weighted round-robin, as nginx does).
	Weighted Policy = "weighted"
	// LeastBusy tries first the target whose provider has the fewest
	// upstream calls in flight.
	LeastBusy Policy = "least_busy"
)

// policies lists every policy, in the order error messages name them.
var policies = []Policy{First, RoundRobin, Weighted, LeastBusy}

// CheckPolicy refuses a policy name the gateway does not know; empty
// stands for the default.
func CheckPolicy(p Policy) error {
	if p == "" || slices.Contains(policies, p) {
		return nil
	}
	known := make([]string, len(policies))
	for i, k := range policies {
		known[i] = string(k)
	}
	return fmt.Errorf("unknown load-balancing policy '%s' (known: %s)", p, strings.Join(known, ", "))
}

// balancer orders one route's targets for each request. After the
// primary the others follow in configuration order, wrapping around, so
// the call loop's fallback sequence stays the one the route names.
type balancer struct {
	policy  Policy
	targets []Target
	// turn is round_robin's next primary, and least_busy's rotation of
	// ties.
	turn atomic.Uint64

	mu      sync.Mutex // guards current
	current []int      // weighted: each target's running weight
	total   int        // weighted: the sum of the weights
}

func newBalancer(policy Policy, targets []Target) *balancer {
	b := &balancer{policy: policy, targets: targets}
	if policy == Weighted {
		b.current = make([]int, len(targets))
		for _, t := range targets {
			b.total += t.weight()
		}
	}
	return b
}

// order returns the targets in the order one request tries them. The
// result of the first policy is the route's own slice: read only.
func (b *balancer) order() []Target {
	n := len(b.targets)
	if n == 1 {
		return b.targets
	}
	switch b.policy {
	case RoundRobin:
		return b.rotated(int((b.turn.Add(1) - 1) % uint64(n)))
	case Weighted:
		return b.rotated(b.nextWeighted())
	case LeastBusy:
		ordered := b.rotated(int((b.turn.Add(1) - 1) % uint64(n)))
		// Read each count once: they change while the sort runs.
		type loaded struct {
			target Target
			busy   int64
		}
		loads := make([]loaded, n)
		for i, t := range ordered {
			loads[i] = loaded{t, t.health.inFlight.Load()}
		}
		slices.SortStableFunc(loads, func(a, b loaded) int { return cmp.Compare(a.busy, b.busy) })
		for i := range loads {
			ordered[i] = loads[i].target
		}
		return ordered
	default:
		return b.targets
	}
}

// rotated is the targets from the primary on, wrapping around.
func (b *balancer) rotated(primary int) []Target {
	out := make([]Target, 0, len(b.targets))
	out = append(out, b.targets[primary:]...)
	return append(out, b.targets[:primary]...)
}

// nextWeighted picks the primary by smooth weighted round-robin: every
// target gains its weight, the richest is picked and pays the total. Over
// any run of total requests each target is picked exactly weight times,
// interleaved rather than in blocks.
func (b *balancer) nextWeighted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	best := 0
	for i, t := range b.targets {
		b.current[i] += t.weight()
		if b.current[i] > b.current[best] {
			best = i
		}
	}
	b.current[best] -= b.total
	return best
}
