//go:build !linux

package redistest

import "syscall"

// childAttrs returns nil: only Linux can tie the child's life to ours, so
// elsewhere t.Cleanup is the only thing that stops the server.
func childAttrs() *syscall.SysProcAttr {
	return nil
}
