//go:build linux

package redistest

import "syscall"

// childAttrs asks the kernel to kill redis-server when the test binary dies
// without running its cleanups (a go test -timeout panic, a SIGKILL), so no
// server outlives its test. The signal is tied to the thread that started
// the child; the Go runtime keeps such threads alive unless a goroutine
// exits while locked to one, which tests do not do.
func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
