package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// keepFake is the saga's fake backend that keeps: its capture names the
// kept dataset (and, for an undo, the one it restores) as a backend must
// (docs/keep.md §3), its forget is one commit step, destroy-kept, and it
// reads what a kept dataset holds.
type keepFake struct {
	*fakeBackend
	// noKept: a capture that does not name the kept dataset (a backend
	// that cannot keep).
	noKept bool
	mu     sync.Mutex
	// destroyed are the datasets destroy-kept destroyed; used what each
	// kept dataset holds (absent: the read fails).
	destroyed []string
	used      map[string]uint64
	// captured are the options each capture got.
	captured []store.Options
	// gate, when set, holds the capture of gated until it is closed (an
	// operation planned, not journaled yet); entered is closed once one
	// waits there.
	gate, entered chan struct{}
	gated         string
	// badMark are kept datasets whose mark a forget's capture refuses.
	badMark []string
}

func (f *keepFake) GroupRollbacks() bool { return true }

func (f *keepFake) Capture(_ context.Context, _ execx.RunFunc, snap string, o store.Options) (store.Identity, []string, error) {
	vol, _, _ := strings.Cut(snap, "@")
	if o.Forget != 0 { // a forget's check of one kept dataset
		f.mu.Lock()
		f.captured = append(f.captured, o)
		bad := slices.Contains(f.badMark, o.ForgetDatasets[0])
		f.mu.Unlock()
		if bad {
			return store.Identity{}, nil, fmt.Errorf("%s carries another operation's mark: %w", o.ForgetDatasets[0], ErrPrecondition)
		}
		return store.Identity{Volume: vol, Snapshot: snap}, []string{"destroys " + o.ForgetDatasets[0]}, nil
	}
	if f.gate != nil && snap == f.gated {
		close(f.entered)
		<-f.gate
	}
	f.mu.Lock()
	f.captured = append(f.captured, o)
	f.mu.Unlock()
	id := store.Identity{Volume: vol, Snapshot: snap, KeptUsed: 4096}
	if o.Keep && !f.noKept {
		id.Kept = vol + o.KeptSuffix
		id.Restore = o.Restore[vol]
	}
	return id, nil, nil
}

func (f *keepFake) Steps(op *store.Operation) []Step {
	if op.Kind != store.KindForget {
		return f.fakeBackend.Steps(op)
	}
	gone := func(ds string) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return slices.Contains(f.destroyed, ds)
	}
	return []Step{{Name: "destroy-kept", Description: "destroy the kept datasets", Commit: true,
		Do: func(context.Context, *Exec) error {
			if flt := f.fault("destroy-kept"); flt.failDo > 0 {
				flt.failDo--
				return flt.failure("destroy-kept")
			}
			for _, id := range op.Volumes() {
				if !gone(id.Kept) {
					f.mu.Lock()
					f.destroyed = append(f.destroyed, id.Kept)
					f.mu.Unlock()
				}
			}
			return nil
		},
		Check: func(context.Context, *Exec) (bool, error) { return gone(op.Identity.Kept), nil }}}
}

func (f *keepFake) KeptUsed(_ context.Context, _ execx.RunFunc, ds string) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.used[ds]
	if !ok {
		return 0, fmt.Errorf("cannot open '%s': dataset does not exist", ds)
	}
	return u, nil
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

type keepRig struct {
	e    *Engine
	db   *store.DB
	fake *keepFake
	w    *world
}

func newKeepRig(t *testing.T, shape []fakeShape, cfg Config) *keepRig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := newWorld()
	f := &keepFake{fakeBackend: newFake(shape, w), used: map[string]uint64{}}
	cfg.Retries, cfg.RetryDelay = 2, time.Microsecond
	r := &keepRig{e: New(ctx, db, f, cfg, hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: testWriter{t}})), db: db, fake: f, w: w}
	t.Cleanup(func() {
		f.thaw()
		cancel()
		r.e.Wait()
		db.Close()
	})
	return r
}

func (r *keepRig) keep(snaps ...string) (*store.Operation, error) {
	return r.e.Rollback(context.Background(), Request{Snapshot: snaps[0], More: snaps[1:], Options: store.Options{Keep: true}}, func(Event) {})
}

func (r *keepRig) undo(id uint64) (*store.Operation, error) {
	return r.e.Undo(context.Background(), UndoRequest{Operation: id, RequestedBy: "test"}, func(Event) {})
}

func (r *keepRig) forget(id uint64) (*store.Operation, error) {
	return r.e.Forget(context.Background(), ForgetRequest{Operation: id, DestroyKept: true, RequestedBy: "test"}, func(Event) {})
}

