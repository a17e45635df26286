package comstar

import (
	"bytes"
	"context"
)

// The operational states `stmfadm list-lu -v` prints (printLuProps;
// docs/platform/comstar-lu.md §1). Onlining and Offlining are on the way:
// the kernel's stmf service thread finishes them.
const (
	StatusOnline    = "Online"
	StatusOffline   = "Offline"
	StatusOnlining  = "Onlining"
	StatusOfflining = "Offlining"
)

// OnlineLUArgv is `stmfadm online-lu GUID`.
func (c Cmd) OnlineLUArgv(guid string) []string { return []string{c.Path, "online-lu", guid} }

// OfflineLUArgv is `stmfadm offline-lu GUID`.
func (c Cmd) OfflineLUArgv(guid string) []string { return []string{c.Path, "offline-lu", guid} }

// SetLUState runs online-lu (online) or offline-lu. stmfadm itself waits
// up to 9 s for the LU to get there (onlineOfflineLu): an error for which
// IsStateChangePending holds means the request stays queued and the LU
// may still get there.
func (c Cmd) SetLUState(ctx context.Context, guid string, online bool) error {
	argv := c.OfflineLUArgv(guid)
	if online {
		argv = c.OnlineLUArgv(guid)
	}
	return stderrFailed(c.Run(ctx, argv))
}

// IsStateChangePending reports online-lu / offline-lu's "Logical Unit state
// change request submitted. Waiting for completion timed out": stmfadm
// stopped waiting after 9 s, the kernel did not.
func IsStateChangePending(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("state change request submitted"))
}
