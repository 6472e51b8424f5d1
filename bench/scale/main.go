// Command scale holds many streams open through one gateway at once and
// measures what each open stream costs the gateway process: resident
// memory and goroutines. It runs the slow upstream itself (HTTPS with
// HTTP/2, as real providers are, one chat chunk per -interval), the
// clients (one HTTP/1.1 connection per stream, as SDKs use, or with -h2c
// many HTTP/2 streams to a connection), and with -relay the minimal
// net/http relay to compare with (relay.go); it checks that every stream
// ends with every chunk in order and [DONE].
//
// bench/scale.sh builds the gateway and runs this; see bench/README.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	streams   int
	events    int
	interval  time.Duration
	rampRate  int
	gateway   string
	pid       int
	admin     string
	upstream  string
	certOut   string
	readyFile string
	profiles  string
	relay     string
	prompt    int
	h2c       bool
}

func main() {
	var cfg config
	flag.IntVar(&cfg.streams, "streams", 10000, "streams held open at once")
	flag.IntVar(&cfg.events, "events", 60, "content chunks per stream")
	flag.DurationVar(&cfg.interval, "interval", time.Second, "time between two chunks of a stream")
	flag.IntVar(&cfg.rampRate, "ramp", 1000, "streams opened per second")
	flag.StringVar(&cfg.gateway, "gateway", "", "the gateway's chat completions URL; without it, serve the upstream only")
	flag.IntVar(&cfg.pid, "pid", 0, "the gateway's PID, for its RSS")
	flag.StringVar(&cfg.admin, "admin", "", "the gateway's admin address, for its goroutine count (host:port)")
	flag.StringVar(&cfg.upstream, "upstream", "127.0.0.1:0", "listen address of the slow HTTPS upstream")
	flag.StringVar(&cfg.certOut, "cert-out", "", "write the upstream's certificate (PEM) here")
	flag.StringVar(&cfg.readyFile, "ready-file", "", "write the upstream's address here once it listens")
	flag.StringVar(&cfg.profiles, "profiles", "", "save the gateway's heap and goroutine profiles, taken while every stream is open, in this directory")
	flag.IntVar(&cfg.prompt, "prompt-bytes", 0, "pad each request's user message to this many bytes, as a long conversation would")
	flag.BoolVar(&cfg.h2c, "h2c", false, "clients speak HTTP/2 without TLS to the gateway, many streams to a connection, instead of HTTP/1.1, one stream to a connection")
	flag.StringVar(&cfg.relay, "relay", "", "serve the minimal net/http relay (see relay.go) on this address, with -admin and -upstream")
	flag.Parse()

	if cfg.relay != "" {
		log.Fatal(serveRelay(cfg.relay, cfg.admin, cfg.upstream, cfg.h2c))
	}

	if cfg.gateway == "" {
		// The upstream alone, until killed: the script starts the gateway
		// against it, then this program again with -gateway.
		if err := startUpstream(cfg); err != nil {
			log.Fatal(err)
		}
		select {}
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// startUpstream serves the slow OpenAI-compatible upstream over HTTPS and
// HTTP/2 with a fresh self-signed certificate.
func startUpstream(cfg config) error {
	cert, certPEM, err := selfSigned()
	if err != nil {
		return err
	}
	if cfg.certOut != "" {
		if err := os.WriteFile(cfg.certOut, certPEM, 0o600); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.upstream)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { trickle(w, r, cfg) }),
		ErrorLog: log.New(io.Discard, "", 0),
		HTTP2:    &http.HTTP2Config{MaxConcurrentStreams: 1000},
	}
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	if cfg.readyFile != "" {
		return os.WriteFile(cfg.readyFile, []byte(ln.Addr().String()), 0o600)
	}
	return nil
}

func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "scale upstream"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return cert, certPEM, err
}

