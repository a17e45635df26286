package engine

// An operation that waits for an admin (issue 23, rescue --shell;
// docs/rescue.md §5): its saga stops, on purpose, at a step with Await
// (the pool imported in the rescue zone), before the commit. The
// operation is journaled waiting (store.OpWaiting): terminal for the
// daemon (a restart does not resume it: it is still waiting after a
// crash), holding its volumes and zones through the attention index as
// one that needs attention does (holds.go), so no rollback, rescue or
// snapshot destroy touches them. The admin then either
//
//   - finishes it (Finish, volctl rescue --finish OP): the waiting step
//     is done and the saga goes on, forward, from the next step, as the
//     same operation (its Resumes record the wait as idle time);
//   - or abandons it (Abandon, volctl rescue --abandon OP): the saga goes
//     backward from the waiting step, undoing what ran (the pool exported,
//     the rescue zone shut down, the device removed): rolled_back.
//
// Recover and resolve refuse a waiting operation (it needs no attention);
// they name --finish and --abandon.

import (
	"context"
	"fmt"

	"github.com/volctl/volctl/store"
)

// noError reports whether an operation that stopped in state st ended as
// its caller asked: it succeeded, or it waits for an admin as asked.
func noError(st store.OpState) bool { return st == store.OpSucceeded || st == store.OpWaiting }

// wait stops the saga at step i, whose Do succeeded and which waits for
// an admin: the step stays running, the operation is journaled waiting
// with the step's text as its attention (what to do, how to finish).
func (s *saga) wait(i int, step Step) {
	s.quiet = false
	s.op.State = store.OpWaiting
	s.op.Error = ""
	s.op.Attention = step.Await(s.op)
	_ = s.journal()
	s.emit(i, store.StepRunning, nil, fmt.Sprintf("waiting for an admin: operation %d stops here until it is finished or abandoned (its attention says how)", s.op.ID), false)
	s.e.log.Info("operation waits for an admin", "op", s.op.ID, "step", step.Name)
}

// awaiting is the index of op's waiting step (its Await set, journaled
// running), or an error that says why op cannot be finished or abandoned.
func (e *Engine) awaiting(op *store.Operation, verb string) (int, error) {
	if op.State != store.OpWaiting {
		return 0, fmt.Errorf("operation %d %s; only an operation that waits for an admin (a rescue --shell) can be %s: %w",
			op.ID, stateWords(op.State), verb, ErrPrecondition)
	}
	if op.Platform != e.backend.Name() {
		return 0, fmt.Errorf("operation %d was journaled on platform %q, this daemon runs %q: %w",
			op.ID, op.Platform, e.backend.Name(), ErrPrecondition)
	}
	steps := e.steps(op)
	if len(steps) != len(op.Steps) {
		return 0, fmt.Errorf("operation %d: the journal has %d steps but this daemon builds %d for it; finish it by hand from the journal (volctl op show %d): %w",
			op.ID, len(op.Steps), len(steps), op.ID, ErrPrecondition)
	}
	for i, st := range steps {
		if st.Await != nil && op.Steps[i].State == store.StepRunning {
			return i, nil
		}
	}
	return 0, fmt.Errorf("operation %d is journaled waiting but none of its steps waits: finish it by hand from the journal (volctl op show %d): %w",
		op.ID, op.ID, ErrPrecondition)
}

// PlanFinish is Finish's dry run: the waiting operation with the steps
// that --finish runs (the capture, then those after the waiting step),
// nothing changed. Refused as Finish is for an operation that does not
// wait.
func (e *Engine) PlanFinish(id uint64) (*store.Operation, error) {
	op, err := e.Operation(id)
	if err != nil {
		return nil, err
	}
	i, err := e.awaiting(op, "finished")
	if err != nil {
		return nil, err
	}
	plan := cloneOp(op)
	plan.Steps = append(plan.Steps[:1:1], plan.Steps[i+1:]...)
	return plan, nil
}

// Finish goes on with an operation that waits for an admin: its waiting
// step is done (the admin has finished), and the saga runs the steps
// after it, as Recover runs a recovered one (streamed; the same
// operation). by is the caller.
func (e *Engine) Finish(ctx context.Context, id uint64, by string, emit func(Event)) (*store.Operation, error) {
	return e.endWait(ctx, id, by, store.ResumeFinish, emit)
}

