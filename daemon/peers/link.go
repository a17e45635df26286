package peers

import (
	"sync"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// link is the storage host's connection to one peer, replaced by a new one
// when a call finds it in TRANSIENT_FAILURE.
//
// gRPC keeps a channel that failed to connect in TRANSIENT_FAILURE until it
// is READY again, while it retries in the background after its backoff, and
// a call in that state fails at once with the last connection error, even
// when the peer serves again by then (docs/platform/peer-connections.md §2).
// So a zone host whose volctld was restarted a moment ago was refused until
// a retry after the backoff (up to 2 s) connected. A new channel makes one connection attempt for the
// call, and the call waits for it (within its own deadline) as a first call
// does (§1): a peer that serves is used, one that refuses the connection or
// the handshake is refused at once, with what it said, as before.
type link struct {
	name string
	log  hclog.Logger
	dial func() (*grpc.ClientConn, error)

	mu     sync.Mutex
	cur    *channel
	old    map[*channel]bool // replaced, still in use by a call
	closed bool
}

// channel is one gRPC channel to the peer and the calls that use it; one
// that a newer one replaced is closed when its last call ends, so no call
// is cancelled by the replacement.
type channel struct {
	conn    *grpc.ClientConn
	zs      v1.ZoneServiceClient
	calls   int  // guarded by link.mu
	retired bool // replaced by a newer one; guarded by link.mu
}

func newLink(name string, log hclog.Logger, dial func() (*grpc.ClientConn, error)) (*link, error) {
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	return &link{name: name, log: log, dial: dial, cur: &channel{conn: conn, zs: v1.NewZoneServiceClient(conn)},
		old: map[*channel]bool{}}, nil
}

// use returns the zone service client for one call and the function that
// ends the call. A channel in TRANSIENT_FAILURE is replaced first, so the
// call makes a connection attempt of its own instead of failing with the
// error of one made before.
func (l *link) use() (v1.ZoneServiceClient, func()) {
	l.mu.Lock()
	var stale *grpc.ClientConn
	if !l.closed && l.cur.conn.GetState() == connectivity.TransientFailure {
		conn, err := l.dial()
		if err != nil {
			// Only options or the address could fail here, and they did
			// not when the link was made: keep the channel there is.
			l.log.Warn("peer connection failed; a new one could not be made", "peer", l.name, "error", err)
		} else {
			l.log.Debug("peer connection failed before; connecting again for this call", "peer", l.name)
			old := l.cur
			old.retired = true
			if old.calls == 0 {
				stale = old.conn
			} else {
				l.old[old] = true
			}
			l.cur = &channel{conn: conn, zs: v1.NewZoneServiceClient(conn)}
		}
	}
	c := l.cur
	c.calls++
	l.mu.Unlock()
	if stale != nil {
		_ = stale.Close()
	}
	var once sync.Once
	return c.zs, func() { once.Do(func() { l.release(c) }) }
}

// release ends a call on c and closes c if it was replaced and this was
// its last call.
func (l *link) release(c *channel) {
	l.mu.Lock()
	c.calls--
	last := c.retired && c.calls == 0 && l.old[c]
	if last {
		delete(l.old, c)
	}
	l.mu.Unlock()
	if last {
		_ = c.conn.Close()
	}
}

// close closes every channel at once, as a ClientConn's Close does: calls
// still running on them end with Canceled.
func (l *link) close() {
	l.mu.Lock()
	conns := []*grpc.ClientConn{l.cur.conn}
	if l.closed {
		conns = nil
	}
	l.closed = true
	for c := range l.old {
		conns = append(conns, c.conn)
		delete(l.old, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}
