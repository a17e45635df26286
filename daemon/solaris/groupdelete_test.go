package solaris_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// A group's LUs go with one stmfadm delete-lu -k G0 G1 (issue 24, item 3).
// When it fails, stmfadm has deleted some operands and failed others,
// each failed one registered but gone from the SMF store, and its message
// does not say which (docs/platform/comstar-delete-lu.md, "Several
// operands"): volctl reads each LU back, and retries, undoes and
// re-persists LU by LU, exactly as for one LU.

const (
	groupFile0 = "/dev/zvol/rdsk/pool/idisk0"
	groupFile1 = "/dev/zvol/rdsk/pool/idisk1"
)

// stepCommands are the argvs (without the command's path) of the step's
// commands, forward or its undo's.
func stepCommands(op *store.Operation, step string, undo bool) []string {
	var out []string
	for _, st := range op.Steps {
		if st.Name != step {
			continue
		}
		cmds := st.Commands
		if undo {
			cmds = st.CompensationCommands
		}
		for _, c := range cmds {
			out = append(out, strings.Join(c.Argv[1:], " "))
		}
	}
	return out
}

func countPrefix(cmds []string, prefix string) int {
	n := 0
	for _, c := range cmds {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// TestGroupDeleteLUOneCommand: the group's delete-lu step plans and runs
// one delete-lu -k naming both LUs, and the host sees one delete-lu.
func TestGroupDeleteLUOneCommand(t *testing.T) {
	root := groupHost(t)
	e, _ := newEngine(t, root, engine.Config{})
	before, _ := sim.Calls(root)
	op, err := e.Rollback(context.Background(), groupRequest, func(engine.Event) {})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("group rollback: %v (state %v)", err, stateOf(op))
	}
	want := "delete-lu -k " + sim.SeedGUID0 + " " + sim.SeedGUID1
	if got := stepCommands(op, "delete-lu", false); !slices.Equal(got, []string{want}) {
		t.Errorf("delete-lu step ran %q, want one %q", got, want)
	}
	for _, st := range op.Steps {
		if st.Name == "delete-lu" && (len(st.Planned) != 1 || strings.Join(st.Planned[0][1:], " ") != want) {
			t.Errorf("delete-lu step planned %q, want one %q", st.Planned, want)
		}
	}
	calls, _ := sim.Calls(root)
	n := 0
	for _, c := range calls[len(before):] {
		if len(c.Argv) > 2 && c.Argv[1] == "delete-lu" && c.Argv[2] == "-k" && len(c.Argv) > 3 {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the host saw %d delete-lu commands, want 1", n)
	}
	if bad := simtest.CheckGroup(root, simtest.AtSnapshot); len(bad) > 0 {
		t.Fatalf("%s", strings.Join(bad, "; "))
	}
}

// TestGroupDeleteLUPartway: the group's delete-lu fails partway on one of
// its operands (the first, or the second: stmfadm deleted the other, the
// failed one lost its SMF entry and stays registered). Once: read back,
// retried, the rollback succeeds and both LUs survive an stmf restart. On
// every attempt: rolled back, and only the failed LU is re-persisted
// (delete-lu -k of it alone, then import-lu); the other, deleted for
// good, is only imported.
func TestGroupDeleteLUPartway(t *testing.T) {
	for _, c := range []struct {
		name          string
		match         string
		failed, other string
	}{
		{"first", "stmfadm delete-lu -k " + sim.SeedGUID0, sim.SeedGUID0, sim.SeedGUID1},
		{"second", "stmfadm delete-lu -k " + sim.SeedGUID0 + " " + sim.SeedGUID1, sim.SeedGUID1, sim.SeedGUID0},
	} {
		for _, times := range []int{1, 3} {
			name := c.name
			if times > 1 {
				name += "/every attempt"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				root := groupHost(t)
				if err := sim.AddFault(root, sim.Fault{Command: "stmfadm", Match: c.match, Times: times,
					Action: sim.ActionFailPartway, Exit: 1, Stderr: "stmfadm: unknown error"}); err != nil {
					t.Fatal(err)
				}
				e, _ := newEngine(t, root, engine.Config{Retries: 2})
				op, err := e.Rollback(context.Background(), groupRequest, func(engine.Event) {})
				if op == nil {
					t.Fatalf("group rollback: %v", err)
				}
				do := stepCommands(op, "delete-lu", false)
				if n := countPrefix(do, "list-lu -v "+c.failed) + countPrefix(do, "list-lu -v "+c.other); n != 2*times {
					t.Errorf("delete-lu step ran %q: want each LU read back after each of the %d failures", do, times)
				}
				want := simtest.AtSnapshot
				if times == 1 {
					if op.State != store.OpSucceeded {
						t.Fatalf("group rollback: %v (state %v), want it to succeed after a retry", err, op.State)
					}
				} else {
					want = simtest.Untouched
					if op.State != store.OpRolledBack || op.NeedsRepersist {
						t.Fatalf("group rollback: %v (state %v, needs_repersist %v), want rolled_back", err, op.State, op.NeedsRepersist)
					}
					undo := stepCommands(op, "delete-lu", true)
					if countPrefix(undo, "delete-lu -k "+c.failed) != 1 || countPrefix(undo, "delete-lu -k "+c.other) != 0 || countPrefix(undo, "delete-lu") != 1 {
						t.Errorf("the undo ran %q: want one re-persist, of %s alone", undo, c.failed)
					}
					if countPrefix(undo, "import-lu ") != 2 {
						t.Errorf("the undo ran %q: want both LUs imported", undo)
					}
				}
				if bad := simtest.CheckGroup(root, want); len(bad) > 0 {
					t.Fatalf("%s", strings.Join(bad, "; "))
				}
				if err := sim.RestartSTMF(root); err != nil {
					t.Fatal(err)
				}
				if bad := simtest.CheckGroup(root, want); len(bad) > 0 {
					t.Fatalf("after an stmf restart: %s", strings.Join(bad, "; "))
				}
			})
		}
	}
}

// TestGroupDeleteLUMixedFailures: both operands fail, one "resource busy"
// (pool/idisk0's LU is held) and one not, and stmfadm's lines do not say
// which is whose. Each is deleted again on its own: the held one fails
// "resource busy" again (final), the other goes. The rollback is undone;
// the held LU alone waits for recover --repersist, the other is back and
// persisted, and recover --repersist, once nothing holds the LU, ends it
// rolled back with both persisted.
func TestGroupDeleteLUMixedFailures(t *testing.T) {
	root := groupHost(t)
	if err := sim.Update(root, func(s *sim.State) error { s.LU(sim.SeedGUID0).Busy = true; return nil }); err != nil {
		t.Fatal(err)
	}
	// The match names neither GUID whole (their common prefix), so the
	// fault fails every operand partway, printing both lines.
	if err := sim.AddFault(root, sim.Fault{Command: "stmfadm", Match: "stmfadm delete-lu -k 600144F0A613C9", Times: 1,
		Action: sim.ActionFailPartway, Exit: 2, Stderr: "stmfadm: resource busy\nstmfadm: unknown error"}); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{Retries: 2})
	op, err := e.Rollback(context.Background(), groupRequest, func(engine.Event) {})
	if op == nil || op.State != store.OpNeedsAttention || !op.NeedsRepersist {
		t.Fatalf("group rollback: %v (state %v), want needs_attention for a re-persist", err, stateOf(op))
	}
	do := stepCommands(op, "delete-lu", false)
	want := []string{"delete-lu -k " + sim.SeedGUID0 + " " + sim.SeedGUID1, "delete-lu -k " + sim.SeedGUID0, "delete-lu -k " + sim.SeedGUID1}
	var deletes []string
	for _, c := range do {
		if strings.HasPrefix(c, "delete-lu") {
			deletes = append(deletes, c)
		}
	}
	slices.Sort(deletes[1:])
	if !slices.Equal(deletes, want) {
		t.Errorf("delete-lu step ran %q: want the group's delete-lu, then each LU's alone", do)
	}
	if !strings.Contains(op.Attention, sim.SeedGUID0) || strings.Contains(op.Attention, sim.SeedGUID1) {
		t.Errorf("attention %q: want it to name the held LU %s alone", op.Attention, sim.SeedGUID0)
	}
	if ok, _ := simtest.Persisted(root, sim.SeedGUID1, groupFile1); !ok {
		t.Errorf("LU %s (not held) is not persisted while the operation waits", sim.SeedGUID1)
	}
	if ok, _ := simtest.Persisted(root, sim.SeedGUID0, groupFile0); ok {
		t.Errorf("LU %s is persisted: the held LU's failed delete-lu should have unpersisted it", sim.SeedGUID0)
	}
	if err := sim.Update(root, func(s *sim.State) error { s.LU(sim.SeedGUID0).Busy = false; return nil }); err != nil {
		t.Fatal(err)
	}
	op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{Repersist: true}, func(engine.Event) {})
	if err != nil || op.State != store.OpRolledBack {
		t.Fatalf("recover --repersist: %v (state %v), want rolled_back", err, stateOf(op))
	}
	if bad := simtest.CheckGroup(root, simtest.Untouched); len(bad) > 0 {
		t.Fatalf("%s", strings.Join(bad, "; "))
	}
	if err := sim.RestartSTMF(root); err != nil {
		t.Fatal(err)
	}
	if bad := simtest.CheckGroup(root, simtest.Untouched); len(bad) > 0 {
		t.Fatalf("after an stmf restart: %s", strings.Join(bad, "; "))
	}
}
