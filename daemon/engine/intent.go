package engine

import (
	"time"

	"github.com/volctl/volctl/store"
)

// The outage window's intent, carried by the operation's first write.
//
// A rollback journals the operation once it is captured (CreateOperation,
// before any step changes anything) and the window's intent before the
// window's first step (journalsStart: the LU is about to go). Between the
// two run only the steps before the window (stop and detach the zones),
// which converge, and nothing is journaled. The intent (the operation
// running, OutageStart set) makes a resume ask the commit step's Check
// whether the rollback took effect, and go forward either way (decide):
// from the commit step's successor when it did, else from the first step
// that is not done. For a crash in a step before the window that is what
// a journal without the intent gets too (forward from the first step), so
// the intent may as well be on disk from the first write: the first write
// carries it, and the saga does not write it again before the window
// (saga.carried). One synchronous write fewer per rollback, none added
// inside the window (docs/architecture.md, "What is journaled").
//
// Where no step runs before the window the first write is exactly the
// intent the saga would write (the window's first step running). Where
// steps run before it, the record carries the intent but not those steps:
// a crash inside the window finds a journal that says the operation is
// running with its window open and no step running, and the commands of
// the steps before the window are not in it (the resume runs those steps
// again, or marks them done when the Check finds the rollback took
// effect). Recovery needs no more: decide never reads them.
//
// Only where the commit step has a Check: without one, decide would take a
// journal that says the window is open back from the first step that is
// not done, and a step before the window that ran but was not journaled
// done would not be undone.

// carryIntent returns the record CreateOperation journals for op (op
// itself when it carries nothing) and the index of the step whose intent
// the record carries (0: none). op, planned and not journaled yet, is not
// changed.
func carryIntent(op *store.Operation, steps []Step, now time.Time) (*store.Operation, int) {
	if op.State != store.OpPlanned || len(steps) != len(op.Steps) {
		return op, 0
	}
	c := commitIndex(steps)
	if c < 0 || steps[c].Check == nil {
		return op, 0
	}
	for i := 1; i < len(steps); i++ {
		if op.Steps[i].State != store.StepPending {
			return op, 0
		}
		if steps[i].OutageWindow {
			rec := cloneOp(op)
			rec.State = store.OpRunning
			rec.OutageStart = now
			if i == 1 {
				// Nothing runs before it: the record is the intent
				// the saga would write, step and all.
				st := &rec.Steps[i]
				st.State, st.Started, st.Attempts = store.StepRunning, now, st.Attempts+1
			}
			return rec, i
		}
	}
	return op, 0
}

// intentOnDisk reports whether step i's intent is on disk already (the
// operation's first write carried it, and nothing was written since), and
// forgets it: the intent is carried once.
func (s *saga) intentOnDisk(i int) bool {
	on := s.carried != 0 && s.carried == i
	s.carried = 0
	return on
}
