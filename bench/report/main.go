// Command report reads the JSON lines written by the load generator and
// prints a Markdown table with the median of every metric over the rounds of
// each scenario and target, plus ratios against the reverse_proxy target.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// baseline is the target every other target is compared with.
const baseline = "reverse_proxy"

// dash marks a cell that has no meaningful value.
const dash = "—"

// line is the subset of a load generator result that the report uses.
type line struct {
	Scenario    string   `json:"scenario"`
	Target      string   `json:"target"`
	Stream      bool     `json:"stream"`
	Chunks      int      `json:"chunks"`
	Requests    int      `json:"requests"`
	Errors      int      `json:"errors"`
	RPS         float64  `json:"rps"`
	P50Ms       float64  `json:"p50_ms"`
	P99Ms       float64  `json:"p99_ms"`
	TTFBP50Ms   float64  `json:"ttfb_p50_ms"`
	CPUSPer1000 *float64 `json:"cpu_s_per_1000"`
	FirstError  string   `json:"first_error"`
}

// row holds the medians of one scenario and target over all rounds.
type row struct {
	scenario, target string
	stream           bool
	chunks           int
	rounds           int
	requests, errors int
	rps, p50, p99    float64
	ttfb             float64
	cpu              float64
	hasCPU           bool
	firstError       string
}

func main() {
	in := flag.String("in", "bench/results/latest.jsonl", "JSON lines written by the load generator")
	gobench := flag.String("gobench", "", "output of go test -bench -benchmem to tabulate after the load results")
	flag.Parse()
	rows, err := readRows(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	printTable(os.Stdout, rows)
	if *gobench != "" {
		if err := printGoBench(os.Stdout, *gobench); err != nil {
			fmt.Fprintln(os.Stderr, "report:", err)
			os.Exit(1)
		}
	}
	if printErrors(os.Stdout, rows) {
		os.Exit(1)
	}
}

// readRows parses the file at path and aggregates it into rows, keeping the
// order in which scenarios and targets first appear.
func readRows(path string) ([]*row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	groups := map[string][]line{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		key := l.Scenario + "\x00" + l.Target
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], l)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	rows := make([]*row, 0, len(order))
	for _, key := range order {
		rows = append(rows, aggregate(groups[key]))
	}
	return rows, nil
}

// aggregate turns the rounds of one scenario and target into a row of
// medians; requests and errors are summed.
func aggregate(ls []line) *row {
	r := &row{scenario: ls[0].Scenario, target: ls[0].Target, stream: ls[0].Stream, chunks: ls[0].Chunks, rounds: len(ls)}
	var rps, p50, p99, ttfb, cpu []float64
	for _, l := range ls {
		r.requests += l.Requests
		r.errors += l.Errors
		if r.firstError == "" {
			r.firstError = l.FirstError
		}
		rps = append(rps, l.RPS)
		p50 = append(p50, l.P50Ms)
		p99 = append(p99, l.P99Ms)
		ttfb = append(ttfb, l.TTFBP50Ms)
		if l.CPUSPer1000 != nil {
			cpu = append(cpu, *l.CPUSPer1000)
		}
	}
	r.rps, r.p50, r.p99, r.ttfb = median(rps), median(p50), median(p99), median(ttfb)
	if len(cpu) > 0 {
		r.cpu, r.hasCPU = median(cpu), true
	}
	return r
}

// median returns the median of v, or NaN when v is empty. It sorts v.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}

// printTable writes the Markdown table.
func printTable(w io.Writer, rows []*row) {
	base := map[string]*row{}
	for _, r := range rows {
		if r.target == baseline {
			base[r.scenario] = r
		}
	}
	fmt.Fprintln(w, "| scenario | target | req/s | p50 ms | p99 ms | TTFB p50 ms (streams) | events/s (streams) | CPU s/1000 req | req/s ÷ reverse_proxy | CPU ÷ reverse_proxy | TTFB p50 − reverse_proxy (ms) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintln(w, "| "+strings.Join(cells(r, base[r.scenario]), " | ")+" |")
	}
}