// kept is the journal's records of operation id, as "DATASET=STATE[ by N]".
func (r *keepRig) kept(t *testing.T, id uint64) []string {
	t.Helper()
	recs, err := r.db.KeptOf(id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range recs {
		s := k.Dataset + "=" + string(k.State)
		if k.By != 0 {
			s += fmt.Sprintf(" by %d", k.By)
		}
		out = append(out, s)
	}
	return out
}

// TestKeepRecordsAtTheCommit: a keep rollback names its kept datasets by
// its id and creation time before the capture, and the journal has one
// record per volume exactly when its commit step is done: none when it
// fails before or at the commit (compensated), kept when it fails after
// (needs attention: the datasets exist).
func TestKeepRecordsAtTheCommit(t *testing.T) {
	perm := Permanent(errors.New("refused"))
	cases := []struct {
		name    string
		fail    string // the step that fails for good
		state   store.OpState
		records bool
	}{
		{"succeeds", "", store.OpSucceeded, true},
		{"fails before the commit", "delete", store.OpRolledBack, false},
		{"the commit fails", "rollback", store.OpRolledBack, false},
		{"fails after the commit", "boot", store.OpNeedsAttention, true},
		// The commit exits 0 and does nothing: its done state was
		// journaled (with the records) at the window's end, and verify's
		// ErrNotCommitted takes both back.
		{"the commit lies", "lie", store.OpRolledBack, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newKeepRig(t, solarisLike, Config{})
			switch tc.fail {
			case "":
			case "lie":
				r.fake.fault("rollback").lie = true
			default:
				r.fake.fault(tc.fail).failDo, r.fake.fault(tc.fail).err = 100, perm
			}
			op, _ := r.keep("pool/a@s", "pool/b@s")
			if op == nil || op.State != tc.state {
				t.Fatalf("ended %v, want %s", op, tc.state)
			}
			suffix := keptSuffix(op.ID, op.Created)
			if op.Kind != store.KindRollback || !op.Options.Keep || op.Options.KeptSuffix != suffix {
				t.Errorf("journaled kind %q keep %v suffix %q, want rollback, keep, %q", op.Kind, op.Options.Keep, op.Options.KeptSuffix, suffix)
			}
			for _, o := range r.fake.captured {
				if o.KeptSuffix != suffix {
					t.Errorf("a capture got suffix %q, want %q (set before the capture)", o.KeptSuffix, suffix)
				}
			}
			var want []string
			if tc.records {
				want = []string{"pool/a" + suffix + "=kept", "pool/b" + suffix + "=kept"}
			}
			if got := r.kept(t, op.ID); !reflect.DeepEqual(got, want) {
				t.Errorf("kept records %q, want %q", got, want)
			}
		})
	}
}

// TestPlainRollbackKeepsNothing: a rollback without keep gets no suffix
// and leaves no record.
func TestPlainRollbackKeepsNothing(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{})
	op, err := r.e.Rollback(context.Background(), Request{Snapshot: "pool/a@s"}, func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	if op.Options.KeptSuffix != "" || len(r.kept(t, op.ID)) != 0 {
		t.Errorf("a plain rollback: suffix %q, records %v", op.Options.KeptSuffix, r.kept(t, op.ID))
	}
}

// TestKeepCrash: killed before or after any step of a keep rollback (or
// of its compensation), the journal on disk has the records exactly when
// it has the commit step done (one transaction), and a second volctld
// resuming it ends with records exactly when it succeeded.
func TestKeepCrash(t *testing.T) {
	for _, sh := range solarisLike {
		for _, after := range []bool{false, true} {
			for _, undo := range []bool{false, true} {
				if undo && sh.name != "stop" && sh.name != "delete" {
					continue // compensation crashes: the steps before the commit
				}
				name := fmt.Sprintf("%s/after=%v/undo=%v", sh.name, after, undo)
				t.Run(name, func(t *testing.T) {
					dir := t.TempDir()
					r1 := newKeepRig(t, solarisLike, Config{})
					how := 1
					if after {
						how = 2
					}
					if undo {
						r1.fake.fault(sh.name).freezeUn = how
						r1.fake.fault("rollback").failDo, r1.fake.fault("rollback").err = 1, Permanent(errors.New("busy"))
					} else {
						r1.fake.fault(sh.name).freezeDo = how
					}
					go func() { _, _ = r1.keep("pool/a@s") }()
					select {
					case <-r1.fake.frozen:
					case <-time.After(10 * time.Second):
						t.Fatal("never reached the crash point")
					}
					// The journal as the crash leaves it (every write is
					// fsynced before it returns).
					ops, err := r1.db.Unfinished()
					if err != nil || len(ops) != 1 {
						t.Fatalf("journal at the crash: %v %v", ops, err)
					}
					at := ops[0]
					recs, _ := r1.db.KeptOf(at.ID)
					done, _ := commitState(at)
					if done != (len(recs) > 0) {
						t.Errorf("on disk at the crash: commit done %v but %d records", done, len(recs))
					}
					db2, err := store.Open(filepath.Join(dir, "j2.db"), time.Second)
					if err != nil {
						t.Fatal(err)
					}
					if err := db2.PutOperation(at); err != nil {
						t.Fatal(err)
					}
					w2 := r1.w.copy()
					ctx, cancel := context.WithCancel(context.Background())
					f2 := &keepFake{fakeBackend: newFake(solarisLike, w2), used: map[string]uint64{}}
					e2 := New(ctx, db2, f2, Config{Retries: 2, RetryDelay: time.Microsecond}, nil)
					t.Cleanup(func() { cancel(); e2.Wait(); db2.Close() })
					if err := e2.Start(); err != nil {
						t.Fatal(err)
					}
					e2.Wait()
					final, err := db2.GetOperation(at.ID)
					if err != nil {
						t.Fatal(err)
					}
					recs, _ = db2.KeptOf(at.ID)
					if (final.State == store.OpSucceeded) != (len(recs) == 1) || final.State != store.OpSucceeded && final.State != store.OpRolledBack {
						t.Errorf("resumed: ended %s with %d records; want succeeded with 1 or rolled_back with none", final.State, len(recs))
					}
				})
			}
		}
	}
}

