package solaris_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// A keep rollback and an undo under faults (docs/keep.md): every command
// of each one's reference run failed in turn (once, twice, after its
// change, lying with exit 0, hanging until killed), and every command of
// the compensation after a failed promote. The host must end on one side,
// with nothing lost: the volume whole at the snapshot with its data from
// before in one kept dataset, or as it was with no kept dataset left; the
// LU with its GUID, properties and views, persisted; kz1 running.

// keepKinds are the operations the suites run: a keep rollback of the
// seed's pool/idisk0 to snap1 (with snap2 newer), and the undo of one.
var keepKinds = []string{store.KindRollback, store.KindUndo}

// keptName matches a kept dataset's name up to its time, which differs
// from run to run: a fault's match stops there.
var keptName = regexp.MustCompile(`\.kept-\d+-`)

// keepMatch is the part of "cmd args" a fault matches: up to the first
// kept dataset's time.
func keepMatch(match string) string {
	if loc := keptName.FindStringIndex(match); loc != nil {
		return match[:loc[1]]
	}
	return match
}

// keepSetup is a keep host of flavor ready for kind: for an undo, the
// keep rollback it undoes has run (its id and kept dataset returned).
func keepSetup(t *testing.T, flavor, kind string, e *engine.Engine, root string) (uint64, string) {
	t.Helper()
	if kind != store.KindUndo {
		return 0, ""
	}
	op, err := keepRollback(t, e)
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("the keep rollback to undo: %v", err)
	}
	return op.ID, op.Identity.Kept
}

// runKeep runs kind (after keepSetup) and returns the operation.
func runKeep(t *testing.T, e *engine.Engine, kind string, undone uint64) (*store.Operation, error) {
	t.Helper()
	if kind == store.KindUndo {
		return undo(t, e, undone)
	}
	return keepRollback(t, e)
}

// keepReference runs kind on a fresh host of flavor with the faults pre
// and returns the calls of the run to inject into: from its first change
// on, with the capture's reads of the kept dataset and local properties,
// (with pre: those after the last injected failure).
func keepReference(t *testing.T, flavor, kind string, pre ...sim.Fault) []injection {
	root := keepHost(t, flavor)
	e, _ := newEngine(t, root, engine.Config{})
	undone, _ := keepSetup(t, flavor, kind, e, root)
	for _, f := range pre {
		if err := sim.AddFault(root, f); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := sim.Calls(root)
	op, err := runKeep(t, e, kind, undone)
	want := store.OpSucceeded
	if len(pre) > 0 {
		want = store.OpRolledBack
	}
	if op == nil || op.State != want {
		t.Fatalf("reference %s: %v, want %s", kind, err, want)
	}
	calls, _ := sim.Calls(root)
	seen := map[string]int{}
	var out []injection
	saga := false
	for _, c := range calls[len(before):] {
		if len(pre) > 0 && c.Fault != "" {
			out = out[:0]
			continue
		}
		cmd := filepath.Base(c.Argv[0])
		full := strings.Join(append([]string{cmd}, c.Argv[1:]...), " ")
		if strings.Contains(full, zfs.ProbePool) {
			continue // the capability probe: run again only after it failed (keepcrash_test.go)
		}
		match := keepMatch(full)
		seen[match]++
		saga = saga || !isRead(c.Argv)
		if saga || strings.Contains(full, "volctl:kept") || strings.Contains(full, "-s local") {
			out = append(out, injection{cmd: cmd, match: match, nth: seen[match]})
		}
	}
	return out
}

// promoteFails makes every zfs promote fail: the saga must compensate.
var promoteFails = sim.Fault{Command: "zfs", Match: "zfs promote", Action: sim.ActionFail, Exit: 1,
	Stderr: "cannot promote 'pool/idisk0': injected failure"}

func keepFaultCases(t *testing.T, flavor, kind string) []faultCase {
	type variant struct {
		action string
		times  int
	}
	var cases []faultCase
	add := func(prefix string, ref []injection, vs []variant, pre []sim.Fault) {
		for _, c := range ref {
			for _, v := range vs {
				if isRead(strings.Fields(c.match)) && v.action != sim.ActionFail && v.action != sim.ActionExit0Noop {
					continue // a read fails the same after its change, or hung
				}
				in := c
				in.action, in.times = v.action, v.times
				timeout := 10 * time.Second
				if in.action == sim.ActionHang {
					timeout = time.Second
				}
				faults := append(append([]sim.Fault(nil), pre...), sim.Fault{Command: in.cmd, Match: in.match, Nth: in.nth,
					Times: in.times, Action: in.action, Exit: 1, Stderr: in.cmd + ": injected failure"})
				cases = append(cases, faultCase{name: prefix + in.String(), faults: faults, timeout: timeout})
			}
		}
	}
	add("", keepReference(t, flavor, kind), []variant{{sim.ActionFail, 1}, {sim.ActionFail, 2}, {sim.ActionFailAfter, 1},
		{sim.ActionExit0Noop, 1}, {sim.ActionHang, 1}}, nil)
	add("compensating/", keepReference(t, flavor, kind, promoteFails), []variant{{sim.ActionFail, 1}, {sim.ActionFail, 3},
		{sim.ActionFailAfter, 1}, {sim.ActionHang, 1}}, []sim.Fault{promoteFails})
	return cases
}

// TestKeepFaultInjection is TestFaultInjection for a keep rollback and an
// undo, each flavor and kind with its own tally.
func TestKeepFaultInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection: not in -short")
	}
	for _, flavor := range simtest.Flavors() {
		for _, kind := range keepKinds {
			t.Run(flavor+"/"+kind, func(t *testing.T) {
				t.Parallel()
				cases := keepFaultCases(t, flavor, kind)
				var injected, consistent atomic.Int64
				sample := simtest.NewSample()
				t.Cleanup(func() {
					simtest.SampledSummary(keepTally(kind, "fault", flavor), int(injected.Load()), int(consistent.Load()), sample)
				})
				for _, c := range cases {
					if !sample.Take() {
						continue
					}
					t.Run(c.name, func(t *testing.T) {
						t.Parallel()
						injected.Add(1)
						t.Cleanup(func() {
							if !t.Failed() {
								consistent.Add(1)
							}
						})
						runKeepFaultCase(t, flavor, kind, c)
					})
				}
			})
		}
	}
}

