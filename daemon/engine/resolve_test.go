package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// endObserver records the operations the engine reports ended.
type endObserver struct {
	nopObserver
	mu  sync.Mutex
	ops []*store.Operation
}

func (f *endObserver) OperationFinished(op *store.Operation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op)
}

func (f *endObserver) last() *store.Operation {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ops) == 0 {
		return nil
	}
	return f.ops[len(f.ops)-1]
}

// TestResolve: an operation that needs attention is released by hand with
// a reason: journaled (who, when, why, what it had left), state resolved,
// its volumes and zones free again, and it stays so after a restart. A
// reason is required; only an operation that needs attention can be
// resolved, and a resolved one cannot be recovered.
func TestResolve(t *testing.T) {
	obs := &endObserver{}
	r := &holdRig{t: t, fake: newZonedFake(), cfg: Config{Observer: obs}}
	r.path = t.TempDir() + "/journal.db"
	r.open()
	t.Cleanup(r.close)
	ctx := context.Background()
	id := r.needsAttention(Request{Snapshot: "pool/a@s"})
	before, err := r.e.Operation(id)
	if err != nil {
		t.Fatal(err)
	}

	for _, reason := range []string{"", "  \n", strings.Repeat("x", MaxResolveReason+1)} {
		if _, err := r.e.Resolve(ctx, id, "root", reason); !errors.Is(err, ErrInvalid) {
			t.Errorf("resolve with reason %q: %v, want invalid", reason, err)
		}
	}
	if _, err := r.e.Resolve(ctx, 99, "root", "fixed"); !errors.Is(err, ErrNotFound) {
		t.Errorf("resolve of no operation: %v, want not found", err)
	}
	done, err := r.rollback(Request{Snapshot: "pool/e@s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.Resolve(ctx, done.ID, "root", "fixed"); !errors.Is(err, ErrPrecondition) ||
		!strings.Contains(err.Error(), "only an operation that needs attention can be resolved") {
		t.Errorf("resolve of a succeeded operation: %v, want a failed precondition", err)
	}
	if op, _ := r.e.Operation(id); op.State != store.OpNeedsAttention {
		t.Fatalf("refused resolves changed the operation: %s", op.State)
	}

	r.e.now = func() time.Time { return before.Updated.Add(time.Hour) }
	op, err := r.e.Resolve(ctx, id, "uid=0(root)", " imported the LU and booted kz1 by hand ")
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, op *store.Operation) {
		t.Helper()
		res := op.Resolution
		if op.State != store.OpResolved || res == nil || op.Attention != "" {
			t.Fatalf("%s: state %s, resolution %+v, attention %q", when, op.State, res, op.Attention)
		}
		if res.By != "uid=0(root)" || res.Reason != "imported the LU and booted kz1 by hand" ||
			res.Attention != before.Attention || !res.Time.Equal(before.Updated.Add(time.Hour)) {
			t.Errorf("%s: resolution %+v", when, res)
		}
		if op.Active() != before.Active() {
			t.Errorf("%s: active %s, was %s: the hour it waited is idle", when, op.Active(), before.Active())
		}
	}
	check("returned", op)
	if got := obs.last(); got == nil || got.ID != id || got.State != store.OpResolved {
		t.Errorf("the observer (metrics) was told %+v, want operation %d resolved", got, id)
	}
	if got, err := r.e.Operation(id); err != nil {
		t.Fatal(err)
	} else {
		check("journaled", got)
	}
	if op, err := r.rollback(Request{Snapshot: "pool/b@s"}); err != nil || op.State != store.OpSucceeded {
		t.Errorf("rollback over the zone once resolved: %v", err)
	}
	if err := r.e.DestroySnapshot(ctx, "pool/a@s"); errors.Is(err, ErrPrecondition) {
		t.Errorf("destroy once resolved: %v", err)
	}
	if _, err := r.e.Resolve(ctx, id, "root", "again"); !errors.Is(err, ErrPrecondition) {
		t.Errorf("resolve twice: %v, want a failed precondition", err)
	}
	if _, err := r.e.Recover(ctx, id, RecoverOptions{}, func(Event) {}); !errors.Is(err, ErrPrecondition) {
		t.Errorf("recover of a resolved operation: %v, want a failed precondition", err)
	}

	r.restart()
	if err := r.e.Start(); err != nil {
		t.Fatal(err)
	}
	r.e.Wait()
	if got, err := r.e.Operation(id); err != nil {
		t.Fatal(err)
	} else {
		check("after a restart", got)
	}
	if op, err := r.rollback(Request{Snapshot: "pool/a@s"}); err != nil || op.State != store.OpSucceeded {
		t.Errorf("rollback of its volume after a restart: %v", err)
	}
}

// TestResolveWhileRecovering: an operation that a recover is running is
// not resolved under it, and a recover that started from the
// journal before a resolve finds it resolved once it holds the locks.
func TestResolveWhileRecovering(t *testing.T) {
	r := newHoldRig(t)
	ctx := context.Background()
	id := r.needsAttention(Request{Snapshot: "pool/a@s"})
	r.fake.fault("import").freezeDo = 1
	go func() { _, _ = r.e.Recover(ctx, id, RecoverOptions{}, func(Event) {}) }()
	<-r.fake.frozen
	// Refused as busy (the recover holds its locks) or, once the recover
	// journaled its resume, as running.
	_, err := r.e.Resolve(ctx, id, "root", "fixed by hand")
	var busy *BusyError
	if !(errors.As(err, &busy) && busy.Holder == id) && !(errors.Is(err, ErrPrecondition) && strings.Contains(err.Error(), "is running")) {
		t.Errorf("resolve while it is recovered: %v, want busy with operation %d, or running", err, id)
	}
	r.fake.thaw()
	r.e.Wait()
	if op, _ := r.e.Operation(id); op.State == store.OpResolved {
		t.Errorf("resolved while recovering")
	}

	// recoverable: what a recover re-reads once it holds the locks.
	id2 := r.needsAttention(Request{Snapshot: "pool/c@s"})
	if _, err := r.e.Resolve(ctx, id2, "root", "fixed by hand"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.recoverable(id2); !errors.Is(err, ErrPrecondition) {
		t.Errorf("a recover that read operation %d before it was resolved goes on: %v", id2, err)
	}
}

// TestResolveJournalUnwritable: a resolution that cannot be journaled is
// not one: the operation still needs attention and still holds.
func TestResolveJournalUnwritable(t *testing.T) {
	var fail bool
	var mu sync.Mutex
	r := &holdRig{t: t, fake: newZonedFake(), cfg: Config{JournalFault: func(*store.Operation) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("no space left on device")
		}
		return nil
	}}}
	r.path = t.TempDir() + "/journal.db"
	r.open()
	t.Cleanup(r.close)
	id := r.needsAttention(Request{Snapshot: "pool/a@s"})
	mu.Lock()
	fail = true
	mu.Unlock()
	if _, err := r.e.Resolve(context.Background(), id, "root", "fixed"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("resolve with the journal full: %v, want unavailable", err)
	}
	if op, _ := r.e.Operation(id); op.State != store.OpNeedsAttention {
		t.Errorf("state %s after a resolution that was not journaled", op.State)
	}
	_, err := r.e.Plan(context.Background(), Request{Snapshot: "pool/a@s"})
	refusedBy(t, "dry run after a failed resolve", err, id)
}

