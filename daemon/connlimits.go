package daemon

import (
	"fmt"
	"net"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/credentials"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/daemon/connlimit"
)

// connPool is the connection limits of both listeners (connlimit): the
// identified connections and the TCP ones not yet authenticated together
// fit the descriptor limit, less fdReserve (connectionLimit); when they
// must shrink to fit, each keeps its share, and the reserve at most a
// quarter of what is left.
func connPool(cfg config.Config, log hclog.Logger) *connlimit.Pool {
	l := connlimit.Limits{Total: cfg.MaxConnections, Reserved: cfg.ReservedConnections, PerPeer: cfg.MaxConnectionsPerPeer}
	if cfg.TCP.Listen != "" {
		l.Unauthenticated, l.UnauthenticatedPerAddress = cfg.MaxUnauthenticated, cfg.MaxUnauthenticatedPerAddress
		// A quarter of the handshake's deadline: far more than a peer's
		// handshake takes, so only a flood's own connections are evicted.
		l.EvictAfter = cfg.HandshakeTimeout.Duration / 4
	}
	want := l.Total + l.Unauthenticated
	if fit := connectionLimit(want, log); fit < want && want > 0 {
		l.Unauthenticated = l.Unauthenticated * fit / want
		l.Total = fit - l.Unauthenticated
		if l.Reserved > l.Total/4 {
			l.Reserved = l.Total / 4
		}
		log.Warn("connection limits lowered to fit the file descriptor limit", "max_connections", l.Total,
			"reserved_connections", l.Reserved, "max_unauthenticated", l.Unauthenticated)
	}
	return connlimit.NewPool(l, log)
}

// unixPeer identifies a unix-socket connection at accept: its uid from
// the kernel, privileged (may use the reserve) for root and operators.
func unixPeer(pol auth.Policy) connlimit.IdentifyFunc {
	return func(c net.Conn) (connlimit.Peer, error) {
		id, err := auth.UnixPeer(c)
		if err != nil {
			return connlimit.Peer{}, err
		}
		return connlimit.Peer{Key: id.LimitKey(), Privileged: pol.Reserved(id)}, nil
	}
}

// tcpPeer: a TCP connection is known by its source address until its TLS
// handshake names the caller (tlsIdentify).
func tcpPeer(c net.Conn) (connlimit.Peer, error) {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return connlimit.Peer{}, err
	}
	return connlimit.Peer{Key: "ip:" + host, Unauthenticated: true}, nil
}

// tlsIdentify names the caller of a finished TLS handshake by its
// certificate subject; operators and peers may use the reserve.
func tlsIdentify(pol auth.Policy) func(credentials.AuthInfo) (string, bool, error) {
	return func(info credentials.AuthInfo) (string, bool, error) {
		id, err := auth.IdentityOf(info)
		if err != nil {
			return "", false, fmt.Errorf("tls: %w", err)
		}
		return id.LimitKey(), pol.Reserved(id), nil
	}
}

// limitedTLS is the TCP listener's credentials: mutual TLS, then the
// connection limits of the caller it names.
func limitedTLS(tls credentials.TransportCredentials, pol auth.Policy) credentials.TransportCredentials {
	return connlimit.Credentials{TransportCredentials: tls, Identify: tlsIdentify(pol)}
}
