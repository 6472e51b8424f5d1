package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/redistest"
)

// TestDistributedLimitsAcrossTwoInstances runs two Caddy processes that
// share one Redis: a limit of 50 per minute holds across both together,
// and each handles Redis going away and coming back as configured.
func TestDistributedLimitsAcrossTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two Caddy processes and a redis-server")
	}
	redis := redistest.Start(t)
	bin := buildCaddy(t)
	allow := startCaddyProcess(t, bin, limitedBlock(redis.URL, "allow"))
	deny := startCaddyProcess(t, bin, limitedBlock(redis.URL, "deny"))

	statuses := concurrentChats(t, []string{allow, deny}, 100)
	if statuses[200] != 50 || statuses[429] != 50 {
		t.Fatalf("statuses %v, want exactly 50×200 and 50×429 across both instances", statuses)
	}

	redis.Stop(t)
	client := freshHTTP()
	if got := chat(t, client, allow, "m", nil); got.status != 200 || got.header.Get("X-Ratelimit-Limit") != "" {
		t.Errorf("on_store_error allow, Redis down: status %d, limit header %q; want 200 without limit headers",
			got.status, got.header.Get("X-Ratelimit-Limit"))
	}
	if got := chat(t, client, deny, "m", nil); got.status != 503 || !strings.Contains(got.body, "rate_limit_store_unavailable") {
		t.Errorf("on_store_error deny, Redis down: %d %s", got.status, got.body)
	}

	redis.Restart(t) // empty: it keeps nothing on disk
	// A failed store is skipped for a second, so counting resumes within
	// about a second of Redis coming back.
	for _, url := range []string{allow, deny} {
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := chat(t, client, url, "m", nil)
			if got.status == 200 && got.header.Get("X-Ratelimit-Limit") == "50" {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s 5 s after Redis came back: status %d, limit header %q; want counting again",
					url, got.status, got.header.Get("X-Ratelimit-Limit"))
				break
			}
			time.Sleep(100 * time.Millisecond) // polling a recovering process, not synchronising
		}
	}
}

// built is cmd/caddy, built once for the tests that run it as a process.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// buildCaddy builds cmd/caddy, once per test binary; TestMain removes it.
func buildCaddy(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "llm-gateway-caddy-"); built.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(built.dir, "caddy"), "github.com/llmgateway/caddy-llm-gateway/cmd/caddy")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("%w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatalf("building caddy: %v", built.err)
	}
	return filepath.Join(built.dir, "caddy")
}

// limitedBlock is an llm_gateway block with a Redis-backed limit of 50
// per minute.
func limitedBlock(redisURL, onStoreError string) string {
	return fmt.Sprintf(`provider mock
		rate_limit 50 1m
		rate_limit_store redis %s
		on_store_error %s`, redisURL, onStoreError)
}

// startCaddyProcess runs the gateway with the llm_gateway block block
// and returns its base URL once it answers.
func startCaddyProcess(t *testing.T, bin, block string) string {
	t.Helper()
	url, _ := startCaddySite(t, bin, "\tllm_gateway {\n\t\t"+block+"\n\t}\n", nil)
	return url
}

// startCaddySite runs Caddy with site as the body of its one site, and
// env added to its environment; it returns the site's base URL once it
// answers, and the file that has the process's output.
func startCaddySite(t *testing.T, bin, site string, env []string) (url, output string) {
	t.Helper()
	noteFailure(t)
	port := freePort(t)
	config := filepath.Join(t.TempDir(), "Caddyfile")
	err := os.WriteFile(config, []byte(fmt.Sprintf(`{
	admin off
	auto_https off
}

http://127.0.0.1:%d {
%s}
`, port, site)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	logs, err := os.Create(config + ".log")
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	cmd := exec.Command(bin, "run", "--config", config, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		// Polls the process until it serves: any answer will do, GET
		// /v1/models is neither limited nor sent upstream.
		resp, err := http.Get(url + "/v1/models")
		if err == nil {
			resp.Body.Close()
			return url, logs.Name()
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	out, _ := os.ReadFile(logs.Name())
	t.Fatalf("caddy on port %d did not start:\n%s", port, out)
	return "", ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
