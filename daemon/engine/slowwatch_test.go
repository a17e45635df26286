package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// noisyBackend's one step waits for start, then streams notes notes, in
// bursts of 100 (a burst is far smaller than a subscriber's backlog: a
// reader that keeps up is never dropped).
type noisyBackend struct {
	*fakeBackend
	notes int
	start chan struct{}
}

func (b *noisyBackend) Steps(*store.Operation) []Step {
	return []Step{{Name: "noise", Description: "notes", Do: func(ctx context.Context, x *Exec) error {
		<-b.start
		for i := 0; i < b.notes; i++ {
			x.Note("note %d", i)
			if i%100 == 99 {
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	}}}
}

// TestSlowWatcherDropped: a watcher whose client does not read (its emit
// blocks) is dropped once it falls subscriberBacklog events behind, with
// ErrFellBehind, instead of losing events silently or holding them all;
// the saga never waits for it; the caller and a watcher that keeps up
// see every event.
func TestSlowWatcherDropped(t *testing.T) {
	const notes = 3000
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &noisyBackend{fakeBackend: newFake(nil, newWorld()), notes: notes, start: make(chan struct{})}
	e := New(ctx, db, b, Config{}, nil)
	t.Cleanup(func() { cancel(); e.Wait(); db.Close() })

	callerCh := make(chan watched, 1)
	go func() {
		var c watched
		c.op, c.err = e.Rollback(context.Background(), Request{Snapshot: "pool/vol@snap"}, func(ev Event) { c.events = append(c.events, ev) })
		callerCh <- c
	}()
	waitSubscribers(t, e, 1)
	stuck := make(chan struct{})
	slowCh := make(chan watched, 1)
	go func() {
		var w watched
		w.op, w.err = e.Watch(context.Background(), 1, func(ev Event) {
			<-stuck // a client that does not read
			w.events = append(w.events, ev)
		})
		slowCh <- w
	}()
	fastCh := watchAsync(e, 1)
	waitSubscribers(t, e, 3)
	close(b.start)
	var caller watched
	select {
	case caller = <-callerCh:
	case <-time.After(30 * time.Second):
		t.Fatal("the rollback waited for a watcher that does not read")
	}
	if caller.err != nil || caller.op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v %v", caller.op, caller.err)
	}
	close(stuck)
	slow, fast := <-slowCh, <-fastCh
	count := func(evs []Event) int {
		n := 0
		for _, ev := range evs {
			if strings.HasPrefix(ev.Message, "note ") {
				n++
			}
		}
		return n
	}
	if n := count(caller.events); n != notes {
		t.Errorf("the caller saw %d notes, want %d", n, notes)
	}
	if fast.err != nil || count(fast.events) != notes {
		t.Errorf("the watcher that keeps up: %v, %d notes, want %d", fast.err, count(fast.events), notes)
	}
	if slow.err == nil && count(slow.events) != notes {
		t.Errorf("the stuck watcher ended without an error, having lost %d of %d notes", notes-count(slow.events), notes)
	}
	if !errors.Is(slow.err, ErrFellBehind) || slow.op != nil {
		t.Errorf("the stuck watcher ended with %v, want ErrFellBehind", slow.err)
	}
	// What it had before it was dropped is at most its backlog.
	if n := count(slow.events); n > subscriberBacklog {
		t.Errorf("the stuck watcher got %d notes, more than its backlog of %d", n, subscriberBacklog)
	}
	t.Logf("stuck watcher: %d events, then %v", len(slow.events), slow.err)
}
