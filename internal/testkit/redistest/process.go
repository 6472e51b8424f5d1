package redistest

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// errPortTaken means another process held the port, so trying again on a
// fresh port may succeed.
var errPortTaken = errors.New("port already in use")

const (
	// probeTimeout keeps a single readiness probe well inside readyTimeout.
	probeTimeout = 500 * time.Millisecond
	// Readiness probes back off from firstBackoff to maxBackoff: a fresh
	// redis-server usually answers within a few milliseconds.
	firstBackoff = 5 * time.Millisecond
	maxBackoff   = 100 * time.Millisecond
)

// process is one run of redis-server.
type process struct {
	cmd *exec.Cmd
	// out collects stdout and stderr. It is read only after done is
	// closed, when exec has finished copying into it.
	out     bytes.Buffer
	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // valid after done is closed
}

// startProcess starts bin with args and reaps it in the background, so that
// an early exit (for example a failed bind) is noticed while polling.
func startProcess(bin string, args []string) (*process, error) {
	p := &process{done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	p.cmd.SysProcAttr = childAttrs()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// awaitReady polls addr with PING until this process answers, it exits, or
// timeout passes.
func (p *process) awaitReady(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	backoff := firstBackoff
	for {
		reply, err := query(addr, probeTimeout, []string{"PING"}, readLine)
		if err == nil && reply == "+PONG" {
			return p.checkOwner(addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %v (last reply %q, error %v)", timeout, reply, err)
		}
		select {
		case <-p.done:
			return p.exitError()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// checkOwner makes sure the server answering on addr is this process. If
// another redis-server won the race for the port, ours fails to bind while
// the other one answers PING, and using it would let tests read and flush
// someone else's data.
func (p *process) checkOwner(addr string) error {
	pid, err := serverPID(addr, probeTimeout)
	if err != nil {
		return fmt.Errorf("read process_id: %w", err)
	}
	if pid != p.cmd.Process.Pid {
		return fmt.Errorf("%w: answered by redis-server pid %d, not ours (%d)", errPortTaken, pid, p.cmd.Process.Pid)
	}
	return nil
}

// exitError describes an exit before readiness; call it after done.
func (p *process) exitError() error {
	if strings.Contains(p.out.String(), "Address already in use") {
		return fmt.Errorf("%w: redis-server exited: %v", errPortTaken, p.waitErr)
	}
	return fmt.Errorf("redis-server exited before answering PING: %v", p.waitErr)
}

// output returns what the process printed; call it after done.
func (p *process) output() string {
	if p.out.Len() == 0 {
		return "(none)"
	}
	return p.out.String()
}

// terminate sends SIGTERM and waits for the exit, killing the process if it
// is still running after grace. It reports whether SIGTERM was enough.
func (p *process) terminate(grace time.Duration) bool {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		// Already exited, or signals are unsupported: nothing to wait for
		// but the kill.
		p.kill()
		return true
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return true
	case <-timer.C:
		p.kill()
		return false
	}
}

// kill kills the process and waits until it has been reaped, so that no
// server outlives its test and its port is free again on return.
func (p *process) kill() {
	// The error only says the process already exited, which is the goal.
	_ = p.cmd.Process.Kill()
	<-p.done
}
