// Package auth decides who is calling volctld and what they may do. On the
// unix socket the caller is the peer's uid and effective gid, read from the kernel
// (SO_PEERCRED on Linux, getpeerucred on Solaris and illumos); over TCP it is
// the subject of a client certificate that a configured CA signed (mutual
// TLS only, never plain TCP). Each method needs a role: viewer (read, plan)
// or operator (snapshot, rollback, recover).
package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os/user"
	"slices"
	"strconv"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/volctl/volctl/internal/certpool"
)

// Role is what a caller may do.
type Role int

// Roles, in increasing power; Peer stands apart: it may call the zone
// service and nothing else, and no other role may call that (Allowed).
const (
	None Role = iota
	Viewer
	Operator
	Peer
)

func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Operator:
		return "operator"
	case Peer:
		return "peer"
	}
	return "none"
}

// Identity is a caller.
type Identity struct {
	Transport string // "unix" or "tls"
	UID, GID  int    // unix
	User      string
	Groups    []string
	Subject   string // tls: the client certificate's subject
	CN        string
}

func (id Identity) String() string {
	if id.Transport == "tls" {
		return "cert:" + id.Subject
	}
	if id.Transport == "unix" {
		name := id.User
		if name == "" {
			name = "?"
		}
		return fmt.Sprintf("uid=%d(%s) gid=%d", id.UID, name, id.GID)
	}
	return "unknown"
}

// Policy maps identities to roles (from the configuration).
type Policy struct {
	OperatorUIDs     []int
	OperatorGroups   []string
	OperatorSubjects []string // certificate subject CN or full subject
	ViewerUIDs       []int
	ViewerGroups     []string
	ViewerSubjects   []string
	PeerSubjects     []string // storage hosts' volctld (zone service only)
}

// Role returns the strongest role the identity has.
func (p Policy) Role(id Identity) Role {
	match := func(uids []int, groups, subjects []string) bool {
		switch id.Transport {
		case "unix":
			if slices.Contains(uids, id.UID) {
				return true
			}
			for _, g := range id.Groups {
				if slices.Contains(groups, g) {
					return true
				}
			}
		case "tls":
			return slices.Contains(subjects, id.CN) || slices.Contains(subjects, id.Subject)
		}
		return false
	}
	switch {
	case id.Transport == "tls" && match(nil, nil, p.PeerSubjects):
		// A peer is a machine, not a person: the subject means peer even
		// if it were listed for a person's role too.
		return Peer
	case match(p.OperatorUIDs, p.OperatorGroups, p.OperatorSubjects):
		return Operator
	case match(p.ViewerUIDs, p.ViewerGroups, p.ViewerSubjects):
		return Viewer
	}
	return None
}

// methodRoles is the role each method needs; a method not listed needs
// operator (new methods are closed until someone opens them).
var methodRoles = map[string]Role{
	"/volctl.v1.VolumeService/ListVolumes":                           Viewer,
	"/volctl.v1.VolumeService/GetVolume":                             Viewer,
	"/volctl.v1.SnapshotService/ListSnapshots":                       Viewer,
	"/volctl.v1.SnapshotService/CreateSnapshot":                      Operator,
	"/volctl.v1.SnapshotService/DestroySnapshot":                     Operator,
	"/volctl.v1.RollbackService/PlanRollback":                        Viewer,
	"/volctl.v1.RollbackService/Rollback":                            Operator,
	"/volctl.v1.RollbackService/PlanUndo":                            Viewer,
	"/volctl.v1.RollbackService/Undo":                                Operator,
	"/volctl.v1.RollbackService/PlanForget":                          Viewer,
	"/volctl.v1.RollbackService/Forget":                              Operator,
	"/volctl.v1.RollbackService/ListKept":                            Viewer,
	"/volctl.v1.RollbackService/PlanRescue":                          Viewer,
	"/volctl.v1.RollbackService/Rescue":                              Operator,
	"/volctl.v1.OperationService/ListOperations":                     Viewer,
	"/volctl.v1.OperationService/GetOperation":                       Viewer,
	"/volctl.v1.OperationService/WatchOperation":                     Viewer,
	"/volctl.v1.OperationService/RecoverOperation":                   Operator,
	"/volctl.v1.OperationService/ResolveOperation":                   Operator,
	"/volctl.v1.OperationService/GetRequestStatus":                   Viewer,
	"/volctl.v1.AuditService/ListAudit":                              Viewer,
	"/volctl.v1.StatusService/GetStatus":                             Viewer,
	"/volctl.v1.ZoneService/FindZones":                               Peer,
	"/volctl.v1.BootService/CheckBoot":                               Viewer,
	"/volctl.v1.ZoneService/ZoneAction":                              Peer,
	"/grpc.health.v1.Health/Check":                                   None,
	"/grpc.health.v1.Health/Watch":                                   None,
	"/grpc.health.v1.Health/List":                                    None,
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      Viewer,
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": Viewer,
}

