// Command soak is the long form of the gateway's soak test: it runs a
// built gateway binary as a separate process in front of the fault
// upstream, drives concurrent streams through it for a while (see
// internal/testkit/soak), samples the process's RSS and goroutines, and prints a
// report. It exits non-zero when a stream went wrong, a byte was lost,
// goroutines did not return to their starting level, or RSS grew by more
// than 20% between the first minute and the end. bench/soak.sh builds and
// runs it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/faultupstream"
	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/soak"
)

func main() {
	caddyBin := flag.String("caddy", "", "the gateway binary (a Caddy build with llm_gateway)")
	streams := flag.Int("streams", 500, "concurrent streams")
	duration := flag.Duration("duration", 10*time.Minute, "how long clients keep starting streams")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the upstream's faults and the clients' choices")
	workDir := flag.String("dir", "", "directory for the Caddyfile and the gateway's log (default: a temporary one)")
	every := flag.Duration("sample", 10*time.Second, "interval between RSS and goroutine samples")
	flag.Parse()
	log.SetFlags(log.Ltime)
	if *caddyBin == "" {
		log.Fatal("soak: -caddy is required")
	}
	if *workDir == "" {
		dir, err := os.MkdirTemp("", "soak")
		if err != nil {
			log.Fatal(err)
		}
		*workDir = dir
	}
	ok, err := run(*caddyBin, *workDir, *streams, *duration, *seed, *every)
	if err != nil {
		log.Fatalf("soak: %v", err)
	}
	if !ok {
		os.Exit(1)
	}
}

// sample is one reading of the gateway process.
type sample struct {
	at         time.Duration // since the load began
	rssKiB     int64
	goroutines int
	cpu        time.Duration // user and system time of the process so far
	load       string        // the machine's 1-minute load average
}

func run(caddyBin, dir string, streams int, duration time.Duration, seed uint64, every time.Duration) (bool, error) {
	up := faultupstream.New(faultupstream.Options{Plan: soak.Plan(seed, soak.DefaultIdleTimeout)})
	defer up.Close()
	gw, err := startGateway(caddyBin, dir, up.URL)
	if err != nil {
		return false, err
	}
	defer gw.stop()

	start, err := gw.sample(0)
	if err != nil {
		return false, err
	}
	log.Printf("gateway pid %d at %s; %d streams for %s, seed %d; log in %s",
		gw.cmd.Process.Pid, gw.url, streams, duration, seed, gw.logPath)

	began := time.Now()
	var mu sync.Mutex
	samples := []sample{start}
	ctx, stopSampling := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			s, err := gw.sample(time.Since(began))
			if err != nil {
				log.Printf("sampling: %v", err)
				continue
			}
			log.Printf("%4.0fs: RSS %d KiB, %d goroutines", s.at.Seconds(), s.rssKiB, s.goroutines)
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
		}
	}()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams}}
	rep := soak.Run(context.Background(), soak.Config{URL: gw.url + "/v1/chat/completions", Upstream: up,
		IdleTimeout: soak.DefaultIdleTimeout, Streams: streams, Duration: duration, Seed: seed, Client: client})
	loadEnd, err := gw.sample(time.Since(began))
	stopSampling()
	<-sampled
	if err != nil {
		return false, err
	}
	samples = append(samples, loadEnd)

	// Idle again: the clients' and the upstream's connections closed, the
	// goroutines must come back to where they started.
	client.CloseIdleConnections()
	up.CloseClientConnections()
	end := loadEnd
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if end, err = gw.sample(time.Since(began)); err != nil {
			return false, err
		}
		if end.goroutines <= start.goroutines {
			break
		}
		time.Sleep(200 * time.Millisecond) // polling another process, nothing to wait on
	}

	early := firstAfter(samples, min(time.Minute, duration/2))
	fmt.Printf("\n== soak report\n%s", rep)
	fmt.Printf("streams completed %d, aborted %d, faulted %d; bytes compared %d; lost bytes %d\n",
		rep.Completed, rep.Aborted, rep.Status+rep.Errored, rep.BytesCompared, rep.LostBytes)
	fmt.Printf("goroutines: %d at the start, %d under load at the end, %d once idle\n",
		start.goroutines, loadEnd.goroutines, end.goroutines)
	growth := float64(loadEnd.rssKiB-early.rssKiB) / float64(early.rssKiB) * 100
	busy := loadEnd.cpu - start.cpu
	fmt.Printf("gateway CPU: %.0f s over %.0f s of load (%.0f%% of one core); machine load average %s at the start, %s at the end\n",
		busy.Seconds(), loadEnd.at.Seconds(), 100*busy.Seconds()/loadEnd.at.Seconds(), start.load, loadEnd.load)
	fmt.Printf("RSS: %d KiB at the start, %d KiB after %s, %d KiB at the end of the load (%+.1f%%), %d KiB once idle\n",
		start.rssKiB, early.rssKiB, early.at.Round(time.Second), loadEnd.rssKiB, growth, end.rssKiB)

	pass := true
	check := func(ok bool, what string) {
		fmt.Printf("%-4s %s\n", map[bool]string{true: "ok", false: "FAIL"}[ok], what)
		pass = pass && ok
	}
	check(rep.OK(), "every stream as the upstream sent it, or ended as documented")
	check(rep.LostBytes == 0, "no byte lost")
	check(end.goroutines <= start.goroutines, "goroutines back to their starting level")
	check(growth <= 20, "RSS at the end within 20% of RSS after the first minute")
	return pass, nil
}

