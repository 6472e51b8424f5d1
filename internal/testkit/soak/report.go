package soak

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Report is what a soak run saw.
type Report struct {
	Seed uint64

	mu sync.Mutex
	// Streams counts the client requests; each ended one of four ways.
	Streams   int
	Completed int // whole, byte for byte as the upstream sent it
	Aborted   int // the client left mid-stream; the upstream was cancelled
	Status    int // an error status, before any byte of an answer
	Errored   int // the upstream's events, then an error event
	// BytesCompared adds up the upstream bytes checked against a client's.
	BytesCompared int64
	// LostBytes adds up the upstream event bytes a client should have got
	// and did not (or got otherwise): a sound gateway loses none.
	LostBytes int64
	// Problems lists the first streams that went wrong; ProblemCount
	// counts them all.
	Problems     []string
	ProblemCount int
	// Troubles counts the problems by kind.
	Troubles map[string]int

	UpstreamRequests          int
	UpstreamStatus            map[int]int
	Stalled, Dropped, Garbage int
}

func (r *Report) add(o outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Streams++
	switch o.kind {
	case "completed":
		r.Completed++
	case "aborted":
		r.Aborted++
	case "status":
		r.Status++
	case "error_event":
		r.Errored++
	}
	r.BytesCompared += int64(o.compared)
	r.LostBytes += int64(o.lost)
	if o.problem != "" {
		r.ProblemCount++
		if r.Troubles == nil {
			r.Troubles = make(map[string]int)
		}
		r.Troubles[o.trouble]++
		if len(r.Problems) < maxProblems {
			r.Problems = append(r.Problems, o.problem)
		}
	}
}

// OK says every stream was as it should be.
func (r *Report) OK() bool { return r.ProblemCount == 0 && r.LostBytes == 0 && r.Streams > 0 }

func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d streams: %d completed, %d aborted by the client, %d faulted (%d with an error status, %d with an error event)\n",
		r.Seed, r.Streams, r.Completed, r.Aborted, r.Status+r.Errored, r.Status, r.Errored)
	fmt.Fprintf(&b, "bytes compared %d, lost bytes %d\n", r.BytesCompared, r.LostBytes)
	statuses := make([]string, 0, len(r.UpstreamStatus))
	for _, s := range slices.Sorted(maps.Keys(r.UpstreamStatus)) {
		statuses = append(statuses, fmt.Sprintf("%d×%d", r.UpstreamStatus[s], s))
	}
	fmt.Fprintf(&b, "upstream: %d requests (%s), %d stalls, %d drops, %d garbage\n",
		r.UpstreamRequests, strings.Join(statuses, " "), r.Stalled, r.Dropped, r.Garbage)
	if r.ProblemCount > 0 {
		fmt.Fprintf(&b, "%d problems:", r.ProblemCount)
		for _, t := range slices.Sorted(maps.Keys(r.Troubles)) {
			fmt.Fprintf(&b, " %s ×%d;", t, r.Troubles[t])
		}
		fmt.Fprintf(&b, " the first %d:\n", len(r.Problems))
		for _, p := range r.Problems {
			b.WriteString("  " + p + "\n")
		}
	}
	return b.String()
}

// isErrorEnvelope says body is OpenAI's error envelope with a message,
// and with the given code unless code is empty.
func isErrorEnvelope(body []byte, code string) bool {
	var e struct {
		Error *struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
		return false
	}
	return code == "" || (e.Error.Code != nil && *e.Error.Code == code)
}