// trickle streams cfg.events chunks, chunk i saying "i ", one per
// interval, then the finish chunk and [DONE].
func trickle(w http.ResponseWriter, r *http.Request, cfg config) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	write := func(s string) bool {
		if _, err := io.WriteString(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(`data: {"id":"chatcmpl-scale","object":"chat.completion.chunk","created":1735689600,"model":"scale","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` + "\n\n") {
		return
	}
	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	for i := range cfg.events {
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		}
		if !write(`data: {"id":"chatcmpl-scale","object":"chat.completion.chunk","created":1735689600,"model":"scale","choices":[{"index":0,"delta":{"content":"` + strconv.Itoa(i) + ` "},"logprobs":null,"finish_reason":null}]}` + "\n\n") {
			return
		}
	}
	write(`data: {"id":"chatcmpl-scale","object":"chat.completion.chunk","created":1735689600,"model":"scale","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n")
}

// sample is the gateway's state at one moment.
type sample struct {
	open       int64
	rss        int64 // bytes
	goroutines int
	// From the gateway's Go runtime (its admin /metrics): goroutine
	// stacks, and heap spans holding live or not yet collected objects.
	stacks, heap int64
	// Heap memory the runtime holds free for reuse (idle, not yet given
	// back to the kernel): garbage between collections lives here.
	heapIdle, heapReleased int64
}

func run(cfg config) error {
	transport := &http.Transport{
		MaxIdleConnsPerHost: 16,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
	}
	if cfg.h2c {
		transport.Protocols = new(http.Protocols)
		transport.Protocols.SetUnencryptedHTTP2(true)
	}
	client := &http.Client{Transport: transport}
	idle, err := measure(cfg, 0)
	if err != nil {
		return err
	}
	fmt.Printf("before: rss %.1f MiB, goroutines %d\n", mib(idle.rss), idle.goroutines)

	var open, done, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	content := "count slowly"
	if pad := cfg.prompt - len(content); pad > 0 {
		content += strings.Repeat(".", pad)
	}
	body := []byte(`{"model":"scale","stream":true,"messages":[{"role":"user","content":"` + content + `"}]}`)
	start := time.Now()
	for i := range cfg.streams {
		// Open at the ramp rate, so the gateway's accept queue is not the
		// thing measured.
		if d := time.Duration(i) * time.Second / time.Duration(cfg.rampRate); time.Since(start) < d {
			time.Sleep(d - time.Since(start))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := stream(client, cfg, body, &open)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			done.Add(1)
		}()
	}
	fmt.Printf("opened %d streams in %.1fs\n", cfg.streams, time.Since(start).Seconds())

	// The plateau: every stream open at once. Sample a few times while it
	// lasts and keep the largest RSS.
	var peak sample
	deadline := time.Now().Add(time.Duration(cfg.events) * cfg.interval)
	for time.Now().Before(deadline) {
		s, err := measure(cfg, open.Load())
		if err != nil {
			return err
		}
		if s.open == int64(cfg.streams) && s.rss > peak.rss {
			if peak.open == 0 && cfg.profiles != "" {
				if err := saveProfiles(cfg); err != nil {
					return err
				}
			}
			peak = s
		}
		if s.open < int64(cfg.streams) && peak.open > 0 {
			break // streams have begun to end
		}
		time.Sleep(2 * time.Second)
	}
	wg.Wait()
	client.CloseIdleConnections()
	after, err := measure(cfg, 0)
	if err != nil {
		return err
	}
	fmt.Printf("completed %d of %d streams (%d failed)\n", done.Load(), cfg.streams, failed.Load())
	if peak.open == 0 {
		return errors.New("never saw every stream open at once: raise -events or -ramp")
	}
	perStream := float64(peak.rss-idle.rss) / float64(cfg.streams)
	goroutines := float64(peak.goroutines-idle.goroutines) / float64(cfg.streams)
	fmt.Printf("all %d open: rss %.1f MiB, goroutines %d\n", cfg.streams, mib(peak.rss), peak.goroutines)
	fmt.Printf("per open stream: %.1f KB rss, %.2f goroutines\n", perStream/1000, goroutines)
	perStreamKB := func(peak, idle int64) float64 { return float64(peak-idle) / float64(cfg.streams) / 1000 }
	fmt.Printf("  of which goroutine stacks %.1f KB, Go heap in use %.1f KB, heap held free for reuse %.1f KB\n",
		perStreamKB(peak.stacks, idle.stacks), perStreamKB(peak.heap, idle.heap),
		perStreamKB(peak.heapIdle-peak.heapReleased, idle.heapIdle-idle.heapReleased))
	fmt.Printf("after: rss %.1f MiB, goroutines %d\n", mib(after.rss), after.goroutines)
	if err, _ := firstErr.Load().(error); err != nil {
		return fmt.Errorf("%d streams failed; first: %w", failed.Load(), err)
	}
	return nil
}

// stream reads one stream and checks it: chunk i says "i ", in order,
// then the finish chunk and [DONE]. open counts streams between their
// first chunk and their end.
func stream(client *http.Client, cfg config, body []byte, open *atomic.Int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.events+60)*cfg.interval+time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.gateway, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	next, counted, finished := 0, false, false
	defer func() {
		if counted {
			open.Add(-1)
		}
	}()
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if !counted {
			counted = true
			open.Add(1)
		}
		if data == "[DONE]" {
			if next != cfg.events || !finished {
				return fmt.Errorf("[DONE] after %d of %d chunks (finished %v)", next, cfg.events, finished)
			}
			return nil
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil || len(c.Choices) != 1 {
			return fmt.Errorf("bad chunk %q", data)
		}
		ch := c.Choices[0]
		switch {
		case ch.FinishReason != nil:
			finished = true
		case ch.Delta.Content != nil && *ch.Delta.Content == "":
		case ch.Delta.Content != nil && *ch.Delta.Content == strconv.Itoa(next)+" ":
			next++
		default:
			return fmt.Errorf("chunk %q out of order, want %d", data, next)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("stream ended without [DONE] after %d chunks", next)
}

// measure reads the gateway's RSS and goroutine count.
func measure(cfg config, open int64) (sample, error) {
	s := sample{open: open}
	if cfg.pid > 0 {
		status, err := os.ReadFile("/proc/" + strconv.Itoa(cfg.pid) + "/status")
		if err != nil {
			return s, err
		}
		for l := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				s.rss = kb * 1024
			}
		}
	}
	if cfg.admin != "" {
		resp, err := http.Get("http://" + cfg.admin + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			return s, err
		}
		defer resp.Body.Close()
		first, _ := bufio.NewReader(resp.Body).ReadString('\n')
		// "goroutine profile: total N"
		if i := strings.LastIndexByte(strings.TrimSpace(first), ' '); i >= 0 {
			s.goroutines, _ = strconv.Atoi(strings.TrimSpace(first)[i+1:])
		}
		if err := readRuntimeMemory(cfg.admin, &s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// saveProfiles saves the gateway's heap and goroutine profiles from its
// admin endpoint, for go tool pprof.
func saveProfiles(cfg config) error {
	// gc=1 collects first, so the heap profile shows what is live now.
	for _, name := range []string{"heap", "goroutine"} {
		resp, err := http.Get("http://" + cfg.admin + "/debug/pprof/" + name + "?gc=1")
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(cfg.profiles, name+".pprof"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// readRuntimeMemory reads the Go runtime's stack and heap figures from
// the Prometheus metrics that Caddy's admin endpoint serves.
func readRuntimeMemory(admin string, s *sample) error {
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var into *int64
		switch name {
		case "go_memstats_stack_inuse_bytes":
			into = &s.stacks
		case "go_memstats_heap_inuse_bytes":
			into = &s.heap
		case "go_memstats_heap_idle_bytes":
			into = &s.heapIdle
		case "go_memstats_heap_released_bytes":
			into = &s.heapReleased
		default:
			continue
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("metric %s: %w", name, err)
		}
		*into = int64(f)
	}
	return sc.Err()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
