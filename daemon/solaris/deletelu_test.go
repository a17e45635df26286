package solaris_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// A delete-lu that fails with an ordinary error (not "resource busy"):
// libstmf has removed the LU from the SMF store before the kernel refused
// (docs/platform/comstar-delete-lu.md; the sim's fail-partway fault), so
// the LU is registered but unpersisted. The caller consented to an outage
// by asking for the rollback: delete-lu is retried, and when the rollback
// is undone anyway the LU is re-persisted at once.

// unknownError is a delete-lu failing in the kernel for a reason stmfadm
// does not name (deleteLuFunc's default case).
func unknownError(times int) sim.Fault {
	return sim.Fault{Command: "stmfadm", Match: "stmfadm delete-lu -k " + sim.SeedGUID0, Times: times,
		Action: sim.ActionFailPartway, Exit: 1, Stderr: "stmfadm: unknown error"}
}

// deleteCommands are the delete-lu commands of the operation's delete-lu
// step (forward) and of its undo.
func deleteCommands(op *store.Operation) (do, undo []store.Command) {
	for _, st := range op.Steps {
		if st.Name != "delete-lu" {
			continue
		}
		for _, c := range st.Commands {
			if len(c.Argv) > 1 && c.Argv[1] == "delete-lu" {
				do = append(do, c)
			}
		}
		for _, c := range st.CompensationCommands {
			if len(c.Argv) > 1 && c.Argv[1] == "delete-lu" {
				undo = append(undo, c)
			}
		}
	}
	return do, undo
}

// mustPersisted fails unless the seed's LU is in STMF's persistent store
// (the SMF provider data) and the host survives an stmf restart as want.
func mustPersisted(t *testing.T, root string, want simtest.Outcome) {
	t.Helper()
	if ok, err := simtest.Persisted(root, sim.SeedGUID0, seedFile); err != nil || !ok {
		t.Fatalf("LU %s is not in STMF's persistent store (%v)", sim.SeedGUID0, err)
	}
	if bad := simtest.CheckRestart(root, want, sim.ZoneRunning); len(bad) > 0 {
		t.Fatalf("%s", strings.Join(bad, "; "))
	}
}

// TestDeleteLUFailsOnceThenRetried: the first delete-lu fails, the retry
// deletes the LU, and the rollback goes on and succeeds; both attempts are
// journaled with the step.
func TestDeleteLUFailsOnceThenRetried(t *testing.T) {
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		root := faultHost(t, flavor)
		if err := sim.AddFault(root, unknownError(1)); err != nil {
			t.Fatal(err)
		}
		e, db := newEngine(t, root, engine.Config{Retries: 2})
		op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
		if err != nil || op.State != store.OpSucceeded {
			t.Fatalf("rollback: %v (state %v), want it to succeed after a retry", err, stateOf(op))
		}
		j, err := db.GetOperation(op.ID)
		if err != nil {
			t.Fatal(err)
		}
		do, _ := deleteCommands(j)
		if len(do) != 2 || do[0].Exit == 0 || !strings.Contains(do[0].Stderr, "unknown error") || do[1].Exit != 0 {
			t.Fatalf("journaled delete-lu commands %+v: want the failure and one retry that succeeded", do)
		}
		simtest.MustZone(t, root, simtest.AtSnapshot, sim.ZoneRunning)
		mustPersisted(t, root, simtest.AtSnapshot)
	})
}

// TestDeleteLUFailsForGoodRepersisted: every attempt fails (Retries 2:
// three), so the rollback is undone; the LU the failures unpersisted is
// re-persisted at once (delete-lu -k, import-lu) without asking: the
// operation ends rolled_back, the LU survives an stmf restart.
func TestDeleteLUFailsForGoodRepersisted(t *testing.T) {
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		root := faultHost(t, flavor)
		if err := sim.AddFault(root, unknownError(3)); err != nil {
			t.Fatal(err)
		}
		e, _ := newEngine(t, root, engine.Config{Retries: 2})
		op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
		if !errors.Is(err, engine.ErrStepFailed) || errors.Is(err, engine.ErrNeedsAttention) || op.State != store.OpRolledBack || op.NeedsRepersist {
			t.Fatalf("rollback: %v (state %v, needs_repersist %v), want rolled_back", err, stateOf(op), op.NeedsRepersist)
		}
		do, undo := deleteCommands(op)
		if len(do) != 3 || len(undo) != 1 || undo[0].Exit != 0 {
			t.Errorf("delete-lu: %d attempts, %d in the undo (%+v): want 3 and one re-persist", len(do), len(undo), undo)
		}
		simtest.MustZone(t, root, simtest.Untouched, sim.ZoneRunning)
		mustPersisted(t, root, simtest.Untouched)
	})
}

