package solaris_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// The group saga under faults: kz1 with two disks (pool/idisk0, and
// pool/idisk1 as the other half of a mirrored root pool), running,
// rolled back together to @g1; every command of the reference run failed
// (once, and after its change) in turn, and those of the outage window
// (stmfadm, zfs rollback) hung. The group must end on
// one side: both volumes at @g1 or both untouched, both LUs with their
// views, kz1 running with a key that reads its disk.

// groupHost is the group scenario before the rollback
// (simtest.GroupHost).
func groupHost(t *testing.T) string { return simtest.GroupHost(t) }

var groupRequest = engine.Request{Snapshot: "g1", Zone: "kz1", Options: store.Options{HaltZones: true}}

func TestGroupFaultInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection: not in -short")
	}
	root := groupHost(t)
	before, _ := sim.Calls(root)
	e, _ := newEngine(t, root, engine.Config{})
	op, err := e.Rollback(context.Background(), groupRequest, func(engine.Event) {})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("reference group rollback: %v", err)
	}
	if bad := simtest.CheckGroup(root, simtest.AtSnapshot); len(bad) > 0 {
		t.Fatalf("reference: %v", bad)
	}
	calls, _ := sim.Calls(root)
	seen := map[string]int{}
	var ref []injection
	saga := false
	for _, c := range calls[len(before):] {
		cmd := filepath.Base(c.Argv[0])
		match := strings.Join(append([]string{cmd}, c.Argv[1:]...), " ")
		seen[match]++
		// The captures' reads (twice as many as one volume's) can only
		// refuse the rollback before anything changes, as the single
		// volume's suite shows for each: the saga's commands from the
		// first change on are injected here.
		saga = saga || strings.HasSuffix(match, "-z kz1 shutdown")
		if saga {
			ref = append(ref, injection{cmd: cmd, match: match, nth: seen[match]})
		}
	}
	var injected, consistent atomic.Int64
	t.Cleanup(func() { simtest.Summary("group-fault-injection", int(injected.Load()), int(consistent.Load())) })
	for _, in := range ref {
		for _, v := range []struct {
			action string
			times  int
			stderr string
		}{{sim.ActionFail, 1, ""}, {sim.ActionFailAfter, 1, ""}, {sim.ActionHang, 1, ""},
			// A rollback of the group's second volume failing past the
			// retries, or refused for a reason zfs explains, after the
			// first took effect: finished forward, never undone halfway.
			{sim.ActionFail, 3, ""}, {sim.ActionFail, 1, "cannot rollback 'pool/idisk1': dataset is busy"},
			// ... or failing for good: the group is parked half-done,
			// every LU back, until recover (once the fault is cleared)
			// rolls it forward.
			{sim.ActionFail, 0, ""}, {sim.ActionFail, 0, "cannot rollback 'pool/idisk1': dataset is busy"}} {
			in := in
			if (v.times != 1 || v.stderr != "") && !strings.HasPrefix(in.match, "zfs rollback") {
				continue
			}
			if v.action == sim.ActionFailAfter && isRead(append([]string{in.cmd}, strings.Fields(in.match)[1:]...)) {
				continue // a read that fails after its change is a read that fails
			}
			in.action, in.times = v.action, v.times
			if in.action == sim.ActionHang && !strings.HasPrefix(in.match, "zfs rollback") && !strings.HasPrefix(in.match, "stmfadm delete-lu") {
				// Hangs of the reads and zone commands are the single
				// volume's suite's; here those of the group's window.
				continue
			}
			name := in.String()
			if v.stderr != "" {
				name += " busy"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				injected.Add(1)
				t.Cleanup(func() {
					if !t.Failed() {
						consistent.Add(1)
					}
				})
				stderr := v.stderr
				if stderr == "" {
					stderr = in.cmd + ": injected failure"
				}
				runGroupFault(t, false, []sim.Fault{{Command: in.cmd, Match: in.match, Nth: in.nth, Times: in.times,
					Action: in.action, Exit: 1, Stderr: stderr}})
			})
		}
	}
	// The group's one delete-lu fails partway on each of its operands in
	// turn (the others deleted, the failed one registered but gone from
	// STMF's store, docs/platform/comstar-delete-lu.md): once, on every
	// attempt (Retries 2: three; the undo re-persists it), and for good
	// (where the match also names the re-persist's delete-lu of it alone).
	for _, in := range ref {
		f := strings.Fields(in.match)
		if !strings.HasPrefix(in.match, "stmfadm delete-lu -k ") || len(f) < 5 {
			continue
		}
		for k := 4; k <= len(f); k++ {
			for _, times := range []int{1, 3, 0} {
				in := in
				in.match, in.action, in.times = strings.Join(f[:k], " "), sim.ActionFailPartway, times
				t.Run(in.String(), func(t *testing.T) {
					t.Parallel()
					injected.Add(1)
					t.Cleanup(func() {
						if !t.Failed() {
							consistent.Add(1)
						}
					})
					runGroupFault(t, true, []sim.Fault{{Command: in.cmd, Match: in.match, Nth: in.nth, Times: in.times,
						Action: in.action, Exit: 1, Stderr: "stmfadm: unknown error"}})
				})
			}
		}
	}
	// parking/: pool/idisk1's rollback fails for good after pool/idisk0's
	// took effect, and each command that brings the LUs back while the
	// operation waits fails once, every time, after its change, or hangs.
	for _, in := range groupParkCalls(t) {
		for _, v := range []struct {
			action string
			times  int
		}{{sim.ActionFail, 1}, {sim.ActionFail, 0}, {sim.ActionFailAfter, 1}, {sim.ActionHang, 1}} {
			in := in
			in.action, in.times = v.action, v.times
			if v.action != sim.ActionFail && isRead(append([]string{in.cmd}, strings.Fields(in.match)[1:]...)) {
				continue // a read that fails after its change or hangs is a read that fails
			}
			t.Run("parking/"+in.String(), func(t *testing.T) {
				t.Parallel()
				injected.Add(1)
				t.Cleanup(func() {
					if !t.Failed() {
						consistent.Add(1)
					}
				})
				runGroupFault(t, true, []sim.Fault{groupHalfDone, {Command: in.cmd, Match: in.match, Nth: in.nth, Times: in.times,
					Action: in.action, Exit: 1, Stderr: in.cmd + ": injected failure"}})
			})
		}
	}
	if !slices.ContainsFunc(ref, func(in injection) bool { return strings.Contains(in.match, "rollback pool/idisk1@g1") }) {
		t.Errorf("the reference run did not roll back pool/idisk1: %v", ref)
	}
}