// cells formats one table row; b is the baseline row of the same scenario,
// or nil.
func cells(r, b *row) []string {
	ttfb, events, cpu := dash, dash, dash
	if r.stream {
		ttfb = num(r.ttfb, 3)
		events = num(r.rps*float64(r.chunks), 0)
	}
	if r.hasCPU {
		cpu = num(r.cpu, 4)
	}
	rpsRatio, cpuRatio, ttfbDelta := dash, dash, dash
	if b != nil {
		rpsRatio = ratio(r.rps, b.rps)
		if r.hasCPU && b.hasCPU {
			cpuRatio = ratio(r.cpu, b.cpu)
		}
		if r.stream {
			ttfbDelta = fmt.Sprintf("%+.3f", r.ttfb-b.ttfb)
		}
	}
	return []string{r.scenario, r.target, num(r.rps, 0), num(r.p50, 3), num(r.p99, 3), ttfb, events, cpu, rpsRatio, cpuRatio, ttfbDelta}
}

// num formats v with the given number of decimals, or a dash for NaN.
func num(v float64, places int) string {
	if math.IsNaN(v) {
		return dash
	}
	return fmt.Sprintf("%.*f", places, v)
}

// ratio formats a/b with two decimals, or a dash when b is not positive.
func ratio(a, b float64) string {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return dash
	}
	return fmt.Sprintf("%.2f", a/b)
}

// printErrors lists every scenario and target that had failed requests and
// reports whether there was any.
func printErrors(w io.Writer, rows []*row) bool {
	failed := false
	for _, r := range rows {
		if r.errors == 0 {
			continue
		}
		if !failed {
			fmt.Fprintln(w, "\nFailed requests:")
			failed = true
		}
		fmt.Fprintf(w, "- %s / %s: %d of %d failed; first error: %s\n", r.scenario, r.target, r.errors, r.requests, r.firstError)
	}
	return failed
}

// goBench is one result line of go test -bench -benchmem.
type goBench struct {
	name                   string
	nsPerOp, bytes, allocs float64
}

// readGoBench parses the Benchmark lines of path.
func readGoBench(path string) ([]goBench, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []goBench
	pkg := ""
	for l := range strings.Lines(string(data)) {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "pkg:" {
			pkg = f[1][strings.LastIndex(f[1], "/")+1:] + "."
		}
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		b := goBench{name: pkg + f[0], nsPerOp: math.NaN(), bytes: math.NaN(), allocs: math.NaN()}
		// After the name and the iteration count come value-unit pairs.
		for i := 2; i+1 < len(f); i += 2 {
			var v float64
			if _, err := fmt.Sscan(f[i], &v); err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				b.nsPerOp = v
			case "B/op":
				b.bytes = v
			case "allocs/op":
				b.allocs = v
			}
		}
		out = append(out, b)
	}
	return out, nil
}

// printGoBench tabulates the go test benchmarks, with the ratio to the
// reverse_proxy sub-benchmark of the same benchmark where there is one.
func printGoBench(w io.Writer, path string) error {
	benches, err := readGoBench(path)
	if err != nil {
		return err
	}
	base := map[string]goBench{}
	for _, b := range benches {
		if parent, sub, ok := strings.Cut(b.name, "/"); ok && strings.HasPrefix(sub, baseline+"-") {
			base[parent] = b
		}
	}
	fmt.Fprintln(w, "\nAllocations (go test -bench -benchmem):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| benchmark | ns/op | B/op | allocs/op | B/op ÷ reverse_proxy | allocs/op ÷ reverse_proxy |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, b := range benches {
		bytesRatio, allocsRatio := dash, dash
		parent, _, _ := strings.Cut(b.name, "/")
		if r, ok := base[parent]; ok {
			bytesRatio, allocsRatio = ratio(b.bytes, r.bytes), ratio(b.allocs, r.allocs)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", b.name, num(b.nsPerOp, 0), num(b.bytes, 0), num(b.allocs, 0), bytesRatio, allocsRatio)
	}
	return nil
}
