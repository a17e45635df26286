//go:build solaris

package auth

import "golang.org/x/sys/unix"

// peerCred reads the peer's credentials with getpeerucred(3C) (Solaris and
// illumos; the illumos build uses this file too).
func peerCred(fd uintptr) (uid, gid int, err error) {
	uc, err := unix.GetPeerUcred(fd)
	if err != nil {
		return 0, 0, err
	}
	return uc.Geteuid(), uc.Getegid(), nil
}
