// Package connlimit bounds the connections the listeners hand to the gRPC
// server, so that no caller, with or without a role, can exhaust the
// descriptors a running rollback needs for its commands, and so that the
// callers who must always get in (root, operators, the storage hosts that
// are this host's peers) are never locked out by the others.
//
// One Pool counts the connections of every listener:
//
//   - identified connections (a unix socket's uid, known at accept from the
//     kernel; a TCP client's certificate subject, known after the TLS
//     handshake): at most Total, of which the last Reserved only privileged
//     callers may take; at most PerPeer of one caller;
//   - TCP connections not yet authenticated (before and during the TLS
//     handshake): a pool of their own, Unauthenticated in all and
//     UnauthenticatedPerAddress per source address, that never takes from
//     the identified ones. When it is full, a new connection evicts the
//     oldest pending handshake if that one has waited EvictAfter (a peer
//     finishes its handshake in milliseconds; what waits longest is what
//     never will), and is refused otherwise.
//
// A connection past a limit is closed at once and never reaches gRPC
// (at accept), or fails its handshake (after TLS). See
// docs/platform/connections.md for how gRPC's handshake deadline and
// credentials fit in.
package connlimit

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Limits are the bounds of a Pool; 0 means no bound (Reserved: none).
type Limits struct {
	// Total bounds the identified connections open at once, over every
	// listener of the pool.
	Total int
	// Reserved is the part of Total only privileged callers may use: the
	// others are refused once Total-Reserved are open.
	Reserved int
	// PerPeer bounds the identified connections of one caller.
	PerPeer int
	// Unauthenticated bounds the connections whose caller is not known
	// yet (TCP before its TLS handshake ends), UnauthenticatedPerAddress
	// those of one source address.
	Unauthenticated           int
	UnauthenticatedPerAddress int
	// EvictAfter is how long a pending handshake waits before a new
	// connection may evict it when the unauthenticated pool is full: a
	// caller that is not flooding finishes its handshake well within it,
	// so a flood evicts its own connections, never theirs.
	EvictAfter time.Duration
}

// Peer is what is known of a connection's caller at accept.
type Peer struct {
	// Key names the caller for PerPeer ("uid:1001"); for an
	// unauthenticated connection, its source ("ip:192.0.2.7").
	Key string
	// Privileged callers may use the reserve.
	Privileged bool
	// Unauthenticated: the caller is known only once Conn.Authenticated
	// is called (after the TLS handshake).
	Unauthenticated bool
}

// IdentifyFunc says who is on an accepted connection. An error closes it.
type IdentifyFunc func(net.Conn) (Peer, error)

// ErrLimit is a refusal: the connection is over a limit.
var ErrLimit = errors.New("connection limit reached")

// Pool is the connection counts of one daemon, shared by its listeners.
type Pool struct {
	limits Limits
	log    hclog.Logger

	mu       sync.Mutex
	total    int
	perPeer  map[string]int
	unauth   int
	perAddr  map[string]int
	pending  []*Conn // unauthenticated, oldest first
	lastWarn time.Time
	refused  int
}

// NewPool makes a pool with the limits; a nil log discards.
func NewPool(l Limits, log hclog.Logger) *Pool {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if l.Reserved < 0 || (l.Total > 0 && l.Reserved >= l.Total) {
		// Validated in the configuration; never leave nothing to share.
		l.Reserved = 0
	}
	return &Pool{limits: l, log: log, perPeer: map[string]int{}, perAddr: map[string]int{}}
}

// Limits returns the pool's limits.
func (p *Pool) Limits() Limits { return p.limits }

// Listener wraps a net.Listener with a pool's limits.
type Listener struct {
	net.Listener
	pool     *Pool
	identify IdentifyFunc
}

// Listen wraps l: its connections count in p, identified by identify.
func (p *Pool) Listen(l net.Listener, identify IdentifyFunc) *Listener {
	return &Listener{Listener: l, pool: p, identify: identify}
}

// KeyFunc names the peer of an accepted connection ("uid:1001",
// "ip:192.0.2.7"). An error closes the connection.
type KeyFunc func(net.Conn) (string, error)

// New wraps l with a pool of its own: maxTotal connections in all,
// maxPerPeer of one key, no reserve.
func New(l net.Listener, maxTotal, maxPerPeer int, key KeyFunc, log hclog.Logger) *Listener {
	p := NewPool(Limits{Total: maxTotal, PerPeer: maxPerPeer}, log)
	return p.Listen(l, func(c net.Conn) (Peer, error) {
		k, err := key(c)
		return Peer{Key: k}, err
	})
}

// Pool returns the listener's pool.
func (l *Listener) Pool() *Pool { return l.pool }

// Accept returns the next connection within the limits; those over them
// are closed at once and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if conn := l.take(c); conn != nil {
			return conn, nil
		}
	}
}

// take counts an accepted connection, or closes it (nil) when it is over
// a limit or its peer cannot be told.
func (l *Listener) take(c net.Conn) *Conn {
	peer, err := l.identify(c)
	if err != nil {
		c.Close()
		l.pool.refuse("?", "cannot identify the peer: "+err.Error())
		return nil
	}
	conn := &Conn{Conn: c, pool: l.pool}
	var why string
	if peer.Unauthenticated {
		why = l.pool.admitUnauthenticated(conn, peer.Key)
	} else {
		why = l.pool.admit(conn, peer.Key, peer.Privileged)
	}
	if why != "" {
		c.Close()
		l.pool.refuse(peer.Key, why)
		return nil
	}
	return conn
}

// admit counts c as identified (key), or says why not. Called with p.mu
// not held.
func (p *Pool) admit(c *Conn, key string, privileged bool) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.admitLocked(c, key, privileged)
}

