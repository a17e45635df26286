package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// What callers see when they go away, ask after a request id, or wait
// (issue 21).

// TestCallerLeavesAfterStart: a caller that goes away once the operation
// runs gets a *LeftError naming it (it used to be the bare context error,
// and the audit record named no operation), and AfterEnd gives the
// operation's result before a watcher sees its end.
func TestCallerLeavesAfterStart(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	r.fake.fault("rollback").freezeDo = 2
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.e.Rollback(ctx, Request{Snapshot: "pool/vol@snap", RequestID: "gone"}, func(Event) {})
		done <- err
	}()
	<-r.fake.frozen
	cancel()
	err := <-done
	var left *LeftError
	if !errors.As(err, &left) || left.Op != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that left got %v, want a LeftError naming operation 1 that is context.Canceled", err)
	}
	var mu sync.Mutex
	var got *store.Operation
	r.e.AfterEnd(1, func(op *store.Operation) { mu.Lock(); got = op; mu.Unlock() })
	r.fake.thaw()
	final, err := r.e.Watch(context.Background(), 1, func(Event) {})
	if err != nil || final.State != store.OpSucceeded {
		t.Fatalf("watch: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got == nil || got.State != store.OpSucceeded {
		t.Fatalf("AfterEnd gave %v before the end was seen, want the operation succeeded", got)
	}
	// After the end: at once, as journaled.
	var again *store.Operation
	r.e.AfterEnd(1, func(op *store.Operation) { again = op })
	if again == nil || again.State != store.OpSucceeded {
		t.Errorf("AfterEnd of an ended operation gave %v", again)
	}
}

// TestRequestStatus: what a request id has started, starting nothing: a
// planning a caller waits for; once its only caller left, nothing (the
// planning is waited for to its end, so the answer is exact); an
// operation once journaled; nothing for an unknown id.
func TestRequestStatus(t *testing.T) {
	r := newGatedRig(t)
	ctx := context.Background()
	if op, planning, err := r.e.RequestStatus(ctx, "never", time.Second); op != nil || planning || err != nil {
		t.Errorf("unknown id: %v %v %v, want nothing", op, planning, err)
	}
	req := Request{Snapshot: "pool/vol@snap", RequestID: "r1"}
	cctx, cancel := context.WithCancel(ctx)
	first := r.start(cctx, req)
	r.waitStarted(t)
	if op, planning, err := r.e.RequestStatus(ctx, "r1", 100*time.Millisecond); op != nil || !planning || err != nil {
		t.Errorf("while planned for a caller: %v %v %v, want planning", op, planning, err)
	}
	cancel()
	if op, planning, err := r.e.RequestStatus(ctx, "r1", time.Minute); op != nil || planning || err != nil {
		t.Errorf("its only caller gone: %v %v %v, want nothing started", op, planning, err)
	}
	var left *LeftError
	if c := <-first; !errors.As(c.err, &left) || left.Op != 0 {
		t.Errorf("the caller that left while planned: %v, want a LeftError without operation", c.err)
	}
	if ops, _ := r.db.ListOperations(0, nil); len(ops) != 0 {
		t.Fatalf("%d operations journaled", len(ops))
	}
	close(r.g.gate)
	if _, err := r.e.Rollback(ctx, req, func(Event) {}); err != nil {
		t.Fatal(err)
	}
	op, planning, err := r.e.RequestStatus(ctx, "r1", time.Second)
	if op == nil || op.ID != 1 || planning || err != nil {
		t.Errorf("after it ran: %v %v %v, want operation 1", op, planning, err)
	}
}