// keepTally names a suite's tally line: keep-fault-injection[illumos],
// undo-crash-injection[solaris-11.4], ...
func keepTally(kind, suite, flavor string) string {
	k := "keep"
	if kind == store.KindUndo {
		k = "undo"
	}
	return fmt.Sprintf("%s-%s-injection[%s]", k, suite, flavor)
}

func runKeepFaultCase(t *testing.T, flavor, kind string, c faultCase) {
	root := keepHost(t, flavor)
	// The setup (an undo's keep rollback) runs with the usual deadlines,
	// on an engine of its own over the same journal: a hang case's 1 s is
	// for the injected command, not for a loaded machine's setup.
	journal := filepath.Join(t.TempDir(), "journal.db")
	undone, keptOp := uint64(0), ""
	if kind == store.KindUndo {
		db, err := store.Open(journal, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		se := engine.New(ctx, db, newBackend(root), engine.Config{RetryDelay: 10 * time.Millisecond, DefaultTimeout: 10 * time.Second}, nil)
		undone, keptOp = keepSetup(t, flavor, kind, se, root)
		cancel()
		se.Wait()
		db.Close()
	}
	db, err := store.Open(journal, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := engine.New(ctx, db, newBackend(root), engine.Config{Retries: 2, RetryDelay: time.Millisecond, DefaultTimeout: c.timeout}, nil)
	t.Cleanup(func() { cancel(); e.Wait(); db.Close() })
	for _, f := range c.faults {
		if err := sim.AddFault(root, f); err != nil {
			t.Fatal(err)
		}
	}
	op, err := runKeep(t, e, kind, undone)
	st, _ := sim.Load(root)
	if last := st.Faults[len(st.Faults)-1]; last.Fired == 0 {
		t.Fatalf("fault did not fire")
	}
	simtest.KillHung(root)
	outcome, final := expectOutcome(t, e, op, err, root)
	ended := fmt.Sprint(stateOf(op))
	if final != op {
		ended += ", recovered to " + fmt.Sprint(stateOf(final))
	}
	own := ""
	if final != nil {
		own = final.Identity.Kept
	}
	before, after := simtest.KeepSides(kind == store.KindUndo, keptOp, own)
	side := before
	if outcome == simtest.AtSnapshot {
		side = after
	}
	if bad := simtest.CheckKeepSide(root, side, sim.ZoneRunning); len(bad) > 0 {
		t.Fatalf("inconsistent after %s (op %s): %s", c.name, ended, strings.Join(bad, "; "))
	}
	if bad := simtest.CheckKeepRestart(root, side, sim.ZoneRunning); len(bad) > 0 {
		t.Fatalf("inconsistent after %s (op %s): %s", c.name, ended, strings.Join(bad, "; "))
	}
}