// TestStaleHolds: an operation whose end the journal could not take yet
// holds (or no longer holds) as its record in memory says.
func TestStaleHolds(t *testing.T) {
	r := newHoldRig(t)
	id := r.needsAttention(Request{Snapshot: "pool/a@s"})
	op, err := r.e.Operation(id)
	if err != nil {
		t.Fatal(err)
	}
	// In memory it was resolved, not yet on disk: not held.
	op.State = store.OpResolved
	r.e.stale = map[uint64]*store.Operation{id: op}
	if err := r.e.checkHeldVolumes("pool/a"); err != nil {
		t.Errorf("a resolved operation whose record waits holds: %v", err)
	}
	// In memory it needs attention, on disk it is running: held.
	running := &store.Operation{Volume: "pool/e", Snapshot: "pool/e@s", State: store.OpRunning, Identity: store.Identity{Volume: "pool/e"}}
	if _, _, err := r.db.CreateOperation(running); err != nil {
		t.Fatal(err)
	}
	stale := *running
	stale.State, stale.Attention = store.OpNeedsAttention, "these steps are left: import"
	r.e.stale[stale.ID] = &stale
	refusedBy(t, "a volume whose operation ended needing attention, journal behind", r.e.checkHeldVolumes("pool/e"), stale.ID)
}

// TestRecoverLocksEveryVolumeOfAGroup: while a group operation is
// recovered (or resumed), every one of its volumes is busy, not only the
// first: its state is running then, so no hold covers them.
func TestRecoverLocksEveryVolumeOfAGroup(t *testing.T) {
	r := newHoldRig(t)
	ctx := context.Background()
	id := r.needsAttention(Request{Snapshot: "pool/e@s", More: []string{"pool/f@s"}})
	r.fake.fault("import").freezeDo = 1
	go func() { _, _ = r.e.Recover(ctx, id, RecoverOptions{}, func(Event) {}) }()
	<-r.fake.frozen
	defer r.fake.thaw()
	for _, snap := range []string{"pool/e@s", "pool/f@s"} {
		// Not busy, it would run into the frozen step: give up waiting.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := r.e.Rollback(wctx, Request{Snapshot: snap}, func(Event) {})
		cancel()
		var busy *BusyError
		if !errors.As(err, &busy) || busy.Holder != id {
			t.Errorf("rollback of %s while its group operation %d is recovered: %v, want busy with it", snap, id, err)
		}
	}
}
