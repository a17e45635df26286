package solaris_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// probed starts an engine on root and runs its start-up probes, which are
// refused on purpose where a feature is missing (Solaris has no written@,
// delete-lu -k with no operand "requires an operand", illumos has no
// zoneadm list -s); then it empties the refusal log and puts the host in
// strict mode. It returns the engine and how many calls the probes made.
func probed(t *testing.T, root string, cfg engine.Config) (*engine.Engine, *store.DB, int) {
	t.Helper()
	e, db := newEngine(t, root, cfg)
	if _, err := e.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls, err := sim.Calls(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.ClearRefused(root); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetStrict(root, true); err != nil {
		t.Fatal(err)
	}
	return e, db, len(calls)
}

// mustAccept fails the test if the host refused anything (an option,
// property, type or operand form its flavor lacks) since the probes, or if
// a call after the probes failed other than by an injected fault: every
// command the daemon runs after probing must be one the platform accepts.
func mustAccept(t *testing.T, root string, afterProbes int) {
	t.Helper()
	refused, err := sim.Refused(root)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]bool{}
	for _, r := range refused {
		bad[strings.Join(r.Argv, " ")] = true
		t.Errorf("refused (flavor %s, strict %v): %s: %s", r.Flavor, r.Strict, strings.Join(r.Argv, " "), r.Reason)
	}
	calls, err := sim.Calls(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) <= afterProbes {
		t.Fatalf("no calls after the probes")
	}
	for _, c := range calls[afterProbes:] {
		line := strings.Join(c.Argv, " ")
		switch {
		case bad[line]:
			t.Errorf("run after the probes and refused: %s (exit %d)", line, c.Exit)
		case c.Exit != 0 && c.Fault == "":
			t.Errorf("run after the probes and failed without an injected fault: %s (exit %d)", line, c.Exit)
		}
	}
}

// TestStrictNoRefusalAfterProbe: after the probes, nothing the daemon runs
// (inventory, plan, a rollback that succeeds, one that compensates) is
// refused by the flavor.
func TestStrictNoRefusalAfterProbe(t *testing.T) {
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		root := faultHost(t, flavor) // on Solaris kz1 runs: shutdown, detach, attach and boot too
		e, _, afterProbes := probed(t, root, engine.Config{Retries: 2})
		ctx := context.Background()
		if _, err := e.ListVolumes(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.GetVolume(ctx, "pool/idisk0"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Snapshots(ctx, "pool/idisk0"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Plan(ctx, engine.Request{Snapshot: "pool/idisk0@snap1", Options: store.Options{HaltZones: true}}); err != nil {
			t.Fatal(err)
		}
		// First the one that compensates, while the volume still differs
		// from the snapshot (on illumos written@snap1 0 after a zfs
		// rollback that failed would count as "at the snapshot" and the
		// rollback would go on).
		if err := sim.AddFault(root, rollbackFails); err != nil {
			t.Fatal(err)
		}
		op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
		if err == nil || op == nil || op.State != store.OpRolledBack {
			t.Fatalf("rollback with zfs rollback failing: %v (state %v), want rolled_back", err, stateOf(op))
		}
		if !strings.Contains(err.Error(), "dataset is busy") {
			t.Errorf("the caller's error does not carry zfs's: %v", err)
		}
		simtest.MustZone(t, root, simtest.Untouched, sim.ZoneRunning)

		if err := sim.ClearFaults(root); err != nil {
			t.Fatal(err)
		}
		op, _, err = rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
		if err != nil || op.State != store.OpSucceeded {
			t.Fatalf("rollback: %v (state %v)", err, stateOf(op))
		}
		simtest.MustZone(t, root, simtest.AtSnapshot, sim.ZoneRunning)
		mustAccept(t, root, afterProbes)
	})
}

// TestNoDeleteLUKeepIsRefused: a stmfadm whose delete-lu has no -k (the
// 11.2/11.3 man pages) would drop the views with the LU; the probe finds
// that and the rollback is refused before anything changes.
func TestNoDeleteLUKeepIsRefused(t *testing.T) {
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		root := simtest.HostFlavor(t, flavor)
		if err := sim.SetKnob(root, sim.KnobNoDeleteLUKeep, true); err != nil {
			t.Fatal(err)
		}
		e, db, _ := probed(t, root, engine.Config{})
		before, _ := os.ReadFile(filepath.Join(root, "state.json"))
		if caps := e.Capabilities(); caps.Has(store.CapDeleteLUKeep) {
			t.Errorf("capabilities %+v: want %s probed as missing", caps, store.CapDeleteLUKeep)
		}
		op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{})
		if !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), "delete-lu -k") {
			t.Fatalf("err = %v (op state %v), want a precondition failure naming delete-lu -k", err, stateOf(op))
		}
		if got := mutating(t, root); len(got) > 0 {
			t.Errorf("refused rollback changed the host: %v", got)
		}
		after, _ := os.ReadFile(filepath.Join(root, "state.json"))
		if string(before) != string(after) {
			t.Error("host state changed")
		}
		if ops, _ := db.ListOperations(0, nil); len(ops) != 0 {
			t.Errorf("a refused request journaled %d operations", len(ops))
		}
		simtest.Must(t, root, simtest.Untouched)
		if refused, _ := sim.Refused(root); len(refused) > 0 {
			t.Errorf("after the probes the host refused: %s", fmtRefusals(refused))
		}
	})
}

// TestNoListPRollsBack: a zfs without list -p (Solaris 11.0-11.2) is
// probed, its numbers read with zfs get -p instead, and the rollback
// succeeds without one refusal after the probes.
func TestNoListPRollsBack(t *testing.T) {
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		root := simtest.HostFlavor(t, flavor)
		if err := sim.SetKnob(root, sim.KnobNoListP, true); err != nil {
			t.Fatal(err)
		}
		e, _, afterProbes := probed(t, root, engine.Config{})
		if caps := e.Capabilities(); caps.Has(store.CapZfsListP) {
			t.Errorf("capabilities %+v: want %s probed as missing", caps, store.CapZfsListP)
		}
		if _, err := e.ListVolumes(context.Background()); err != nil {
			t.Errorf("list volumes: %v", err)
		}
		op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{})
		if err != nil || op.State != store.OpSucceeded {
			t.Fatalf("rollback: %v (state %v)", err, stateOf(op))
		}
		simtest.Must(t, root, simtest.AtSnapshot)
		mustAccept(t, root, afterProbes)
	})
}

func fmtRefusals(rs []sim.Refusal) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n  %s: %s", strings.Join(r.Argv, " "), r.Reason)
	}
	return b.String()
}
