//go:build !linux

package linuxstack

import (
	"runtime"
	"testing"
)

// Start skips (or fails, with VOLCTL_E2E_REQUIRED=1): the stack is Linux
// only (zfs-fuse, tgtd).
func Start(t testing.TB) *Stack {
	t.Helper()
	skipOrFail(t, "the tgt + zfs-fuse stack runs on Linux only, not %s", runtime.GOOS)
	return nil
}