// firstAfter is the first sample taken at or after d, else the last.
func firstAfter(samples []sample, d time.Duration) sample {
	for _, s := range samples {
		if s.at >= d {
			return s
		}
	}
	return samples[len(samples)-1]
}

// gateway is the gateway process under soak.
type gateway struct {
	cmd      *exec.Cmd
	url      string
	adminURL string
	logPath  string
	client   *http.Client
}

// startGateway runs the gateway with the soak's llm_gateway block and
// waits until it serves.
func startGateway(bin, dir, upstreamURL string) (*gateway, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	adminPort, err := freePort()
	if err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "Caddyfile")
	logPath := filepath.Join(dir, "caddy.log")
	// Warnings (one per retry) would fill the log: errors only.
	caddyfile := fmt.Sprintf(`{
	admin 127.0.0.1:%d
	auto_https off
	persist_config off
	log {
		output file %s
		level ERROR
	}
}

http://127.0.0.1:%d {
	llm_gateway {
%s	}
}
`, adminPort, logPath, port, soak.GatewayBlock(upstreamURL, soak.DefaultIdleTimeout))
	if err := os.WriteFile(config, []byte(caddyfile), 0o600); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "caddy.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, "run", "--config", config, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	gw := &gateway{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port),
		adminURL: fmt.Sprintf("http://127.0.0.1:%d", adminPort), logPath: logPath, client: &http.Client{Timeout: 10 * time.Second}}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		resp, err := gw.client.Get(gw.url + "/v1/models")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return gw, nil
			}
		}
		time.Sleep(100 * time.Millisecond) // polling a starting process
	}
	gw.stop()
	return nil, fmt.Errorf("the gateway did not start; see %s", out.Name())
}

func (g *gateway) stop() {
	_ = g.cmd.Process.Kill()
	_ = g.cmd.Wait()
}

var goroutinesLine = regexp.MustCompile(`(?m)^go_goroutines (\d+)$`)

// sample reads the process's RSS from /proc and its goroutine count from
// the admin endpoint's metrics.
func (g *gateway) sample(at time.Duration) (sample, error) {
	s := sample{at: at}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		return s, err
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			s.rssKiB, err = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return s, fmt.Errorf("VmRSS %q: %w", v, err)
			}
		}
	}
	if s.cpu, err = processCPU(g.cmd.Process.Pid); err != nil {
		return s, err
	}
	if avg, err := os.ReadFile("/proc/loadavg"); err == nil {
		s.load = strings.Fields(string(avg))[0]
	}
	resp, err := g.client.Get(g.adminURL + "/metrics")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return s, err
	}
	m := goroutinesLine.FindSubmatch(body)
	if m == nil {
		return s, errors.New("no go_goroutines in the admin endpoint's metrics")
	}
	s.goroutines, err = strconv.Atoi(string(m[1]))
	return s, err
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's times:
// 100 on Linux everywhere this runs.
const clockTicks = 100

// processCPU reads the user and system time of a process from
// /proc/PID/stat (fields 14 and 15, counted after the command's closing
// parenthesis, which may itself hold spaces).
func processCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(stat), ')')
	fields := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, stat)
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
