//go:build !linux && !solaris

package auth

import "errors"

// peerCred is not available here: volctld refuses unix-socket callers it
// cannot identify.
func peerCred(uintptr) (int, int, error) {
	return 0, 0, errors.New("peer credentials are not supported on this OS")
}
