package connlimit

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestLimits: past a peer's share its connections are closed at accept;
// other peers still get in; a closed connection frees its place.
func TestLimits(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The peer is named by the client's first byte: 'a' or 'b'.
	key := func(c net.Conn) (string, error) {
		b := make([]byte, 1)
		if _, err := c.Read(b); err != nil {
			return "", err
		}
		return string(b), nil
	}
	l := New(inner, 5, 3, key, nil)
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func(peer string) net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(peer)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	closedByServer := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return err != nil && !strings.Contains(err.Error(), "timeout")
	}
	var served []net.Conn
	for i := 0; i < 3; i++ {
		dial("a")
		served = append(served, <-accepted)
	}
	if c := dial("a"); !closedByServer(c) {
		t.Error("a 4th connection of peer a was kept (limit 3 per peer)")
	}
	for i := 0; i < 2; i++ {
		dial("b")
		<-accepted
	}
	if c := dial("b"); !closedByServer(c) {
		t.Error("a 6th connection in all was kept (limit 5)")
	}
	if total, a := l.Counts("a"); total != 5 || a != 3 {
		t.Errorf("counts %d/%d, want 5/3", total, a)
	}
	// A connection that ends frees its place, once.
	served[0].Close()
	served[0].Close()
	if total, a := l.Counts("a"); total != 4 || a != 2 {
		t.Errorf("after a close: counts %d/%d, want 4/2", total, a)
	}
	dial("a")
	select {
	case <-accepted:
	case <-time.After(2 * time.Second):
		t.Error("peer a was not let in again after one of its connections ended")
	}
}
