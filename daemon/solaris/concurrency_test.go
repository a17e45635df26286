package solaris_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// startSlow starts a rollback of snap on a host whose commands take 30ms,
// and returns once it holds its locks (its plan event arrived).
func startSlow(t *testing.T, e *engine.Engine, snap string) (done chan error, op chan *store.Operation) {
	t.Helper()
	done, op, planned := startWith(e, snap, store.Options{})
	<-planned
	return done, op
}

// startWith starts a rollback and returns at once; planned closes when its
// plan is out (or it failed).
func startWith(e *engine.Engine, snap string, opts store.Options) (done chan error, op chan *store.Operation, planned chan struct{}) {
	done, op = make(chan error, 1), make(chan *store.Operation, 1)
	planned = make(chan struct{})
	var once sync.Once
	go func() {
		o, err := e.Rollback(context.Background(), engine.Request{Snapshot: snap, Options: opts}, func(ev engine.Event) {
			if ev.Plan != nil {
				once.Do(func() { close(planned) })
			}
		})
		once.Do(func() { close(planned) })
		op <- o
		done <- err
	}()
	return done, op, planned
}

func TestSecondRollbackOfOneVolumeIsAborted(t *testing.T) {
	simtest.ForFlavors(t, testSecondRollbackOfOneVolumeIsAborted)
}

func testSecondRollbackOfOneVolumeIsAborted(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	if err := sim.SetLatency(root, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{})
	done, first := startSlow(t, e, "pool/idisk0@snap1")
	_, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{})
	var busy *engine.BusyError
	if !errors.As(err, &busy) || !errors.Is(err, engine.ErrBusy) {
		t.Fatalf("second rollback: err = %v, want a BusyError", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("first rollback: %v", err)
	}
	op := <-first
	if busy.Holder != op.ID || !strings.Contains(err.Error(), "operation 1") {
		t.Errorf("busy error names holder %d (%v), want operation %d", busy.Holder, err, op.ID)
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}

func TestSecondRollbackWaits(t *testing.T) { simtest.ForFlavors(t, testSecondRollbackWaits) }

func testSecondRollbackWaits(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	if err := sim.SetLatency(root, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{})
	done, _ := startSlow(t, e, "pool/idisk0@snap1")
	op, err := e.Rollback(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1", Wait: true}, func(engine.Event) {})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("waiting rollback: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if op.ID != 2 {
		t.Errorf("waiting rollback is operation %d, want 2", op.ID)
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}

func TestTwoVolumesRollBackInParallel(t *testing.T) {
	simtest.ForFlavors(t, testTwoVolumesRollBackInParallel)
}

func testTwoVolumesRollBackInParallel(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	if err := sim.SetLatency(root, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{})
	// Both at once: their captures run side by side, then their sagas.
	// idisk1 has no zone, so this host's session on tgt-a (which exposes
	// it) is a consumer volctl does not know of.
	done0, op0, _ := startWith(e, "pool/idisk0@snap1", store.Options{})
	done1, op1, _ := startWith(e, "pool/idisk1@base", store.Options{AcceptSessions: true})
	if err := <-done0; err != nil {
		t.Fatal(err)
	}
	if err := <-done1; err != nil {
		t.Fatal(err)
	}
	a, b := <-op0, <-op1
	// They overlapped: each started before the other ended.
	if !(a.Created.Before(b.Updated) && b.Created.Before(a.Updated)) {
		t.Errorf("operations did not overlap: %v-%v and %v-%v", a.Created, a.Updated, b.Created, b.Updated)
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}

func TestRequestIDReturnsTheSameOperation(t *testing.T) {
	simtest.ForFlavors(t, testRequestIDReturnsTheSameOperation)
}

func testRequestIDReturnsTheSameOperation(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	e, db := newEngine(t, root, engine.Config{})
	req := engine.Request{Snapshot: "pool/idisk0@snap1", RequestID: "req-1"}
	first, err := e.Rollback(context.Background(), req, func(engine.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	calls, _ := sim.Calls(root)
	second, err := e.Rollback(context.Background(), req, func(engine.Event) {})
	if err != nil || second.ID != first.ID || second.State != store.OpSucceeded {
		t.Fatalf("repeat: %v, op %d, want %d", err, second.ID, first.ID)
	}
	after, _ := sim.Calls(root)
	if len(after) != len(calls) {
		t.Errorf("the repeated request ran %d commands", len(after)-len(calls))
	}
	if ops, _ := db.ListOperations(0, nil); len(ops) != 1 {
		t.Errorf("%d operations journaled, want 1", len(ops))
	}
}
