// Command load is a closed-loop HTTP load generator for OpenAI-compatible
// chat completion endpoints, and for OpenAI's Responses API and Anthropic's
// Messages API (-api). It runs a fixed number of requests (or runs for a
// fixed duration) at a given concurrency, verifies every response, and
// prints one JSON line with throughput, latency percentiles, time to first
// byte and, optionally, the CPU time a given process spent per 1000 requests.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// config holds the parsed command-line flags.
type config struct {
	name         string
	scenario     string
	target       string
	round        int
	url          string
	api          string
	concurrency  int
	requests     int
	duration     time.Duration
	stream       bool
	chunks       int
	includeUsage bool
	warmup       int
	model        string
	headers      headerFlags
	pid          int
	clockTicks   float64
	timeout      time.Duration
}

// headerFlags collects repeatable -header k:v flags.
type headerFlags []string

// String implements flag.Value.
func (h *headerFlags) String() string { return strings.Join(*h, ", ") }

// Set implements flag.Value; it accepts "Key: value" or "Key:value".
func (h *headerFlags) Set(v string) error {
	if k, _, ok := strings.Cut(v, ":"); !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("header %q is not in k:v form", v)
	}
	*h = append(*h, v)
	return nil
}

// Result is the JSON line printed at the end of a run. Latencies are in
// milliseconds; CPUSPer1000 is nil when no -pid was given.
type Result struct {
	Name        string   `json:"name"`
	Scenario    string   `json:"scenario,omitempty"`
	Target      string   `json:"target,omitempty"`
	Round       int      `json:"round,omitempty"`
	Stream      bool     `json:"stream"`
	Chunks      int      `json:"chunks,omitempty"` // content chunks per stream
	Concurrency int      `json:"concurrency"`
	Requests    int      `json:"requests"`
	Errors      int      `json:"errors"`
	ElapsedS    float64  `json:"elapsed_s"`
	RPS         float64  `json:"rps"`
	P50Ms       float64  `json:"p50_ms"`
	P99Ms       float64  `json:"p99_ms"`
	MaxMs       float64  `json:"max_ms"`
	TTFBP50Ms   float64  `json:"ttfb_p50_ms"`
	TTFBP99Ms   float64  `json:"ttfb_p99_ms"`
	CPUSPer1000 *float64 `json:"cpu_s_per_1000"`
	FirstError  string   `json:"first_error,omitempty"`
}

// sample is the outcome of one request.
type sample struct {
	latency time.Duration
	ttfb    time.Duration
	err     error
}

// workerStats accumulates the samples of one worker goroutine.
type workerStats struct {
	latencies []time.Duration
	ttfbs     []time.Duration
	errors    int
	firstErr  error
}

