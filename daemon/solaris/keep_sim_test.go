package solaris_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// A rollback that keeps what it replaces, its undo, the undo of the undo,
// and a forget, end to end on the seed's host of each flavor (docs/keep.md).

// keepHost is the seed with kz1 running (where the flavor has it) and a
// snapshot newer than snap1, snap2, of the data after snap1.
func keepHost(t *testing.T, flavor string) string {
	root := faultHost(t, flavor)
	host(t, root, "zfs", "snapshot", "pool/idisk0@snap2")
	return root
}

// keepRollback is rollback --keep of pool/idisk0 to snap1.
func keepRollback(t *testing.T, e *engine.Engine) (*store.Operation, error) {
	t.Helper()
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{Keep: true, HaltZones: true})
	return op, err
}

func undo(t *testing.T, e *engine.Engine, id uint64) (*store.Operation, error) {
	t.Helper()
	return e.Undo(context.Background(), engine.UndoRequest{Operation: id, Options: store.Options{HaltZones: true}}, func(engine.Event) {})
}

func forget(t *testing.T, e *engine.Engine, id uint64) (*store.Operation, error) {
	t.Helper()
	return e.Forget(context.Background(), engine.ForgetRequest{Operation: id, DestroyKept: true}, func(engine.Event) {})
}

// mustKeepHost fails the test unless the host is on side (kz1 running),
// also after an stmf restart.
func mustKeepHost(t *testing.T, root string, side simtest.KeepSide) {
	t.Helper()
	if bad := simtest.CheckKeepSide(root, side, sim.ZoneRunning); len(bad) > 0 {
		t.Fatalf("host not as it should be:\n  %s", strings.Join(bad, "\n  "))
	}
	if bad := simtest.CheckKeepRestart(root, side, sim.ZoneRunning); len(bad) > 0 {
		t.Fatalf("after an stmf restart:\n  %s", strings.Join(bad, "\n  "))
	}
}

func TestKeepRollbackUndoForget(t *testing.T) { simtest.ForFlavors(t, testKeepRollbackUndoForget) }

func testKeepRollbackUndoForget(t *testing.T, flavor string) {
	root := keepHost(t, flavor)
	e, db := newEngine(t, root, engine.Config{})
	op, err := keepRollback(t, e)
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("keep rollback: %v (%+v)", err, op)
	}
	kept1 := op.Identity.Kept
	if !strings.HasPrefix(kept1, simtest.KeptPrefix+fmt.Sprint(op.ID)+"-") {
		t.Fatalf("kept dataset %q", kept1)
	}
	// The volume at snap1 with snap1 and what came before; snap2 and the
	// data from before in the kept dataset, a clone of pool/idisk0@snap1.
	_, after := simtest.KeepSides(false, "", kept1)
	mustKeepHost(t, root, after)
	if got := mutating(t, root); slices.ContainsFunc(got, func(c string) bool {
		return strings.HasPrefix(c, "stmfadm import-lu") || strings.HasPrefix(c, "zfs rollback") || strings.HasPrefix(c, "zfs destroy")
	}) {
		t.Errorf("a keep imported, rolled back or destroyed: %q", got)
	}
	st, _ := sim.Load(root)
	if m := st.Zvol(kept1).UserProps["volctl:kept"]; m != fmt.Sprintf("operation %d: pool/idisk0 before it went back to pool/idisk0@snap1", op.ID) {
		t.Errorf("kept mark %q", m)
	}
	recs, err := db.ListKept()
	if err != nil || len(recs) != 1 || recs[0].Dataset != kept1 || recs[0].State != store.KeptKept {
		t.Errorf("kept records %+v, %v", recs, err)
	}

	// Undo: the data and every snapshot back; what the keep put in place
	// kept in turn.
	u, err := undo(t, e, op.ID)
	if err != nil || u.State != store.OpSucceeded {
		t.Fatalf("undo: %v (%+v)", err, u)
	}
	kept2 := u.Identity.Kept
	_, after = simtest.KeepSides(true, kept1, kept2)
	mustKeepHost(t, root, after)
	st, _ = sim.Load(root)
	if m := st.Zvol("pool/idisk0").UserProps["volctl:kept"]; m != "" {
		t.Errorf("the volume still carries the kept mark %q", m)
	}

	// The undo of the undo: at snap1 again.
	uu, err := undo(t, e, u.ID)
	if err != nil || uu.State != store.OpSucceeded {
		t.Fatalf("undo of the undo: %v (%+v)", err, uu)
	}
	kept3 := uu.Identity.Kept
	mustKeepHost(t, root, simtest.KeepSide{Data: simtest.DataAtSnap, Snaps: []string{"snap1"},
		Kept: []simtest.KeptWant{{Name: kept3, Data: simtest.DataAfterSnap, Origin: "pool/idisk0@snap1", Snaps: []string{"snap2"}}}})

	// Forget: only the kept dataset goes.
	f, err := forget(t, e, uu.ID)
	if err != nil || f.State != store.OpSucceeded {
		t.Fatalf("forget: %v (%+v)", err, f)
	}
	mustKeepHost(t, root, simtest.KeepSide{Data: simtest.DataAtSnap, Snaps: []string{"snap1"}})
	st, _ = sim.Load(root)
	if st.Zvol("pool/idisk1") == nil || st.LU(sim.SeedGUID1) == nil {
		t.Error("forget touched pool/idisk1")
	}
}

// A dataset whose mark is not the operation's is never destroyed.
func TestForgetRefusesAForeignMark(t *testing.T) {
	root := keepHost(t, sim.FlavorIllumos)
	e, _ := newEngine(t, root, engine.Config{})
	op, err := keepRollback(t, e)
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("keep rollback: %v", err)
	}
	host(t, root, "zfs", "set", "volctl:kept=someone else's", op.Identity.Kept)
	// The capture refuses it (zvol.CheckKept); were the mark changed
	// after the capture, destroy-kept would (zvol.DestroyKept).
	f, err := forget(t, e, op.ID)
	if !errors.Is(err, engine.ErrPrecondition) || f != nil && f.State != store.OpRolledBack {
		t.Fatalf("forget of a dataset marked by someone else: %v (%+v)", err, f)
	}
	st, _ := sim.Load(root)
	if st.Zvol(op.Identity.Kept) == nil {
		t.Fatal("the kept dataset was destroyed")
	}
}

// The plan of a keep rollback runs nothing and shows every command.
func TestKeepPlanIsADryRun(t *testing.T) { simtest.ForFlavors(t, testKeepPlanIsADryRun) }

func testKeepPlanIsADryRun(t *testing.T, flavor string) {
	root := keepHost(t, flavor)
	e, _ := newEngine(t, root, engine.Config{})
	before := len(mutating(t, root))
	op, err := e.Plan(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1", Options: store.Options{Keep: true, HaltZones: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got := mutating(t, root); len(got) != before {
		t.Errorf("the plan changed the host: %q", got[before:])
	}
	var names []string
	for _, st := range op.Steps[1:] {
		names = append(names, st.Name)
	}
	want := zoneSteps(flavor, []string{"stop-zones", "detach-zones"},
		[]string{"delete-lu", "set-aside", "clone", "promote", "create-lu", "restore-views", "resize-lu", "verify", "mark-kept"},
		[]string{"attach-zones", "boot-zones"})
	if !slices.Equal(names, want) {
		t.Errorf("steps %v, want %v", names, want)
	}
	if !slices.ContainsFunc(op.Warnings, func(w string) bool { return strings.Contains(w, "until it is forgotten") }) {
		t.Errorf("no warning of what is kept: %q", op.Warnings)
	}
}