// commitState reports whether op's journaled commit step is done.
func commitState(op *store.Operation) (bool, string) {
	for _, st := range op.Steps {
		if st.Commit {
			return st.State == store.StepDone, st.Name
		}
	}
	return false, ""
}

// TestUndo: an undo swaps back what a keep rollback kept, keeps in turn,
// marks what it undid, and can itself be undone; undo goes last-in
// first-out.
func TestUndo(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{})
	k1, err := r.keep("pool/a@s", "pool/b@t")
	if err != nil {
		t.Fatal(err)
	}
	s1 := k1.Options.KeptSuffix
	u2, err := r.undo(k1.ID)
	if err != nil {
		t.Fatal(err)
	}
	s2 := u2.Options.KeptSuffix
	if u2.Kind != store.KindUndo || !u2.Options.Keep || u2.Options.Undo != k1.ID || s2 != keptSuffix(u2.ID, u2.Created) ||
		!reflect.DeepEqual(u2.Options.Restore, map[string]string{"pool/a": "pool/a" + s1, "pool/b": "pool/b" + s1}) ||
		u2.Snapshot != "pool/a@s" || u2.Volume != "pool/a" || !slices.Equal(u2.Options.Group, []string{"pool/a@s", "pool/b@t"}) ||
		len(u2.Members) != 1 || u2.Members[0].Restore != "pool/b"+s1 || u2.Identity.Restore != "pool/a"+s1 || u2.RequestedBy != "test" {
		t.Errorf("the undo journaled %+v", u2)
	}
	if got, want := r.kept(t, k1.ID), []string{"pool/a" + s1 + "=undone by 2", "pool/b" + s1 + "=undone by 2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("the undone's records %q, want %q", got, want)
	}
	if got, want := r.kept(t, u2.ID), []string{"pool/a" + s2 + "=kept", "pool/b" + s2 + "=kept"}; !reflect.DeepEqual(got, want) {
		t.Errorf("the undo's records %q, want %q", got, want)
	}
	// Undone already: named.
	if _, err := r.undo(k1.ID); !errors.Is(err, ErrPrecondition) || !strings.Contains(err.Error(), "undone already, by operation 2") {
		t.Errorf("undo of an undone operation: %v", err)
	}
	// The undo can be undone.
	u3, err := r.undo(u2.ID)
	if err != nil || u3.Options.Restore["pool/a"] != "pool/a"+s2 {
		t.Fatalf("undo of the undo: %v %+v", err, u3)
	}
	if got := r.kept(t, u2.ID); !slices.Equal(got, []string{"pool/a" + s2 + "=undone by 3", "pool/b" + s2 + "=undone by 3"}) {
		t.Errorf("after the undo of the undo: %q", got)
	}
}

// journal writes operations as they would be journaled (the records
// follow from them).
func journal(t *testing.T, db *store.DB, ops ...*store.Operation) {
	t.Helper()
	for _, op := range ops {
		if _, _, err := db.CreateOperation(op); err != nil {
			t.Fatal(err)
		}
	}
}