// groupHalfDone fails pool/idisk1's rollback for good, with a reason zfs
// does not give: pool/idisk0's takes effect, and the group is parked.
var groupHalfDone = sim.Fault{Command: "zfs", Match: "zfs rollback pool/idisk1@g1", Action: sim.ActionFail, Exit: 1,
	Stderr: "internal error: Input/output error"}

// groupParkCalls runs the group rollback with groupHalfDone and returns
// the calls after the last failed rollback of pool/idisk1: the park's.
func groupParkCalls(t *testing.T) []injection {
	root := groupHost(t)
	if err := sim.AddFault(root, groupHalfDone); err != nil {
		t.Fatal(err)
	}
	before, _ := sim.Calls(root)
	e, _ := newEngine(t, root, engine.Config{Retries: 2, RetryDelay: time.Millisecond})
	op, _ := e.Rollback(context.Background(), groupRequest, func(engine.Event) {})
	if op == nil || op.State != store.OpNeedsAttention || !strings.Contains(op.Attention, "Every LU of the group is back") {
		t.Fatalf("reference half-done group rollback: %+v", op)
	}
	calls, _ := sim.Calls(root)
	seen := map[string]int{}
	var out []injection
	for _, c := range calls[len(before):] {
		cmd := filepath.Base(c.Argv[0])
		match := strings.Join(append([]string{cmd}, c.Argv[1:]...), " ")
		seen[match]++
		if c.Fault != "" {
			out = out[:0]
			continue
		}
		out = append(out, injection{cmd: cmd, match: match, nth: seen[match]})
	}
	if !slices.ContainsFunc(out, func(in injection) bool { return strings.HasPrefix(in.match, "stmfadm import-lu") }) {
		t.Fatalf("the park imported no LU: %v", out)
	}
	return out
}

// runGroupFault runs the group rollback with faults on a fresh group
// host and checks that it ends on one side (recovered once, the faults
// cleared, where it needs attention); with mustFire, that the last fault
// fired.
func runGroupFault(t *testing.T, mustFire bool, faults []sim.Fault) {
	root := groupHost(t)
	for _, f := range faults {
		if err := sim.AddFault(root, f); err != nil {
			t.Fatal(err)
		}
	}
	timeout := 10 * time.Second
	if faults[len(faults)-1].Action == sim.ActionHang {
		timeout = time.Second
	}
	e, _ := newEngine(t, root, engine.Config{Retries: 2, RetryDelay: time.Millisecond, DefaultTimeout: timeout})
	op, err := e.Rollback(context.Background(), groupRequest, func(engine.Event) {})
	if st, _ := sim.Load(root); mustFire && st.Faults[len(st.Faults)-1].Fired == 0 {
		t.Fatalf("fault did not fire")
	}
	simtest.KillHung(root)
	outcome, final := expectOutcome(t, e, op, err, root)
	if bad := simtest.CheckGroup(root, outcome); len(bad) > 0 {
		steps := ""
		if final != nil {
			for _, s := range final.Steps {
				steps += fmt.Sprintf("\n  %s %s %s", s.Name, s.State, s.Error)
			}
		}
		t.Fatalf("inconsistent (%s, op %v): %s%s", outcome, stateOf(final), strings.Join(bad, "; "), steps)
	}
}