// Abandon undoes an operation that waits for an admin, from its waiting
// step back (the admin does not want to finish it): what ran is undone;
// what the admin changed meanwhile stays. It ends rolled_back, which is
// Abandon's success.
func (e *Engine) Abandon(ctx context.Context, id uint64, by string, emit func(Event)) (*store.Operation, error) {
	final, err := e.endWait(ctx, id, by, store.ResumeAbandon, emit)
	if final != nil && final.State == store.OpRolledBack {
		return final, nil
	}
	return final, err
}

// endWait is Finish (trigger ResumeFinish) and Abandon (ResumeAbandon).
func (e *Engine) endWait(ctx context.Context, id uint64, by, trigger string, emit func(Event)) (*store.Operation, error) {
	if e.base.Err() != nil {
		return nil, ErrShuttingDown
	}
	verb := map[string]string{store.ResumeFinish: "finished", store.ResumeAbandon: "abandoned"}[trigger]
	op, err := e.Operation(id)
	if err != nil {
		return nil, err
	}
	if _, err := e.awaiting(op, verb); err != nil {
		return nil, err
	}
	if err := e.journalWritable(); err != nil {
		return nil, err
	}
	keys := opKeys(op)
	if err := e.locks.acquire(ctx, keys, id, false); err != nil {
		return nil, err
	}
	// Re-read under the locks: another --finish or --abandon may have
	// ended the wait since.
	if op, err = e.Operation(id); err != nil {
		e.locks.release(keys)
		return nil, err
	}
	i, err := e.awaiting(op, verb)
	if err != nil {
		e.locks.release(keys)
		return nil, err
	}
	e.noteResume(op, trigger) // the wait is idle time
	now := e.now().UTC()
	who := by
	if who == "" {
		who = "an unnamed caller"
	}
	switch trigger {
	case store.ResumeFinish:
		op.Steps[i].State, op.Steps[i].Finished = store.StepDone, now
		op.State = store.OpRunning
	default:
		op.State = store.OpCompensating
		op.Error = fmt.Sprintf("abandoned by %s while it waited (volctl rescue --abandon %d): what ran is undone; what was changed by hand meanwhile stays", who, id)
	}
	op.Attention, op.Updated = "", now
	// The admin's decision goes to the journal before anything runs: a
	// crash from now on resumes it (forward or backward), never back to
	// waiting.
	if err := e.putOperation(op); err != nil {
		e.locks.release(keys)
		return nil, fmt.Errorf("the journal cannot be written (%v): operation %d still waits: %w", err, id, ErrUnavailable)
	}
	e.log.Warn("an admin ended the wait", "op", id, "how", trigger, "by", by)
	r, ch := e.start(op, nil, keys, true)
	return e.stream(ctx, r, ch, emit)
}

// checkRescueHeld refuses, before its first capture, a rescue whose zones
// an operation holds (one that waits for an admin holds its rescue zone
// running, which the capture would refuse less clearly).
func (e *Engine) checkRescueHeld(o store.RescueOptions) error {
	return e.checkHeld([]string{heldKey(store.ZoneRef{Name: o.Zone}), heldKey(store.ZoneRef{Name: o.With})})
}

// PlanAbandon is Abandon's dry run: the waiting operation with, after its
// capture, the steps whose undo runs, newest first (their planned
// commands are their Do's: an undo's commands are read when it runs).
// Refused as Abandon is for an operation that does not wait.
func (e *Engine) PlanAbandon(id uint64) (*store.Operation, error) {
	op, err := e.Operation(id)
	if err != nil {
		return nil, err
	}
	i, err := e.awaiting(op, "abandoned")
	if err != nil {
		return nil, err
	}
	steps := e.steps(op)
	plan := cloneOp(op)
	plan.Steps = plan.Steps[:1:1]
	for j := i; j >= 1; j-- {
		if steps[j].Undo == nil || op.Steps[j].State == store.StepPending || op.Steps[j].State == store.StepSkipped {
			continue
		}
		st := op.Steps[j]
		st.Name, st.Description, st.Planned = "undo "+st.Name, "undo: "+st.Description, nil
		plan.Steps = append(plan.Steps, st)
	}
	return plan, nil
}