// journaled is an operation in the journal: kind (a keep when keep), on
// vol, in state, its commit step done when it got there.
func journaledOp(id uint64, kind string, keep bool, vol string, state store.OpState, commitDone bool) *store.Operation {
	cs := store.StepPending
	if commitDone {
		cs = store.StepDone
	}
	op := &store.Operation{ID: id, Kind: kind, Platform: "fake", Volume: vol, Snapshot: vol + "@s", State: state,
		Options:  store.Options{Keep: keep, KeptSuffix: fmt.Sprintf(".kept-%d", id)},
		Identity: store.Identity{Volume: vol, Snapshot: vol + "@s", Kept: fmt.Sprintf("%s.kept-%d", vol, id)},
		Steps:    []store.Step{{Name: "capture", State: store.StepDone}, {Name: "rollback", Commit: true, State: cs}}}
	if kind == store.KindForget {
		op.Options = store.Options{Forget: 1}
		op.Identity.Kept = ""
	}
	return op
}

// TestUndoRefused: each reason an undo is refused, named, before anything
// runs.
func TestUndoRefused(t *testing.T) {
	keep := func(id uint64, vol string) *store.Operation {
		return journaledOp(id, store.KindRollback, true, vol, store.OpSucceeded, true)
	}
	undoOf := func(id, of uint64, vol string, state store.OpState) *store.Operation {
		op := journaledOp(id, store.KindUndo, true, vol, state, state == store.OpSucceeded)
		op.Options.Undo = of
		return op
	}
	forgetOf := func(id, of uint64, vol string) *store.Operation {
		op := journaledOp(id, store.KindForget, false, vol, store.OpSucceeded, true)
		op.Options.Forget = of
		return op
	}
	attention := journaledOp(2, store.KindRollback, false, "pool/a", store.OpNeedsAttention, false)
	attention.Attention = "boot-zones is left"
	cases := []struct {
		name    string
		journal []*store.Operation
		undo    uint64
		opts    store.Options
		is      error
		says    string
	}{
		{"no such operation", nil, 9, store.Options{}, ErrNotFound, "operation 9 is not in the journal"},
		{"a rollback without keep", []*store.Operation{journaledOp(1, store.KindRollback, false, "pool/a", store.OpSucceeded, true)}, 1, store.Options{},
			ErrPrecondition, "operation 1 is a rollback: only a rollback with --keep or an undo"},
		{"a forget", []*store.Operation{keep(1, "pool/a"), forgetOf(2, 1, "pool/a")}, 2, store.Options{}, ErrPrecondition, "operation 2 is a forget"},
		{"rolled back", []*store.Operation{journaledOp(1, store.KindRollback, true, "pool/a", store.OpRolledBack, false)}, 1, store.Options{},
			ErrPrecondition, "operation 1 was rolled back"},
		{"needs attention", []*store.Operation{journaledOp(1, store.KindRollback, true, "pool/a", store.OpNeedsAttention, true)}, 1, store.Options{},
			ErrPrecondition, "operation 1 needs attention; only one that succeeded can be undone"},
		{"undone already", []*store.Operation{keep(1, "pool/a"), undoOf(2, 1, "pool/a", store.OpSucceeded)}, 1, store.Options{},
			ErrPrecondition, "operation 1 was undone already, by operation 2"},
		{"forgotten", []*store.Operation{keep(1, "pool/a"), forgetOf(2, 1, "pool/a")}, 1, store.Options{},
			ErrPrecondition, "forgotten (destroyed) by operation 2"},
		{"a later keep on the volume: last in, first out", []*store.Operation{keep(1, "pool/a"), keep(2, "pool/a")}, 1, store.Options{},
			ErrPrecondition, "operation 2 (a rollback with --keep) changed pool/a after operation 1: undo goes last-in first-out, so undo 2 first"},
		{"a later plain rollback on the volume", []*store.Operation{keep(1, "pool/a"), journaledOp(2, store.KindRollback, false, "pool/a", store.OpRolledBack, false)}, 1, store.Options{},
			ErrPrecondition, "operation 2 (a rollback, rolled_back) changed pool/a after operation 1, so operation 1 can no longer be undone"},
		{"a later failed undo on the volume", []*store.Operation{keep(1, "pool/a"), keep(2, "pool/a"), undoOf(3, 2, "pool/a", store.OpRolledBack)}, 2, store.Options{},
			ErrPrecondition, "operation 3 (an undo, rolled_back) changed pool/a after operation 2"},
		{"held for attention", []*store.Operation{keep(1, "pool/a"), attention}, 1, store.Options{},
			ErrPrecondition, "operation 2 (a rollback, needs_attention) changed pool/a"},
		{"destroy_newer means nothing", []*store.Operation{keep(1, "pool/a")}, 1, store.Options{DestroyNewer: true}, ErrInvalid, "an undo destroys nothing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newKeepRig(t, solarisLike, Config{})
			journal(t, r.db, tc.journal...)
			for _, plan := range []bool{false, true} {
				var op *store.Operation
				var err error
				req := UndoRequest{Operation: tc.undo, Options: tc.opts}
				if plan {
					op, err = r.e.PlanUndo(context.Background(), req)
				} else {
					op, err = r.e.Undo(context.Background(), req, func(Event) {})
				}
				if op != nil || !errors.Is(err, tc.is) || err == nil || !strings.Contains(err.Error(), tc.says) {
					t.Errorf("plan %v: %v, %v; want %v saying %q", plan, op, err, tc.is, tc.says)
				}
			}
			if n := len(r.w.log()); n != 0 || len(r.fake.captured) != 0 {
				t.Errorf("a refused undo ran %d steps and %d captures", n, len(r.fake.captured))
			}
		})
	}
}