// TestRepersistImportFails: the re-persist's delete-lu succeeds but
// import-lu keeps failing: the LU is away, and the operation must say so
// (needs attention, never rolled_back); once the cause is gone, recover
// brings it back, persisted, and exits cleanly.
func TestRepersistImportFails(t *testing.T) {
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		root := faultHost(t, flavor)
		for _, f := range []sim.Fault{unknownError(3),
			{Command: "stmfadm", Match: "stmfadm import-lu " + seedFile, Action: sim.ActionFail, Exit: 1, Stderr: "stmfadm: unknown error"}} {
			if err := sim.AddFault(root, f); err != nil {
				t.Fatal(err)
			}
		}
		e, _ := newEngine(t, root, engine.Config{Retries: 2})
		op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
		if !errors.Is(err, engine.ErrNeedsAttention) || op.State != store.OpNeedsAttention {
			t.Fatalf("rollback: %v (state %v), want needs attention", err, stateOf(op))
		}
		if st, _ := sim.Load(root); st.LU(sim.SeedGUID0) != nil {
			t.Fatalf("the LU is registered: the import-lu fault did not hold it away")
		}
		if !strings.Contains(op.Attention, "could not restore: delete-lu") || !strings.Contains(op.Attention, "volctl recover") {
			t.Errorf("attention %q: want it to say the LU could not be restored and how to recover", op.Attention)
		}
		if err := sim.ClearFaults(root); err != nil {
			t.Fatal(err)
		}
		op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{}, func(engine.Event) {})
		if err != nil || op.State != store.OpRolledBack {
			t.Fatalf("recover: %v (state %v), want rolled_back without an error", err, stateOf(op))
		}
		simtest.MustZone(t, root, simtest.Untouched, sim.ZoneRunning)
		mustPersisted(t, root, simtest.Untouched)
	})
}

// TestDeleteLUBusyWaitsForRepersist: "resource busy" is final (not
// retried: the LU is held) and the LU it unpersisted is not re-persisted
// without consent; recover --repersist does it and succeeds (no error:
// the operation reached a consistent end).
func TestDeleteLUBusyWaitsForRepersist(t *testing.T) {
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		root := faultHost(t, flavor)
		busy := unknownError(1)
		busy.Stderr = "stmfadm: resource busy"
		if err := sim.AddFault(root, busy); err != nil {
			t.Fatal(err)
		}
		e, _ := newEngine(t, root, engine.Config{Retries: 2})
		op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
		if err == nil || op.State != store.OpNeedsAttention || !op.NeedsRepersist || !strings.Contains(op.Attention, "--repersist") {
			t.Fatalf("rollback: %v (state %v, needs_repersist %v, %q), want needs attention asking for --repersist", err, stateOf(op), op.NeedsRepersist, op.Attention)
		}
		if do, undo := deleteCommands(op); len(do) != 1 || len(undo) != 0 {
			t.Errorf("delete-lu ran %d times forward and %d in the undo: want once, and no re-persist without consent", len(do), len(undo))
		}
		simtest.MustZone(t, root, simtest.Untouched, sim.ZoneRunning)
		if ok, _ := simtest.Persisted(root, sim.SeedGUID0, seedFile); ok {
			t.Fatal("the busy delete-lu did not unpersist the LU: the fault does not model libstmf")
		}
		op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{Repersist: true}, func(engine.Event) {})
		if err != nil || op.State != store.OpRolledBack || op.NeedsRepersist {
			t.Fatalf("recover --repersist: %v (state %v), want rolled_back without an error", err, stateOf(op))
		}
		mustPersisted(t, root, simtest.Untouched)
	})
}