func (p *Pool) admitLocked(c *Conn, key string, privileged bool) string {
	limit := p.limits.Total
	if !privileged {
		limit -= p.limits.Reserved
	}
	switch {
	case p.limits.Total > 0 && p.total >= limit && !privileged:
		return fmt.Sprintf("the daemon's connection limit for callers without a reserve is reached (%d open; %d more are kept for root, operators and peers)",
			p.total, p.limits.Total-limit)
	case p.limits.Total > 0 && p.total >= limit:
		return fmt.Sprintf("the daemon's connection limit is reached (%d open)", p.total)
	case p.limits.PerPeer > 0 && p.perPeer[key] >= p.limits.PerPeer:
		return fmt.Sprintf("this peer's connection limit is reached (%d open)", p.perPeer[key])
	}
	p.total++
	p.perPeer[key]++
	c.key, c.state = key, identified
	return ""
}

// admitUnauthenticated counts c as a pending handshake from addr, making
// room by evicting the oldest pending one when the pool is full.
func (p *Pool) admitUnauthenticated(c *Conn, addr string) string {
	p.mu.Lock()
	if n := p.limits.UnauthenticatedPerAddress; n > 0 && p.perAddr[addr] >= n {
		p.mu.Unlock()
		return fmt.Sprintf("this address's limit of connections not yet authenticated is reached (%d)", n)
	}
	var evicted *Conn
	if n := p.limits.Unauthenticated; n > 0 && p.unauth >= n {
		if oldest := p.pending[0]; time.Since(oldest.since) >= p.limits.EvictAfter {
			evicted = oldest
			p.releaseLocked(evicted)
		} else {
			p.mu.Unlock()
			return fmt.Sprintf("the pool of connections not yet authenticated is full (%d), and the oldest has waited only %s",
				n, time.Since(oldest.since).Round(time.Millisecond))
		}
	}
	p.unauth++
	p.perAddr[addr]++
	c.key, c.state = addr, unauthenticated
	c.since = time.Now()
	p.pending = append(p.pending, c)
	p.mu.Unlock()
	if evicted != nil {
		evicted.Conn.Close()
		p.refuse(evicted.key, fmt.Sprintf("evicted: its handshake was the oldest pending (%s) when the pool of unauthenticated connections was full",
			time.Since(evicted.since).Round(time.Millisecond)))
	}
	return ""
}

// releaseLocked takes c out of the counts (once).
func (p *Pool) releaseLocked(c *Conn) {
	switch c.state {
	case identified:
		p.total--
		if p.perPeer[c.key]--; p.perPeer[c.key] <= 0 {
			delete(p.perPeer, c.key)
		}
	case unauthenticated:
		p.unauth--
		if p.perAddr[c.key]--; p.perAddr[c.key] <= 0 {
			delete(p.perAddr, c.key)
		}
		for i, pc := range p.pending {
			if pc == c {
				p.pending = append(p.pending[:i], p.pending[i+1:]...)
				break
			}
		}
	}
	c.state = released
}

// refuse logs refusals at most once a second, with a count.
func (p *Pool) refuse(key, why string) {
	p.mu.Lock()
	p.refused++
	now := time.Now()
	if now.Sub(p.lastWarn) < time.Second {
		p.mu.Unlock()
		return
	}
	n := p.refused
	p.refused, p.lastWarn = 0, now
	p.mu.Unlock()
	p.log.Warn("connection refused", "peer", key, "why", why, "refused_since_last_warning", n)
}

// Counts returns the identified connections open in total and of one peer.
func (l *Listener) Counts(key string) (total, peer int) { return l.pool.Counts(key) }

// Counts returns the identified connections open in total and of one peer.
func (p *Pool) Counts(key string) (total, peer int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total, p.perPeer[key]
}

// Unauthenticated returns the connections not yet authenticated, in total
// and from one address.
func (p *Pool) Unauthenticated(addr string) (total, fromAddr int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unauth, p.perAddr[addr]
}

type connState int

const (
	identified connState = iota + 1
	unauthenticated
	released
)

// Conn is an accepted connection, counted in its pool until it is closed.
type Conn struct {
	net.Conn
	pool *Pool
	// Under pool.mu:
	key   string
	state connState
	since time.Time
}

// NetConn is the accepted connection (as tls.Conn has it), for code that
// needs its descriptor: the peer's credentials.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// Authenticated moves an unauthenticated connection to the identified
// ones, as caller key: it leaves its pending handshake's place and takes
// one of Total (privileged: the reserve too) and of the caller's PerPeer.
// It returns ErrLimit when those are full (the caller closes the
// connection), and an error when the connection was evicted or closed
// meanwhile. On an identified connection it does nothing.
func (c *Conn) Authenticated(key string, privileged bool) error {
	p := c.pool
	p.mu.Lock()
	switch c.state {
	case identified:
		p.mu.Unlock()
		return nil
	case released:
		p.mu.Unlock()
		return fmt.Errorf("%w: the connection was evicted or closed during its handshake", ErrLimit)
	}
	addr := c.key
	p.releaseLocked(c)
	why := p.admitLocked(c, key, privileged)
	p.mu.Unlock()
	if why != "" {
		p.refuse(key+" from "+addr, why)
		return fmt.Errorf("%w: %s", ErrLimit, why)
	}
	return nil
}

// Close closes the connection and frees its place, once.
func (c *Conn) Close() error {
	err := c.Conn.Close()
	c.pool.mu.Lock()
	c.pool.releaseLocked(c)
	c.pool.mu.Unlock()
	return err
}
