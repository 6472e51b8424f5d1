package redistest

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestStartDo(t *testing.T) {
	t.Parallel()
	s := Start(t)
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") || s.URL != "redis://"+s.Addr+"/0" {
		t.Fatalf("Addr %q, URL %q", s.Addr, s.URL)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "+PONG"},
		{[]string{"SET", "greeting", "hello"}, "+OK"},
		{[]string{"GET", "greeting"}, "$5"},
		{[]string{"GET", "missing"}, "$-1"},
		{[]string{"FLUSHALL"}, "+OK"},
		{[]string{"GET", "greeting"}, "$-1"},
	} {
		if got := s.Do(t, c.args...); got != c.want {
			t.Errorf("Do(%q) = %q, want %q", c.args, got, c.want)
		}
	}
	// Error replies come back raw so tests can assert on them.
	if got := s.Do(t, "NOSUCHCOMMAND"); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("Do(NOSUCHCOMMAND) = %q, want an -ERR reply", got)
	}
}

func TestStopRefusesConnections(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.Stop(t)
	if conn, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("dial %s succeeded after Stop", s.Addr)
	}
}

func TestRestartSamePortWithoutPersistence(t *testing.T) {
	t.Parallel()
	s := Start(t)
	addr, url := s.Addr, s.URL
	if got := s.Do(t, "SET", "k", "v"); got != "+OK" {
		t.Fatalf("SET = %q", got)
	}
	s.Stop(t)
	s.Restart(t)
	if s.Addr != addr || s.URL != url {
		t.Fatalf("after Restart Addr %q URL %q, want %q %q", s.Addr, s.URL, addr, url)
	}
	if got := s.Do(t, "PING"); got != "+PONG" {
		t.Fatalf("PING after Restart = %q", got)
	}
	if got := s.Do(t, "GET", "k"); got != "$-1" {
		t.Fatalf("GET k after Restart = %q, want $-1 (nothing persisted)", got)
	}
}

func TestTwoServersAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := Start(t), Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("both servers on %s", a.Addr)
	}
	if got := a.Do(t, "SET", "k", "v"); got != "+OK" {
		t.Fatalf("SET on a = %q", got)
	}
	if got := b.Do(t, "GET", "k"); got != "$-1" {
		t.Fatalf("GET on b = %q, want $-1: the servers share state", got)
	}
}

func TestCleanupStopsServer(t *testing.T) {
	t.Parallel()
	var addr string
	// t.Run returns only after the subtest's cleanups have run.
	t.Run("server", func(t *testing.T) {
		addr = Start(t).Addr
	})
	if addr == "" {
		t.Skip("the subtest did not start a server (see its message)")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("dial %s succeeded after the test's cleanup", addr)
	}
}

func TestMissingBinarySkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CI", "")
	r := runStart()
	want := "redis-server not found on PATH; install it (apt-get install redis-server) to run this test"
	if r.skipped != want || r.failed != "" {
		t.Fatalf("skipped %q, failed %q; want a skip with %q", r.skipped, r.failed, want)
	}
}

func TestMissingBinaryFailsInCI(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CI", "true")
	r := runStart()
	if r.failed == "" || r.skipped != "" {
		t.Fatalf("skipped %q, failed %q; want a failure under CI=true", r.skipped, r.failed)
	}
	if !strings.Contains(r.failed, "redis-server not found on PATH") || !strings.Contains(r.failed, ".ci/run") {
		t.Errorf("failure message %q does not say what is missing and who installs it", r.failed)
	}
}

// recorder is a testing.TB that records Skip and Fatal instead of ending
// the real test. Any other method panics on the nil embedded TB, which
// would mean Start did more than look for the binary.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.failed = fmt.Sprint(args...)
	runtime.Goexit()
}

// runStart calls Start with a recorder on its own goroutine, as Skip and
// Fatal end the calling goroutine.
func runStart() *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(r)
	}()
	<-done
	return r
}

func TestLaunchOnTakenPortAsksForRetry(t *testing.T) {
	t.Parallel()
	other := Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := l.Addr().(*net.TCPAddr).Port
	for name, port := range map[string]int{
		// Our server fails to bind and exits.
		"plain listener": held,
		// Our server fails to bind, but the other one answers PING: using
		// it would let a test flush someone else's data.
		"other redis": other.port,
	} {
		s := &Server{bin: other.bin, dir: t.TempDir()}
		t.Cleanup(s.cleanup)
		if err := s.launch(port); !errors.Is(err, errPortTaken) {
			t.Errorf("%s: launch = %v, want errPortTaken", name, err)
		}
		if s.proc != nil {
			t.Errorf("%s: failed launch left a process", name)
		}
	}
	if got := other.Do(t, "PING"); got != "+PONG" {
		t.Fatalf("other server after the clash: PING = %q", got)
	}
}