// TestUndoHeld: an undo of a volume an operation that needs attention
// holds (one that started before the keep rollback) is refused as held.
func TestUndoHeld(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{})
	held := journaledOp(1, store.KindRollback, false, "pool/b", store.OpNeedsAttention, true)
	held.Options.Group = []string{"pool/b@s", "pool/a@s"} // a group that named pool/a too
	held.Attention = "boot-zones is left"
	journal(t, r.db, held, journaledOp(2, store.KindRollback, true, "pool/a", store.OpSucceeded, true))
	_, err := r.undo(2)
	var h *HeldError
	if !errors.As(err, &h) || h.Op != 1 {
		t.Errorf("undo of a held volume: %v, want a HeldError naming operation 1", err)
	}
}

// TestUndoBusy: while an operation is planned on the volume (locked, not
// journaled yet), an undo without wait is refused as busy, and one that
// waits reads the journal again once it has the volume: that operation
// is later now (last in, first out).
func TestUndoBusy(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{})
	k1, err := r.keep("pool/a@s")
	if err != nil {
		t.Fatal(err)
	}
	r.fake.gate, r.fake.entered, r.fake.gated = make(chan struct{}), make(chan struct{}), "pool/a@t"
	done := make(chan struct{})
	go func() { defer close(done); _, _ = r.keep("pool/a@t") }()
	<-r.fake.entered
	if _, err := r.undo(k1.ID); !errors.Is(err, ErrBusy) {
		t.Errorf("undo while the volume is busy: %v, want busy", err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := r.e.Undo(context.Background(), UndoRequest{Operation: k1.ID, Wait: true}, func(Event) {})
		waited <- err
	}()
	time.Sleep(50 * time.Millisecond)
	close(r.fake.gate)
	<-done
	if err := <-waited; !errors.Is(err, ErrPrecondition) || !strings.Contains(err.Error(), "so undo 2 first") {
		t.Errorf("an undo that waited for a later keep: %v, want last-in first-out refusal", err)
	}
}

