package connlimit

import (
	"net"

	"google.golang.org/grpc/credentials"
)

// Credentials wraps a listener's transport credentials (TLS): once the
// handshake has told who the caller is, the connection moves from the
// unauthenticated pool to the identified one (Conn.Authenticated), as
// Identify names and classes the caller. A connection that does not fit
// there fails its handshake, so gRPC closes it before it serves anything.
//
// gRPC hands ServerHandshake the connection the Listener returned (see
// docs/platform/connections.md); a connection of another kind (a listener
// without limits) is passed through.
type Credentials struct {
	credentials.TransportCredentials
	// Identify names the caller of a finished handshake: its key for
	// PerPeer ("cert:CN=..."), and whether it may use the reserve.
	Identify func(credentials.AuthInfo) (key string, privileged bool, err error)
}

// ServerHandshake implements credentials.TransportCredentials.
func (c Credentials) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		return nil, nil, err
	}
	lc, ok := raw.(*Conn)
	if !ok {
		return conn, info, nil
	}
	key, privileged, err := c.Identify(info)
	if err == nil {
		err = lc.Authenticated(key, privileged)
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, info, nil
}

// Clone implements credentials.TransportCredentials.
func (c Credentials) Clone() credentials.TransportCredentials {
	return Credentials{TransportCredentials: c.TransportCredentials.Clone(), Identify: c.Identify}
}
