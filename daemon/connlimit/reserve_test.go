package connlimit

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeConn is an accepted connection that records its closing.
type fakeConn struct {
	net.Conn
	mu     sync.Mutex
	closed bool
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}

func (c *fakeConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// peerConn carries the peer the identify function reads.
type peerConn struct {
	fakeConn
	peer Peer
}

type harness struct {
	t *testing.T
	l *Listener
}

func newHarness(t *testing.T, lim Limits) *harness {
	p := NewPool(lim, nil)
	return &harness{t: t, l: p.Listen(nil, func(c net.Conn) (Peer, error) { return c.(*peerConn).peer, nil })}
}

// dial offers the listener a connection of peer: the connection it would
// hand gRPC, or nil when it refused (and closed) it.
func (h *harness) dial(peer Peer) (*Conn, *peerConn) {
	h.t.Helper()
	pc := &peerConn{peer: peer}
	c := h.l.take(pc)
	if c == nil && !pc.isClosed() {
		h.t.Fatalf("%+v: refused but not closed", peer)
	}
	return c, pc
}

// TestReserve: callers without a reserve are refused once Total-Reserved
// connections are open, whoever holds them; root, operators and peers
// still get the rest; the per-caller limit holds for everyone.
func TestReserve(t *testing.T) {
	h := newHarness(t, Limits{Total: 10, Reserved: 3, PerPeer: 4})
	root := Peer{Key: "uid:0", Privileged: true}
	var open []*Conn
	for _, key := range []string{"uid:1", "uid:1", "uid:1", "uid:1", "uid:2", "uid:2", "uid:2"} {
		c, _ := h.dial(Peer{Key: key})
		if c == nil {
			t.Fatalf("%s refused with %d open", key, len(open))
		}
		open = append(open, c)
	}
	if c, _ := h.dial(Peer{Key: "uid:1"}); c != nil {
		t.Error("uid:1's 5th connection kept (per-peer limit 4)")
	}
	if c, _ := h.dial(Peer{Key: "uid:2"}); c != nil {
		t.Error("uid:2's 4th connection kept: 7 = 10 - 3 are open, the rest is reserved")
	}
	if c, _ := h.dial(Peer{Key: "uid:3"}); c != nil {
		t.Error("uid:3 got a reserved place")
	}
	for i := 0; i < 3; i++ {
		if c, _ := h.dial(root); c == nil {
			t.Fatalf("root's connection %d refused with the reserve free", i+1)
		}
	}
	if total, mine := h.l.Counts("uid:0"); total != 10 || mine != 3 {
		t.Errorf("counts %d/%d, want 10/3", total, mine)
	}
	if c, _ := h.dial(Peer{Key: "uid:5", Privileged: true}); c != nil {
		t.Error("an operator got an 11th connection (total 10)")
	}
	// A connection that ends frees its place once, and while the reserve
	// is in use only a privileged caller may take it.
	open[0].Close()
	open[0].Close()
	if c, _ := h.dial(Peer{Key: "uid:4"}); c != nil {
		t.Error("uid:4 got a place while 9 of 10 are open and 3 are reserved")
	}
	if c, _ := h.dial(root); c == nil {
		t.Error("root refused after a connection ended")
	}
	if total, mine := h.l.Counts("uid:0"); total != 10 || mine != 4 {
		t.Errorf("counts %d/%d, want 10/4", total, mine)
	}
	if c, _ := h.dial(root); c != nil {
		t.Error("root's 5th connection kept (per-peer limit 4)")
	}
}

// TestUnauthenticated: TCP connections not yet authenticated have a pool
// of their own (never the identified one) and a share per address; when
// it is full a new one evicts the oldest that has waited evictAfter, and
// is refused while all are younger; Authenticated moves a connection to
// the identified pool as its caller, where the reserve holds.
func TestUnauthenticated(t *testing.T) {
	h := newHarness(t, Limits{Total: 4, Reserved: 2, PerPeer: 4, Unauthenticated: 4, UnauthenticatedPerAddress: 2})
	p := h.l.Pool()
	p.limits.EvictAfter = time.Hour
	unauth := func(addr string) Peer { return Peer{Key: addr, Unauthenticated: true} }
	// Two no-role callers hold the shared part of the identified pool.
	for _, key := range []string{"uid:1", "uid:2"} {
		if c, _ := h.dial(Peer{Key: key}); c == nil {
			t.Fatalf("%s refused", key)
		}
	}
	var pending []*peerConn
	var conns []*Conn
	for _, addr := range []string{"ip:a", "ip:a", "ip:b", "ip:b"} {
		c, pc := h.dial(unauth(addr))
		if c == nil {
			t.Fatalf("unauthenticated %s refused with the identified pool full: it must not count there", addr)
		}
		pending, conns = append(pending, pc), append(conns, c)
	}
	if c, _ := h.dial(unauth("ip:a")); c != nil {
		t.Error("a 3rd pending connection from ip:a kept (2 per address)")
	}
	if c, _ := h.dial(unauth("ip:c")); c != nil {
		t.Error("a 5th pending connection kept while every pending one is younger than evictAfter")
	}
	// Once they have waited long enough, the oldest makes room.
	p.limits.EvictAfter = 0
	c, _ := h.dial(unauth("ip:c"))
	if c == nil {
		t.Fatal("ip:c refused: the oldest pending handshake should have been evicted")
	}
	if !pending[0].isClosed() {
		t.Error("the oldest pending connection was not closed")
	}
	if total, a := p.Unauthenticated("ip:a"); total != 4 || a != 1 {
		t.Errorf("unauthenticated %d, from ip:a %d; want 4, 1", total, a)
	}
	if err := conns[0].Authenticated("cert:CN=x", false); !errors.Is(err, ErrLimit) {
		t.Errorf("an evicted connection authenticated: %v", err)
	}
	// A no-role certificate finds the shared part full; a peer's gets the
	// reserve; both leave the unauthenticated pool.
	if err := conns[1].Authenticated("cert:CN=nobody", false); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "reserve") {
		t.Errorf("no-role certificate: %v, want ErrLimit (the shared part is full)", err)
	}
	if err := conns[2].Authenticated("cert:CN=storage-1", true); err != nil {
		t.Errorf("peer: %v", err)
	}
	if err := conns[2].Authenticated("cert:CN=storage-1", true); err != nil {
		t.Errorf("peer, again: %v", err)
	}
	if total, peer := p.Counts("cert:CN=storage-1"); total != 3 || peer != 1 {
		t.Errorf("identified %d, of the peer %d; want 3, 1", total, peer)
	}
	if total, b := p.Unauthenticated("ip:b"); total != 2 || b != 1 {
		t.Errorf("unauthenticated %d, from ip:b %d; want 2, 1", total, b)
	}
	conns[2].Close()
	conns[1].Close()
	if total, _ := p.Counts(""); total != 2 {
		t.Errorf("identified %d after the peer left, want 2", total)
	}
	if total, _ := p.Unauthenticated(""); total != 2 {
		t.Errorf("unauthenticated %d, want 2", total)
	}
}
