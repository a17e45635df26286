// Package connlimit bounds the connections a listener hands to the gRPC
// server: in total and per peer (a unix socket's uid, a TCP client's
// address). A peer past its share is closed at accept, before it holds a
// goroutine, a buffer or a file descriptor for long, so that no caller, with
// or without a role, can exhaust the descriptors a running rollback needs
// for its commands.
package connlimit

import (
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// KeyFunc names the peer of an accepted connection ("uid:1001",
// "ip:192.0.2.7"). An error closes the connection.
type KeyFunc func(net.Conn) (string, error)

// Listener wraps a net.Listener with the limits.
type Listener struct {
	net.Listener
	MaxTotal   int
	MaxPerPeer int
	Key        KeyFunc
	Log        hclog.Logger

	mu       sync.Mutex
	total    int
	perPeer  map[string]int
	lastWarn time.Time
	refused  int
}

// New wraps l.
func New(l net.Listener, maxTotal, maxPerPeer int, key KeyFunc, log hclog.Logger) *Listener {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Listener{Listener: l, MaxTotal: maxTotal, MaxPerPeer: maxPerPeer, Key: key, Log: log, perPeer: map[string]int{}}
}

// Accept returns the next connection within the limits; those over them
// are closed at once and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, err := l.Key(c)
		if err != nil {
			c.Close()
			l.refuse("?", "cannot identify the peer: "+err.Error())
			continue
		}
		l.mu.Lock()
		switch {
		case l.MaxTotal > 0 && l.total >= l.MaxTotal:
			l.mu.Unlock()
			c.Close()
			l.refuse(key, "the daemon's connection limit is reached")
			continue
		case l.MaxPerPeer > 0 && l.perPeer[key] >= l.MaxPerPeer:
			l.mu.Unlock()
			c.Close()
			l.refuse(key, "this peer's connection limit is reached")
			continue
		}
		l.total++
		l.perPeer[key]++
		l.mu.Unlock()
		return &conn{Conn: c, l: l, key: key}, nil
	}
}

// refuse logs refusals at most once a second, with a count.
func (l *Listener) refuse(key, why string) {
	l.mu.Lock()
	l.refused++
	now := time.Now()
	if now.Sub(l.lastWarn) < time.Second {
		l.mu.Unlock()
		return
	}
	n := l.refused
	l.refused, l.lastWarn = 0, now
	l.mu.Unlock()
	l.Log.Warn("connection refused", "peer", key, "why", why, "refused_since_last_warning", n)
}

// Counts returns the open connections in total and of one peer.
func (l *Listener) Counts(key string) (total, peer int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.perPeer[key]
}

type conn struct {
	net.Conn
	l    *Listener
	key  string
	once sync.Once
}

// NetConn is the accepted connection (as tls.Conn has it), for code that
// needs its descriptor: the peer's credentials.
func (c *conn) NetConn() net.Conn { return c.Conn }

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.total--
		if c.l.perPeer[c.key]--; c.l.perPeer[c.key] <= 0 {
			delete(c.l.perPeer, c.key)
		}
		c.l.mu.Unlock()
	})
	return err
}
