//go:build linux

package auth

import "golang.org/x/sys/unix"

// peerCred reads SO_PEERCRED.
func peerCred(fd uintptr) (uid, gid int, err error) {
	cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, 0, err
	}
	return int(cred.Uid), int(cred.Gid), nil
}