func main() {
	cfg := parseFlags()
	res, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	out, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

// parseFlags reads and validates the command line.
func parseFlags() config {
	var cfg config
	flag.StringVar(&cfg.name, "name", "", "name recorded in the JSON result (default scenario/target, or \"run\")")
	flag.StringVar(&cfg.scenario, "scenario", "", "scenario label recorded in the JSON result")
	flag.StringVar(&cfg.target, "target", "", "target label recorded in the JSON result")
	flag.IntVar(&cfg.round, "round", 0, "round number recorded in the JSON result")
	flag.StringVar(&cfg.url, "url", "http://127.0.0.1:8900/v1/chat/completions", "URL of the API's endpoint")
	flag.StringVar(&cfg.api, "api", "chat", "the API spoken: chat (chat completions), responses (OpenAI's Responses) or messages (Anthropic's Messages)")
	flag.IntVar(&cfg.concurrency, "c", 1, "number of concurrent workers (closed loop)")
	flag.IntVar(&cfg.requests, "n", 1000, "total measured requests (ignored when -d is set)")
	flag.DurationVar(&cfg.duration, "d", 0, "measure for this long instead of -n requests")
	flag.BoolVar(&cfg.stream, "stream", false, "request a streamed (SSE) response")
	flag.IntVar(&cfg.chunks, "chunks", 50, "max_tokens sent, i.e. expected content chunks per stream")
	flag.BoolVar(&cfg.includeUsage, "include-usage", false, `send "stream_options":{"include_usage":true}`)
	flag.IntVar(&cfg.warmup, "warmup", 100, "unmeasured warm-up requests before the run")
	flag.StringVar(&cfg.model, "model", "bench-model", "model name sent in the request")
	flag.Var(&cfg.headers, "header", "extra request header k:v (repeatable)")
	flag.IntVar(&cfg.pid, "pid", 0, "PID whose CPU time is sampled around the measured phase")
	flag.Float64Var(&cfg.clockTicks, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
	flag.DurationVar(&cfg.timeout, "timeout", 60*time.Second, "per-request timeout")
	flag.Parse()
	if cfg.name == "" {
		cfg.name = defaultName(cfg.scenario, cfg.target)
	}
	if cfg.concurrency < 1 || cfg.chunks < 1 || cfg.clockTicks <= 0 || (cfg.duration <= 0 && cfg.requests < 1) {
		fmt.Fprintln(os.Stderr, "load: -c, -chunks and -clk-tck must be positive, and -n must be positive unless -d is set")
		os.Exit(2)
	}
	if _, ok := apis[cfg.api]; !ok {
		fmt.Fprintln(os.Stderr, "load: -api must be chat, responses or messages")
		os.Exit(2)
	}
	return cfg
}

// defaultName joins the non-empty labels with "/", or returns "run".
func defaultName(labels ...string) string {
	var parts []string
	for _, l := range labels {
		if l != "" {
			parts = append(parts, l)
		}
	}
	if len(parts) == 0 {
		return "run"
	}
	return strings.Join(parts, "/")
}

// run performs the warm-up and the measured phase and summarises them.
func run(cfg config) (*Result, error) {
	client := newClient(cfg)
	body, err := requestBody(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.warmup > 0 {
		runPhase(client, cfg, body, cfg.warmup, 0)
	}
	cpuBefore, err := processCPU(cfg)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	stats := runPhase(client, cfg, body, cfg.requests, cfg.duration)
	elapsed := time.Since(start)
	cpuAfter, err := processCPU(cfg)
	if err != nil {
		return nil, err
	}
	res := summarize(cfg, stats, elapsed)
	if cfg.pid > 0 && res.Requests > 0 {
		v := round((cpuAfter-cpuBefore)/float64(res.Requests)*1000, 4)
		res.CPUSPer1000 = &v
	}
	return res, nil
}

// newClient returns an HTTP/1.1 client whose single transport keeps enough
// idle connections for every worker.
func newClient(cfg config) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        2 * cfg.concurrency,
		MaxIdleConnsPerHost: 2 * cfg.concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: cfg.timeout}
}

// api is what load knows of one API: the request it sends, and how it
// tells a good answer.
type api struct {
	// request is the request of the same conversation as chat's.
	request func(cfg config) map[string]any
	// answered reports whether a whole answer is one.
	answered []byte
	// end is how a stream ends, and delta the field of an event that
	// carries a piece of text.
	end, delta string
}

var apis = map[string]api{
	"chat": {
		request: func(cfg config) map[string]any {
			return map[string]any{"model": cfg.model, "max_tokens": cfg.chunks, "messages": []map[string]string{
				{"role": "system", "content": "You are a helpful assistant."},
				{"role": "user", "content": "Write a short greeting for a benchmark."},
			}}
		},
		answered: []byte(`"choices"`), end: "data: [DONE]", delta: `"content"`,
	},
	// Not kept (store false, as Codex CLI sends): the gateway's work is
	// the translation alone.
	"responses": {
		request: func(cfg config) map[string]any {
			return map[string]any{"model": cfg.model, "max_output_tokens": cfg.chunks, "store": false,
				"instructions": "You are a helpful assistant.", "input": "Write a short greeting for a benchmark."}
		},
		answered: []byte(`"output"`), end: `"type":"response.completed"`, delta: `"delta"`,
	},
	"messages": {
		request: func(cfg config) map[string]any {
			return map[string]any{"model": cfg.model, "max_tokens": cfg.chunks, "system": "You are a helpful assistant.",
				"messages": []map[string]string{{"role": "user", "content": "Write a short greeting for a benchmark."}}}
		},
		answered: []byte(`"content"`), end: `data: {"type":"message_stop"}`, delta: `"text"`,
	},
}

// requestBody builds the JSON request sent by every worker.
func requestBody(cfg config) ([]byte, error) {
	req := apis[cfg.api].request(cfg)
	if cfg.stream {
		req["stream"] = true
		if cfg.includeUsage && cfg.api == "chat" {
			req["stream_options"] = map[string]bool{"include_usage": true}
		}
	}
	return json.Marshal(req)
}

// runPhase runs requests on cfg.concurrency workers until n requests have
// been started or, when d > 0, until d has elapsed.
func runPhase(client *http.Client, cfg config, body []byte, n int, d time.Duration) []*workerStats {
	var (
		started  atomic.Int64
		deadline time.Time
		wg       sync.WaitGroup
	)
	if d > 0 {
		deadline = time.Now().Add(d)
	}
	more := func() bool {
		if d > 0 {
			return time.Now().Before(deadline)
		}
		return started.Add(1) <= int64(n)
	}
	stats := make([]*workerStats, cfg.concurrency)
	for i := range stats {
		ws := &workerStats{}
		stats[i] = ws
		wg.Go(func() {
			var buf bytes.Buffer
			for more() {
				ws.add(doRequest(client, cfg, body, &buf))
			}
		})
	}
	wg.Wait()
	return stats
}

// add records one sample.
func (ws *workerStats) add(s sample) {
	if s.err != nil {
		ws.errors++
		if ws.firstErr == nil {
			ws.firstErr = s.err
		}
		return
	}
	ws.latencies = append(ws.latencies, s.latency)
	ws.ttfbs = append(ws.ttfbs, s.ttfb)
}

// doRequest sends one request, reads the whole body into buf and verifies it.
func doRequest(client *http.Client, cfg config, body []byte, buf *bytes.Buffer) sample {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.url, bytes.NewReader(body))
	if err != nil {
		return sample{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range cfg.headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return sample{err: err}
	}
	defer resp.Body.Close()
	ttfb, err := readBody(resp.Body, buf, start)
	latency := time.Since(start)
	if err != nil {
		return sample{err: err}
	}
	if err := verify(cfg, resp.StatusCode, buf.Bytes()); err != nil {
		return sample{err: err}
	}
	return sample{latency: latency, ttfb: ttfb}
}

// readBody reads r to EOF into buf and returns the time from start until the
// first body byte arrived (or until EOF, for an empty body).
func readBody(r io.Reader, buf *bytes.Buffer, start time.Time) (time.Duration, error) {
	buf.Reset()
	first := make([]byte, 4096)
	for {
		n, err := r.Read(first)
		if n > 0 {
			ttfb := time.Since(start)
			buf.Write(first[:n])
			if err == nil {
				_, err = buf.ReadFrom(r)
			}
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return ttfb, err
		}
		if errors.Is(err, io.EOF) {
			return time.Since(start), nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// verify checks the status and the body of one response.
func verify(cfg config, status int, body []byte) error {
	if status != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", status, body)
	}
	a := apis[cfg.api]
	if !cfg.stream {
		if !bytes.Contains(body, a.answered) {
			return fmt.Errorf(`body has no %s: %.200s`, a.answered, body)
		}
		return nil
	}
	return verifyStream(body, cfg.chunks, a)
}

// verifyStream checks that an SSE body ends as a's streams end and
// carries exactly want data events with a non-empty piece of text.
func verifyStream(body []byte, want int, a api) error {
	trimmed := bytes.TrimRight(body, "\r\n ")
	last := trimmed[bytes.LastIndexByte(trimmed, '\n')+1:]
	if !bytes.Contains(last, []byte(a.end)) && !(a.end == "data: [DONE]" && bytes.Equal(last, []byte("data:[DONE]"))) {
		return fmt.Errorf("stream does not end with %s: ...%s", a.end, tail(trimmed, 200))
	}
	got := 0
	for line := range bytes.Lines(body) {
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if ok && hasText(data, a.delta) {
			got++
		}
	}
	if got != want {
		return fmt.Errorf("stream has %d events with text, want %d", got, want)
	}
	return nil
}

// hasText reports whether an SSE data payload contains the field key (a
// quoted name) holding a non-empty JSON string.
func hasText(data []byte, key string) bool {
	for {
		i := bytes.Index(data, []byte(key))
		if i < 0 {
			return false
		}
		rest := bytes.TrimLeft(data[i+len(key):], " \t")
		if v, ok := bytes.CutPrefix(rest, []byte(":")); ok {
			v = bytes.TrimLeft(v, " \t")
			if len(v) >= 2 && v[0] == '"' && v[1] != '"' {
				return true
			}
		}
		data = data[i+len(key):]
	}
}

// tail returns at most the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// summarize merges the worker statistics into a Result.
func summarize(cfg config, stats []*workerStats, elapsed time.Duration) *Result {
	var lat, ttfb []time.Duration
	res := &Result{
		Name: cfg.name, Scenario: cfg.scenario, Target: cfg.target, Round: cfg.round,
		Stream: cfg.stream, Concurrency: cfg.concurrency, ElapsedS: elapsed.Seconds(),
	}
	if cfg.stream {
		res.Chunks = cfg.chunks
	}
	for _, ws := range stats {
		lat = append(lat, ws.latencies...)
		ttfb = append(ttfb, ws.ttfbs...)
		res.Errors += ws.errors
		if ws.firstErr != nil && res.FirstError == "" {
			res.FirstError = ws.firstErr.Error()
		}
	}
	res.Requests = len(lat) + res.Errors
	res.RPS = round(float64(len(lat))/elapsed.Seconds(), 1)
	res.ElapsedS = round(res.ElapsedS, 3)
	res.P50Ms = percentileMs(lat, 50)
	res.P99Ms = percentileMs(lat, 99)
	res.MaxMs = percentileMs(lat, 100)
	res.TTFBP50Ms = percentileMs(ttfb, 50)
	res.TTFBP99Ms = percentileMs(ttfb, 99)
	return res
}

// percentileMs returns the nearest-rank p-th percentile of d in
// milliseconds, or 0 when d is empty. It sorts d in place.
func percentileMs(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	rank := int(p/100*float64(len(d))+0.999999) - 1
	rank = max(0, min(rank, len(d)-1))
	return round(float64(d[rank])/float64(time.Millisecond), 3)
}

// round rounds v to the given number of decimal places.
func round(v float64, places int) float64 {
	s := strconv.FormatFloat(v, 'f', places, 64)
	r, _ := strconv.ParseFloat(s, 64)
	return r
}

// processCPU returns the user plus system CPU seconds consumed so far by
// cfg.pid, or 0 when no PID was given.
func processCPU(cfg config) (float64, error) {
	if cfg.pid <= 0 {
		return 0, nil
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(cfg.pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("reading CPU time of pid %d: %w", cfg.pid, err)
	}
	ticks, err := parseStatTicks(raw)
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", cfg.pid, err)
	}
	return float64(ticks) / cfg.clockTicks, nil
}

// parseStatTicks returns utime+stime, in clock ticks, from the contents of
// /proc/PID/stat. Fields are counted after the parenthesised command name,
// which may itself contain spaces.
func parseStatTicks(raw []byte) (uint64, error) {
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	fields := strings.Fields(string(raw[i+1:]))
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err := strconv.ParseUint(fields[11], 10, 64)
	if err != nil {
		return 0, err
	}
	stime, err := strconv.ParseUint(fields[12], 10, 64)
	if err != nil {
		return 0, err
	}
	return utime + stime, nil
}