// TestForget: without the consent, the plan and the error that asks for
// it (nothing runs); with it, a forget operation whose commit
// (destroy-kept) marks the records forgotten; refusals name why.
func TestForget(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{})
	k1, err := r.keep("pool/a@s", "pool/b@s")
	if err != nil {
		t.Fatal(err)
	}
	s1 := k1.Options.KeptSuffix
	r.fake.used["pool/a"+s1] = 123
	plan, err := r.e.Forget(context.Background(), ForgetRequest{Operation: k1.ID}, func(Event) {})
	if !errors.Is(err, ErrNeedsConsent) || plan == nil || len(Consents(err)) != 1 || Consents(err)[0].Consent != ConsentDestroyKept {
		t.Fatalf("forget without consent: %v %v", plan, err)
	}
	if plan.Kind != store.KindForget || plan.Options.Forget != k1.ID || !slices.Equal(plan.Options.ForgetDatasets, []string{"pool/a" + s1, "pool/b" + s1}) ||
		plan.Options.HaltZones || len(plan.Steps) != 2 || plan.Steps[1].Name != "destroy-kept" ||
		!slices.ContainsFunc(plan.Warnings, func(w string) bool { return strings.Contains(w, "holds 123 bytes now") }) ||
		!slices.Contains(plan.Warnings, "destroys pool/b"+s1) ||
		!slices.ContainsFunc(plan.Warnings, func(w string) bool { return strings.Contains(w, "what pool/b"+s1+" holds could not be read") }) {
		t.Errorf("forget's plan: %+v", plan)
	}
	if last, _ := r.db.LastOperationID(); last != k1.ID || len(r.fake.destroyed) != 0 {
		t.Errorf("a plan journaled (last id %d) or destroyed %v", last, r.fake.destroyed)
	}
	// The backend checks each kept dataset, one per capture.
	var checked []string
	for _, o := range r.fake.captured {
		if o.Forget == k1.ID {
			checked = append(checked, o.ForgetDatasets...)
		}
	}
	if !slices.Equal(checked, []string{"pool/a" + s1, "pool/b" + s1}) {
		t.Errorf("the backend checked %q", checked)
	}
	// A dataset the backend refuses (its mark is another's) refuses the
	// forget before anything runs.
	r.fake.badMark = []string{"pool/b" + s1}
	if _, err := r.forget(k1.ID); !errors.Is(err, ErrPrecondition) || !strings.Contains(err.Error(), "another operation's mark") || len(r.fake.destroyed) != 0 {
		t.Errorf("forget of a dataset with another mark: %v, destroyed %v", err, r.fake.destroyed)
	}
	r.fake.badMark = nil
	f2, err := r.forget(k1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if f2.Kind != store.KindForget || f2.State != store.OpSucceeded || !slices.Equal(r.fake.destroyed, []string{"pool/a" + s1, "pool/b" + s1}) ||
		f2.Volume != "pool/a" || len(f2.Members) != 1 || f2.Members[0].Kept != "pool/b"+s1 {
		t.Errorf("forget: %+v, destroyed %v", f2, r.fake.destroyed)
	}
	if got := r.kept(t, k1.ID); !slices.Equal(got, []string{"pool/a" + s1 + "=forgotten by 2", "pool/b" + s1 + "=forgotten by 2"}) {
		t.Errorf("after forget: %q", got)
	}
	if _, err := r.forget(k1.ID); !errors.Is(err, ErrPrecondition) || !strings.Contains(err.Error(), "forgotten (destroyed) already, by operation 2") {
		t.Errorf("forget twice: %v", err)
	}
	// A forget that changes no volume does not stop an undo of a later keep.
	k3, err := r.keep("pool/a@s")
	if err != nil {
		t.Fatal(err)
	}
	u4, err := r.undo(k3.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.forget(k3.ID); !errors.Is(err, ErrPrecondition) ||
		!strings.Contains(err.Error(), fmt.Sprintf("is the volume again since operation %d: forget that operation instead", u4.ID)) {
		t.Errorf("forget of an undone keep: %v", err)
	}
	if _, err := r.forget(f2.ID); !errors.Is(err, ErrPrecondition) || !strings.Contains(err.Error(), "it kept nothing to forget") {
		t.Errorf("forget of a forget: %v", err)
	}
	if _, err := r.forget(99); !errors.Is(err, ErrNotFound) {
		t.Errorf("forget of nothing: %v", err)
	}
}

// TestUndoForgetRetried: an undo or a forget sent again with its request
// id follows the operation the first journaled (whose effect would refuse
// a new one); the id for another target is refused.
func TestUndoForgetRetried(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{})
	k1, err := r.keep("pool/a@s")
	if err != nil {
		t.Fatal(err)
	}
	undo := UndoRequest{Operation: k1.ID, RequestID: "U"}
	u2, err := r.e.Undo(context.Background(), undo, func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.e.Undo(context.Background(), undo, func(Event) {})
	if err != nil || again.ID != u2.ID {
		t.Errorf("the undo sent again: %v, %v; want operation %d", again, err, u2.ID)
	}
	forget := ForgetRequest{Operation: u2.ID, DestroyKept: true, RequestID: "F"}
	f3, err := r.e.Forget(context.Background(), forget, func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	again, err = r.e.Forget(context.Background(), forget, func(Event) {})
	if err != nil || again.ID != f3.ID {
		t.Errorf("the forget sent again: %v, %v; want operation %d", again, err, f3.ID)
	}
	if _, err := r.e.Undo(context.Background(), UndoRequest{Operation: u2.ID, RequestID: "F"}, func(Event) {}); err == nil {
		t.Error("an undo with a forget's request id was accepted")
	}
	// A rollback's request id sent again without keep is another request.
	if _, err := r.e.Rollback(context.Background(), Request{Snapshot: "pool/c@s", RequestID: "K", Options: store.Options{Keep: true}}, func(Event) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.e.Rollback(context.Background(), Request{Snapshot: "pool/c@s", RequestID: "K"}, func(Event) {}); !errors.Is(err, ErrAlreadyExists) ||
		!strings.Contains(err.Error(), "with keep=true") {
		t.Errorf("the keep's request id without keep: %v", err)
	}
	if n := len(r.fake.destroyed); n != 1 {
		t.Errorf("%d datasets destroyed, want 1 (one forget)", n)
	}
}

// TestForgetFails: a destroy-kept that fails for good leaves the records
// kept (the commit is not done).
func TestForgetFails(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{})
	k1, err := r.keep("pool/a@s")
	if err != nil {
		t.Fatal(err)
	}
	r.fake.fault("destroy-kept").failDo, r.fake.fault("destroy-kept").err = 1, Permanent(errors.New("dataset is busy"))
	if f, err := r.forget(k1.ID); err == nil || f == nil || f.State != store.OpRolledBack {
		t.Fatalf("a failing forget: %v %v", f, err)
	}
	if got := r.kept(t, k1.ID); !slices.Equal(got, []string{"pool/a" + k1.Options.KeptSuffix + "=kept"}) {
		t.Errorf("after a failed forget: %q", got)
	}
}

// TestKeepOptionsRefused: options that mean nothing with keep, and the
// fields only the engine sets, are refused before anything runs; a
// backend that does not name the kept dataset is refused rather than run
// a rollback that keeps nothing.
func TestKeepOptionsRefused(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{})
	for _, o := range []store.Options{{Keep: true, DestroyNewer: true}, {KeptSuffix: ".kept-1-x"}, {Undo: 1}, {Forget: 1},
		{Restore: map[string]string{}}, {ForgetDatasets: []string{"x"}}} {
		req := Request{Snapshot: "pool/a@s", Options: o}
		if _, err := r.e.Rollback(context.Background(), req, func(Event) {}); !errors.Is(err, ErrInvalid) {
			t.Errorf("rollback with %+v: %v, want ErrInvalid", o, err)
		}
		if _, err := r.e.Plan(context.Background(), req); !errors.Is(err, ErrInvalid) {
			t.Errorf("plan with %+v: %v, want ErrInvalid", o, err)
		}
	}
	r.fake.noKept = true
	if _, err := r.keep("pool/a@s"); !errors.Is(err, ErrPrecondition) || !strings.Contains(err.Error(), "cannot keep") {
		t.Errorf("keep on a backend that does not keep: %v", err)
	}
	if n := len(r.w.log()); n != 0 {
		t.Errorf("%d steps ran", n)
	}
}

// TestPlanKeepProvisional: a dry run of a keep names the kept datasets by
// the id the next operation gets, and says the name is provisional.
func TestPlanKeepProvisional(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{})
	if _, err := r.keep("pool/b@s"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 15, 24, 35, 0, time.UTC)
	r.e.now = func() time.Time { return now }
	op, err := r.e.Plan(context.Background(), Request{Snapshot: "pool/a@s", Options: store.Options{Keep: true}})
	if err != nil {
		t.Fatal(err)
	}
	if op.Options.KeptSuffix != ".kept-2-20261207T152435Z" || op.Identity.Kept != "pool/a.kept-2-20261207T152435Z" ||
		!slices.ContainsFunc(op.Warnings, func(w string) bool { return strings.Contains(w, "provisional") && strings.Contains(w, "operation 2") }) {
		t.Errorf("plan: suffix %q kept %q warnings %q", op.Options.KeptSuffix, op.Identity.Kept, op.Warnings)
	}
	if last, _ := r.db.LastOperationID(); last != 1 {
		t.Errorf("a plan journaled: last id %d", last)
	}
}

