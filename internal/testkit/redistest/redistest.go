// Package redistest runs a real redis-server for tests.
//
// Each Server is a child process bound to 127.0.0.1 on a free port with
// persistence disabled, so tests see Redis's real behaviour (including
// what happens while it is down) without sharing state with each other or
// with a Redis the developer may already run.
package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

const (
	// startAttempts bounds retries when the free port picked for a new
	// server was taken by someone else before redis-server could bind it.
	startAttempts = 3
	// readyTimeout bounds how long a fresh process may take to answer PING.
	readyTimeout = 10 * time.Second
	// stopGrace is how long Stop lets redis-server shut down on SIGTERM
	// before killing it.
	stopGrace = 5 * time.Second
	// doTimeout keeps a wedged server from hanging a test in Do.
	doTimeout = 2 * time.Second
)

// Server is a redis-server child process bound to 127.0.0.1 on a free port,
// with no persistence. Do may be called from several goroutines at once;
// Stop and Restart belong to the test's own goroutine and must not overlap
// with anything else.
type Server struct {
	Addr string // "127.0.0.1:PORT"
	URL  string // "redis://127.0.0.1:PORT/0"

	bin  string   // redis-server found on PATH
	dir  string   // working directory; nothing is written there
	port int      // fixed after Start so that Restart reuses it
	proc *process // nil while stopped
}

// Start starts a server and registers its shutdown with t.Cleanup. When
// redis-server is not on PATH it calls t.Fatal if the CI environment
// variable is "true" (CI must run these tests) and t.Skip otherwise.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{bin: lookBinary(t), dir: t.TempDir()}
	// Registered before the first launch so that a process left running by
	// a failed attempt, or by a test that fails later, is still reaped.
	t.Cleanup(s.cleanup)
	var err error
	for range startAttempts {
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		if err = s.launch(port); !errors.Is(err, errPortTaken) {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: start redis-server: %v", err)
	}
	return s
}

// Stop stops the server: SIGTERM, then a wait for it to exit, with SIGKILL
// if it has not exited after 5s. Connections to Addr fail until Restart.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.proc == nil {
		t.Fatal("redistest: Stop called on a server that is not running")
	}
	p := s.proc
	s.proc = nil
	if !p.terminate(stopGrace) {
		t.Logf("redistest: redis-server on %s ignored SIGTERM for %v and was killed", s.Addr, stopGrace)
	}
}

// Restart starts the server again on the same port after Stop and waits
// until it answers PING. The new process starts empty: nothing persists.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if s.proc != nil {
		t.Fatal("redistest: Restart called on a server that is still running")
	}
	// No retry on another port: callers rely on Addr and URL staying valid.
	if err := s.launch(s.port); err != nil {
		t.Fatalf("redistest: restart redis-server: %v", err)
	}
}

// Do sends one command and returns the first line of the raw reply, such as
// "+PONG", "+OK", "$5" or "-ERR ...", for tests that inspect or reset state.
// It fails the test if the server does not answer within 2s.
func (s *Server) Do(t testing.TB, args ...string) string {
	t.Helper()
	if len(args) == 0 {
		t.Fatal("redistest: Do needs a command")
	}
	reply, err := query(s.Addr, doTimeout, args, readLine)
	if err != nil {
		t.Fatalf("redistest: %s on %s: %v", args[0], s.Addr, err)
	}
	return reply
}

// lookBinary returns the path of redis-server, or ends the test with a
// message saying why it did not run and how to make it run.
func lookBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		return bin
	}
	// A silent skip in CI would let the Redis-backed code go untested.
	if os.Getenv("CI") == "true" {
		t.Fatal("redis-server not found on PATH; CI=true requires these tests to run (.ci/run installs redis-server with apt-get)")
	}
	t.Skip("redis-server not found on PATH; install it (apt-get install redis-server) to run this test")
	return ""
}

// freePort returns a loopback port that was free a moment ago. Another
// process may grab it before redis-server binds it; Start retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts redis-server on port and waits until it is ready.
func (s *Server) launch(port int) error {
	s.port = port
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.URL = "redis://" + s.Addr + "/0"
	p, err := startProcess(s.bin, s.args())
	if err != nil {
		return err
	}
	if err := p.awaitReady(s.Addr, readyTimeout); err != nil {
		p.kill()
		return fmt.Errorf("port %d: %w\nredis-server output:\n%s", port, err, p.output())
	}
	s.proc = p
	return nil
}

// args configures a throwaway server: loopback only, and no RDB or AOF
// files, so a restart starts empty and nothing is left on disk.
func (s *Server) args() []string {
	return []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--protected-mode", "yes",
		"--dir", s.dir,
	}
}

// cleanup kills the server if it is still running. It kills rather than
// stopping gracefully: the data is thrown away anyway, and a test that
// failed must not wait on a server that hangs.
func (s *Server) cleanup() {
	if s.proc != nil {
		s.proc.kill()
		s.proc = nil
	}
}
