package engine

import (
	"testing"

	"github.com/volctl/volctl/store"
)

// windowFirst: no step before the outage window (an LU and no zone).
var windowFirst = []fakeShape{{"delete", true, false}, {"rollback", true, true},
	{"import", true, false}, {"verify", false, false}, {"boot", false, false}}

// TestIntentOnDiskBeforeGuardedStep freezes each shape's saga as the step
// that the intent guards starts (the window's first step, or the commit
// step where there is no window), and reads the journal as a crash then
// would find it: the intent must be on disk (the operation running and
// the window open, or the commit step running), in as few writes as the
// policy allows: the operation's first write carries the window's intent
// (intent.go), so a rollback with a window has written once by then, and
// one without a window twice (the operation, then the commit step's
// start).
func TestIntentOnDiskBeforeGuardedStep(t *testing.T) {
	for _, tc := range []struct {
		shape  []fakeShape
		guard  string
		writes int
		// running is the step the journal says is running ("": none; the
		// steps before the window ran after the record was written).
		running string
	}{
		{solarisLike, "delete", 1, ""},
		{windowFirst, "delete", 1, "delete"},
		{windowless, "rollback", 2, "rollback"},
	} {
		t.Run(tc.shape[0].name, func(t *testing.T) {
			r := newRig(t, tc.shape, newWorld(), t.TempDir())
			r.fake.fault(tc.guard).freezeDo = 1
			before := r.db.Writes()
			go func() { _, _ = r.rollback() }()
			waitFrozen(t, r.fake)
			ops, err := r.db.Unfinished()
			if err != nil || len(ops) != 1 {
				t.Fatalf("journal as %s starts: %v %v", tc.guard, ops, err)
			}
			op := ops[0]
			if op.State != store.OpRunning {
				t.Errorf("journal as %s starts: state %s, want running", tc.guard, op.State)
			}
			window := tc.guard == "delete"
			if window != windowOpen(op) {
				t.Errorf("journal as %s starts: window open %v (outage %s..%s), want %v", tc.guard, windowOpen(op), op.OutageStart, op.OutageEnd, window)
			}
			running := ""
			for _, st := range op.Steps {
				if st.State == store.StepRunning {
					running = st.Name
				}
			}
			if running != tc.running {
				t.Errorf("journal as %s starts: step %q running, want %q (%s)", tc.guard, running, tc.running, stepStates(op))
			}
			if got := r.db.Writes().Sub(before).Commits; got != uint64(tc.writes) {
				t.Errorf("%d journal writes before %s started, want %d", got, tc.guard, tc.writes)
			}
		})
	}
}

// TestCarriedIntentGoesWithTheNextWrite: a daemon told to stop while a
// step before the window runs stops at the next step boundary, and its
// journal must then say that the window is not open (the record it writes
// replaces the first one, which carried the window's intent): the next
// start goes on from where it stopped instead of asking whether the
// rollback took effect.
func TestCarriedIntentGoesWithTheNextWrite(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	r.fake.fault("stop").freezeDo = 2
	done := make(chan struct{})
	go func() { defer close(done); _, _ = r.rollback() }()
	waitFrozen(t, r.fake)
	r.cancel() // shutting down: the saga stops before delete
	r.fake.thaw()
	<-done
	r.e.Wait()
	ops, err := r.db.Unfinished()
	if err != nil || len(ops) != 1 {
		t.Fatalf("journal after the stop: %v %v", ops, err)
	}
	op := ops[0]
	if op.State != store.OpRunning || windowOpen(op) || op.Steps[1].State != store.StepDone || op.Steps[2].State != store.StepPending {
		t.Errorf("journal after a stop before the window: %s %s, window open %v; want running, stop done, delete pending, window closed",
			op.State, stepStates(op), windowOpen(op))
	}
	if w.is("delete") {
		t.Error("delete ran after the daemon was told to stop before the window")
	}
}
