package auth

import (
	"fmt"
	"net"
	"slices"
	"strconv"
)

// Reserved reports whether a caller may use the connections kept for those
// who must never be locked out (connlimit's reserve): root and operators
// on the unix socket, operators and peers over TLS. On the unix socket it
// needs only the uid and gid (UnixPeer): the gid's name is looked up only
// when operator_groups is set and the uid alone does not decide.
func (p Policy) Reserved(id Identity) bool {
	switch id.Transport {
	case "unix":
		if id.UID == 0 || slices.Contains(p.OperatorUIDs, id.UID) {
			return true
		}
		if len(p.OperatorGroups) == 0 {
			return false
		}
		groups := id.Groups
		if groups == nil {
			_, groups = groupsOf(id.UID, id.GID)
		}
		for _, g := range groups {
			if slices.Contains(p.OperatorGroups, g) {
				return true
			}
		}
		return false
	case "tls":
		r := p.Role(id)
		return r == Operator || r == Peer
	}
	return false
}

// UnixPeer is the caller of an accepted unix-socket connection as the
// kernel tells it (uid and effective gid; no names looked up), for the
// connection limits at accept.
func UnixPeer(c net.Conn) (Identity, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Identity{}, fmt.Errorf("unix peer credentials on a %T", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Identity{}, err
	}
	var uid, gid int
	var cerr error
	if err := raw.Control(func(fd uintptr) { uid, gid, cerr = peerCred(fd) }); err != nil {
		return Identity{}, err
	}
	if cerr != nil {
		return Identity{}, cerr
	}
	return Identity{Transport: "unix", UID: uid, GID: gid}, nil
}

// LimitKey names a caller for the per-caller limits: "uid:N" on the unix
// socket (the effective gid does not make another caller), "cert:SUBJECT"
// over TLS.
func (id Identity) LimitKey() string {
	switch id.Transport {
	case "unix":
		return "uid:" + strconv.Itoa(id.UID)
	case "tls":
		return "cert:" + id.Subject
	}
	return "unknown"
}
