package solaris_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// The rescue's fault suite (issue 23 item 4): every command of a clean
// rescue on solaris-11.4 fails in turn (once, twice, after its change,
// exiting 0 having done nothing, hanging until killed), and so does every
// command of the compensation after a failed import; each run ends
// consistent.

var rescueRequest = engine.RescueRequest{Zone: sim.SeedZone, With: sim.RescueZone}

// importFails makes the import inside kzrescue fail: the saga compensates
// (the rescue zone shut down, the device removed).
var importFails = sim.Fault{Command: "zlogin", Match: "import", Action: sim.ActionFail, Exit: 1,
	Stderr: "cannot import 'rpool': I/O error"}

// rescueCalls runs a rescue on a fresh host and returns its calls, as
// referenceCalls does for a rollback (with pre: those after the last
// injected failure).
func rescueCalls(t *testing.T, pre ...sim.Fault) []injection {
	root := rescueHost(t)
	for _, f := range pre {
		if err := sim.AddFault(root, f); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := sim.Calls(root)
	e, _, stop := newRescueEngine(t, root, filepath.Join(t.TempDir(), "j.db"), engine.Config{})
	defer stop()
	op, err := e.Rescue(context.Background(), rescueRequest, func(engine.Event) {})
	want := store.OpSucceeded
	if len(pre) > 0 {
		want = store.OpRolledBack
	}
	if op == nil || op.State != want {
		t.Fatalf("reference rescue: %v, want %s", err, want)
	}
	calls, _ := sim.Calls(root)
	seen := map[string]int{}
	var out []injection
	for _, c := range calls[len(before):] {
		if len(pre) > 0 && c.Fault != "" {
			out = out[:0]
			continue
		}
		cmd := filepath.Base(c.Argv[0])
		match := strings.Join(append([]string{cmd}, c.Argv[1:]...), " ")
		seen[match]++
		out = append(out, injection{cmd: cmd, match: match, nth: seen[match]})
	}
	return out
}

func rescueFaultCases(t *testing.T) []faultCase {
	var cases []faultCase
	add := func(prefix string, ref []injection, vs []injection, pre []sim.Fault) {
		for _, c := range ref {
			for _, v := range vs {
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
	add("", rescueCalls(t), []injection{{action: sim.ActionFail, times: 1}, {action: sim.ActionFail, times: 2},
		{action: sim.ActionFailAfter, times: 1}, {action: sim.ActionExit0Noop, times: 1}, {action: sim.ActionHang, times: 1}}, nil)
	add("compensating/", rescueCalls(t, importFails), []injection{{action: sim.ActionFail, times: 1}, {action: sim.ActionFail, times: 3},
		{action: sim.ActionFailAfter, times: 1}, {action: sim.ActionHang, times: 1}}, []sim.Fault{importFails})
	return cases
}

// TestRescueFaultInjection prints the tally
// "rescue-fault-injection[solaris-11.4] N/N".
func TestRescueFaultInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection: not in -short")
	}
	flavor := sim.FlavorSolaris
	t.Run(flavor, func(t *testing.T) {
		cases := rescueFaultCases(t)
		var injected, consistent atomic.Int64
		sample := simtest.NewSample() // make test: 1 in VOLCTL_FAULT_SAMPLE
		t.Cleanup(func() {
			simtest.SampledSummary("rescue-fault-injection["+flavor+"]", int(injected.Load()), int(consistent.Load()), sample)
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
				runRescueFault(t, c)
			})
		}
	})
}

func runRescueFault(t *testing.T, c faultCase) {
	root := rescueHost(t)
	before := labelOf(t, root)
	for _, f := range c.faults {
		if err := sim.AddFault(root, f); err != nil {
			t.Fatal(err)
		}
	}
	e, _, stop := newRescueEngine(t, root, filepath.Join(t.TempDir(), "j.db"),
		engine.Config{Retries: 2, RetryDelay: time.Millisecond, DefaultTimeout: c.timeout})
	defer stop()
	op, err := e.Rescue(context.Background(), rescueRequest, func(engine.Event) {})
	st, _ := sim.Load(root)
	if last := st.Faults[len(st.Faults)-1]; last.Fired == 0 {
		t.Fatalf("fault did not fire")
	}
	simtest.KillHung(root)
	op = rescueEnd(t, e, op, err, root)
	checkRescue(t, root, op, before)
}

// rescueEnd is where the rescue ends: one that needs attention must say
// what it left; the faults are cleared and it is recovered, as an admin
// would.
func rescueEnd(t *testing.T, e *engine.Engine, op *store.Operation, err error, root string) *store.Operation {
	t.Helper()
	if op == nil {
		if err == nil {
			t.Fatal("no operation and no error")
		}
		return nil
	}
	if op.State == store.OpNeedsAttention {
		if op.Attention == "" {
			t.Error("needs_attention without saying what is left")
		}
		if err := sim.ClearFaults(root); err != nil {
			t.Fatal(err)
		}
		if op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{}, func(engine.Event) {}); op == nil {
			t.Fatalf("recover: %v", err)
		}
	} else if op.State == store.OpRolledBack && err == nil {
		t.Error("rolled_back without an error for the caller")
	}
	return op
}

// labelOf is kz1's boot disk label as the host keeps it.
func labelOf(t *testing.T, root string) sim.BootLabel {
	t.Helper()
	s, err := sim.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return *s.Dataset("pool/idisk0").Label
}

// checkRescue: the host is consistent whichever way the rescue ended
// (rescueConsistent), a rescue that succeeded left the kernel zone's path
// in an exported label, and nothing was lost: the pool is the same pool
// (GUID), kz1's data the same.
func checkRescue(t *testing.T, root string, op *store.Operation, before sim.BootLabel) {
	t.Helper()
	rescueConsistent(t, root)
	after := labelOf(t, root)
	if after.PoolGUID != before.PoolGUID || after.Pool != before.Pool || after.Vdev.GUID != before.Vdev.GUID {
		t.Errorf("kz1's label names another pool now: %+v, was %+v", after, before)
	}
	state := "none (refused)"
	if op != nil {
		state = string(op.State)
	}
	switch {
	case op == nil || op.State == store.OpRolledBack:
	case op.State == store.OpSucceeded:
		if after.Vdev.PhysPath != sim.KZPhysPath(0) || after.State != sim.PoolExported {
			t.Errorf("rescue succeeded, label %s %s", after.Vdev.PhysPath, after.State)
		}
	default:
		t.Errorf("rescue ended %s: %s / %s", op.State, op.Error, op.Attention)
	}
	if t.Failed() {
		t.Logf("rescue ended %s", state)
		if op != nil {
			for _, st := range op.Steps {
				t.Logf("  step %s %s %s", st.Name, st.State, st.Error)
				for _, c := range st.Commands {
					t.Logf("    %v exit %d %s", c.Argv[1:], c.Exit, c.Err)
				}
				for _, c := range st.CompensationCommands {
					t.Logf("    undo %v exit %d %s", c.Argv[1:], c.Exit, c.Err)
				}
			}
		}
	}
}