// TestKeptListing: the records, newest first, each with what it holds
// now or why that is not known (never 0 for unknown), by volume.
func TestKeptListing(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{})
	k1, _ := r.keep("pool/a@s")
	k2, _ := r.keep("pool/b@s")
	u3, err := r.undo(k2.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.fake.used["pool/a"+k1.Options.KeptSuffix] = 1 << 20
	all, err := r.e.Kept(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range all {
		s := fmt.Sprintf("%d %s %s %d", d.Op, d.Volume, d.State, d.Used)
		if d.UsedErr != nil {
			s += " (" + d.UsedErr.Error() + ")"
		}
		got = append(got, s)
	}
	want := []string{
		fmt.Sprintf("%d pool/b kept 0 (cannot open 'pool/b%s': dataset does not exist)", u3.ID, u3.Options.KeptSuffix),
		fmt.Sprintf("%d pool/b undone 0 (undone by operation %d: it is pool/b again)", k2.ID, u3.ID),
		fmt.Sprintf("%d pool/a kept 1048576", k1.ID),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Kept(\"\") =\n%q\nwant\n%q", got, want)
	}
	a, err := r.e.Kept(context.Background(), "pool/a")
	if err != nil || len(a) != 1 || a[0].Op != k1.ID {
		t.Errorf("Kept(pool/a) = %+v, %v", a, err)
	}
}

// TestRetentionPicks: which operations retention forgets.
func TestRetentionPicks(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	k := func(op uint64, vol string, age time.Duration, st store.KeptState) store.Kept {
		return store.Kept{Op: op, Volume: vol, Dataset: fmt.Sprintf("%s.kept-%d", vol, op), Created: now.Add(-age), State: st}
	}
	recs := []store.Kept{
		k(5, "pool/a", 1*time.Hour, store.KeptKept),
		k(4, "pool/a", 2*time.Hour, store.KeptKept), k(4, "pool/b", 2*time.Hour, store.KeptKept), // a group
		k(3, "pool/a", 30*time.Hour, store.KeptKept),
		k(2, "pool/a", 40*time.Hour, store.KeptUndone),
		k(1, "pool/a", 50*time.Hour, store.KeptForgotten),
	}
	cases := []struct {
		name string
		r    Retention
		want []uint64
	}{
		{"off", Retention{}, nil},
		{"keep_for a day", Retention{KeepFor: 24 * time.Hour}, []uint64{3}},
		{"keep_for an hour and a half", Retention{KeepFor: 90 * time.Minute}, []uint64{3, 4}},
		{"keep_last 1: the group stays while pool/b's newest is its", Retention{KeepLast: 1}, []uint64{3}},
		{"keep_last 2", Retention{KeepLast: 2}, []uint64{3}},
		{"keep_last 3", Retention{KeepLast: 3}, nil},
		{"both: either limit", Retention{KeepFor: 24 * time.Hour, KeepLast: 10}, []uint64{3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := expired(recs, now, tc.r); !slices.Equal(got, tc.want) {
				t.Errorf("expired = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRetentionRound: with a fake clock, a round forgets what expired as
// journaled forget operations requested by retention, and leaves a held
// volume's for the next round.
func TestRetentionRound(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{Retention: Retention{KeepFor: 24 * time.Hour}})
	k1, _ := r.keep("pool/a@s")
	k2, _ := r.keep("pool/b@s")
	if k1 == nil || k2 == nil {
		t.Fatal("keeps failed")
	}
	held := journaledOp(3, store.KindRollback, false, "pool/b", store.OpNeedsAttention, false)
	held.Attention = "boot-zones is left"
	journal(t, r.db, held)
	if ran := r.e.retentionRound(context.Background()); len(ran) != 0 {
		t.Errorf("a round before anything expired ran %v", ran)
	}
	later := time.Now().Add(25 * time.Hour)
	r.e.now = func() time.Time { return later }
	ran := r.e.retentionRound(context.Background())
	if len(ran) != 1 {
		t.Fatalf("a round after a day ran %v, want one forget", ran)
	}
	f, err := r.db.GetOperation(ran[0])
	if err != nil || f.Kind != store.KindForget || f.Options.Forget != k1.ID || f.RequestedBy != RetentionRequester || f.State != store.OpSucceeded {
		t.Errorf("retention's forget: %+v %v", f, err)
	}
	if got := r.kept(t, k2.ID); !slices.Equal(got, []string{"pool/b" + k2.Options.KeptSuffix + "=kept"}) {
		t.Errorf("the held volume's record: %q, want kept (next round)", got)
	}
	// Released: the next round forgets it.
	if _, err := r.e.Resolve(context.Background(), 3, "test", "fixed by hand"); err != nil {
		t.Fatal(err)
	}
	if ran := r.e.retentionRound(context.Background()); len(ran) != 1 {
		t.Errorf("the round after the hold went ran %v", ran)
	}
}

// TestRetentionAfterKeep: with retention on, a keep that ends asks the
// loop for a round (keep_last 1: the older keep goes).
func TestRetentionAfterKeep(t *testing.T) {
	r := newKeepRig(t, solarisLike, Config{Retention: Retention{KeepLast: 1}})
	if err := r.e.Start(); err != nil {
		t.Fatal(err)
	}
	k1, _ := r.keep("pool/a@s")
	k2, _ := r.keep("pool/a@t")
	if k1 == nil || k2 == nil {
		t.Fatal("keeps failed")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got := r.kept(t, k1.ID); len(got) == 1 && strings.HasSuffix(got[0], "=forgotten by 3") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention did not forget operation %d: %q", k1.ID, r.kept(t, k1.ID))
		}
	}
	if got := r.kept(t, k2.ID); len(got) != 1 || !strings.HasSuffix(got[0], "=kept") {
		t.Errorf("the newest keep: %q", got)
	}
}

// keptCounter records the kept gauge.
type keptCounter struct {
	nopObserver
	mu sync.Mutex
	n  []int
}

func (k *keptCounter) KeptDatasets(n int) { k.mu.Lock(); k.n = append(k.n, n); k.mu.Unlock() }

// TestKeptGauge: the observer hears how many datasets are kept at start
// and after each keep, undo and forget.
func TestKeptGauge(t *testing.T) {
	obs := &keptCounter{}
	r := newKeepRig(t, solarisLike, Config{Observer: obs})
	if err := r.e.Start(); err != nil {
		t.Fatal(err)
	}
	k1, _ := r.keep("pool/a@s", "pool/b@s")
	u2, _ := r.undo(k1.ID)
	if _, err := r.forget(u2.ID); err != nil {
		t.Fatal(err)
	}
	r.e.Wait()
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if !slices.Equal(obs.n, []int{0, 2, 2, 0}) {
		t.Errorf("kept gauge reports %v, want [0 2 2 0]", obs.n)
	}
}
