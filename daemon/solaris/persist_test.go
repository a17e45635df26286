package solaris_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// TestBusyDeleteLULosesPersistence: delete-lu removes the LU from the SMF
// provider data before the kernel delete (docs/platform/comstar.md §3.2,
// docs/platform/comstar-delete-lu.md), so a delete-lu that fails "resource
// busy" leaves the LU online with its views but gone at the next stmf
// restart. That is not "restored": the operation needs attention saying so,
// recover refuses without consent, and recover --repersist puts the LU back
// into the store, which a simulated stmf restart then proves.
func TestBusyDeleteLULosesPersistence(t *testing.T) {
	for _, flavor := range []string{sim.FlavorSolaris, sim.FlavorIllumos} {
		t.Run(flavor, func(t *testing.T) {
			root := simtest.HostFlavor(t, flavor)
			setBusy := func(busy bool) {
				t.Helper()
				if err := sim.Update(root, func(s *sim.State) error { s.LU(sim.SeedGUID0).Busy = busy; return nil }); err != nil {
					t.Fatal(err)
				}
			}
			setBusy(true)
			e, _ := newEngine(t, root, engine.Config{})
			op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{})
			if err == nil || op == nil {
				t.Fatalf("rollback with a busy LU: %v, want a failure", err)
			}
			if op.State != store.OpNeedsAttention || !op.NeedsRepersist ||
				!strings.Contains(op.Attention, "would not come back after a reboot") || !strings.Contains(op.Attention, "--repersist") {
				t.Fatalf("state %s, needs_repersist %v, attention %q: want needs_attention explaining the lost persistence",
					op.State, op.NeedsRepersist, op.Attention)
			}
			// The world is as it was for now (LU online, views, data) ...
			simtest.Must(t, root, simtest.Untouched)

			// ... and recover will not take the outage without consent.
			if _, err := e.Recover(context.Background(), op.ID, engine.RecoverOptions{}, func(engine.Event) {}); !errors.Is(err, engine.ErrPrecondition) {
				t.Fatalf("recover without --repersist: %v, want a precondition failure", err)
			}
			// Still busy: the re-persisting delete-lu fails, nothing is lost.
			op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{Repersist: true}, func(engine.Event) {})
			if err == nil || op.State != store.OpNeedsAttention {
				t.Fatalf("recover while still busy: %v, state %v: want needs attention again", err, op.State)
			}
			simtest.Must(t, root, simtest.Untouched)

			setBusy(false)
			// Rolled back with the LU persisted again: recover reached a
			// consistent end, which is its success.
			op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{Repersist: true}, func(engine.Event) {})
			if err != nil || op.State != store.OpRolledBack || op.NeedsRepersist {
				t.Fatalf("recover --repersist: %v, state %v, needs_repersist %v: want rolled_back without an error", err, op.State, op.NeedsRepersist)
			}
			if err := sim.RestartSTMF(root); err != nil {
				t.Fatal(err)
			}
			simtest.Must(t, root, simtest.Untouched) // the LU survived the restart
		})
	}
}

// TestRestartSTMFWithoutRepersist shows the hazard the test above guards
// against: after the busy delete-lu, a restart of stmf loses the LU.
func TestRestartSTMFWithoutRepersist(t *testing.T) {
	root := simtest.HostFlavor(t, sim.FlavorIllumos)
	if err := sim.Update(root, func(s *sim.State) error { s.LU(sim.SeedGUID0).Busy = true; return nil }); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{})
	if op, _, _ := rollback(t, e, "pool/idisk0@snap1", store.Options{}); op == nil || op.State != store.OpNeedsAttention {
		t.Fatalf("op %+v: want needs_attention", op)
	}
	if err := sim.RestartSTMF(root); err != nil {
		t.Fatal(err)
	}
	if bad := simtest.Check(root, simtest.Untouched); !slices.ContainsFunc(bad, func(b string) bool { return strings.Contains(b, "not registered") }) {
		t.Fatalf("after an stmf restart the unpersisted LU should be gone; check says %v", bad)
	}
}