// Required returns the role a method needs.
func Required(method string) Role {
	if r, ok := methodRoles[method]; ok {
		return r
	}
	return Operator
}

// Allowed reports whether a caller with role may call a method that needs
// need: the ladder None < Viewer < Operator, with Peer apart (a peer may
// call the zone service only, and only a peer may call it).
func Allowed(role, need Role) bool {
	switch {
	case need == None:
		return true
	case need == Peer || role == Peer:
		return role == need
	}
	return role >= need
}

// Mutating reports whether a method changes anything (it is audited even
// when allowed). Every zone-service call is audited on the zone host.
func Mutating(method string) bool { r := Required(method); return r == Operator || r == Peer }

// ErrNoIdentity: the transport gave no identity.
var ErrNoIdentity = errors.New("caller has no identity")

// FromContext returns the caller of a gRPC call.
func FromContext(ctx context.Context) (Identity, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return Identity{}, ErrNoIdentity
	}
	return IdentityOf(p.AuthInfo)
}

// IdentityOf returns the caller a connection's handshake established.
func IdentityOf(info credentials.AuthInfo) (Identity, error) {
	switch ai := info.(type) {
	case PeerCred:
		return ai.Identity, nil
	case credentials.TLSInfo:
		if len(ai.State.VerifiedChains) == 0 || len(ai.State.VerifiedChains[0]) == 0 {
			return Identity{}, fmt.Errorf("%w: no verified client certificate", ErrNoIdentity)
		}
		cert := ai.State.VerifiedChains[0][0]
		return Identity{Transport: "tls", Subject: cert.Subject.String(), CN: cert.Subject.CommonName}, nil
	}
	return Identity{}, ErrNoIdentity
}

// PeerCred is the AuthInfo of a unix-socket connection.
type PeerCred struct {
	credentials.CommonAuthInfo
	Identity Identity
}

// AuthType implements credentials.AuthInfo.
func (PeerCred) AuthType() string { return "unix-peercred" }

// UnixCredentials reads the peer's credentials from the kernel at accept.
type UnixCredentials struct{}

// ServerHandshake implements credentials.TransportCredentials.
func (UnixCredentials) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	inner := conn
	for {
		w, ok := inner.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		inner = w.NetConn()
	}
	uc, ok := inner.(*net.UnixConn)
	if !ok {
		return nil, nil, fmt.Errorf("unix credentials on a %T", conn)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	var uid, gid int
	var cerr error
	if err := raw.Control(func(fd uintptr) { uid, gid, cerr = peerCred(fd) }); err != nil {
		return nil, nil, err
	}
	if cerr != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("read peer credentials: %w", cerr)
	}
	id := Identity{Transport: "unix", UID: uid, GID: gid}
	id.User, id.Groups = groupsOf(uid, gid)
	return conn, PeerCred{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}, Identity: id}, nil
}

// groupsOf returns the user name of uid and the name of gid, the peer's
// effective group as the kernel reported it. Only that group counts for
// operator_groups / viewer_groups: membership in /etc/group is not what the
// caller's process holds (a process may have dropped a group, and one that
// was given a group by the kernel may not be listed there), and the
// supplementary groups of a peer cannot be read race-free on every
// platform (Linux has only /proc/PID/status of a pid that may be reused).
// A member of a role's group calls with it as primary group (newgrp, sg).
func groupsOf(uid, gid int) (string, []string) {
	var name string
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		name = u.Username
	}
	group := strconv.Itoa(gid)
	if gr, err := user.LookupGroupId(group); err == nil {
		group = gr.Name
	}
	return name, []string{group}
}

// ClientHandshake implements credentials.TransportCredentials (unused).
func (UnixCredentials) ClientHandshake(_ context.Context, _ string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return conn, PeerCred{}, nil
}

// Info implements credentials.TransportCredentials.
func (UnixCredentials) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "unix-peercred"}
}

// Clone implements credentials.TransportCredentials.
func (UnixCredentials) Clone() credentials.TransportCredentials { return UnixCredentials{} }

// OverrideServerName implements credentials.TransportCredentials.
func (UnixCredentials) OverrideServerName(string) error { return nil }

// ServerTLS builds the mutual-TLS configuration for the TCP listener: the
// server's certificate, and client certificates required and verified
// against clientCA. The client side is client.TLSConfig.
func ServerTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	pool, err := certpool.FromFile("client CA", clientCAFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}, nil
}
