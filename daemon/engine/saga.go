package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// saga runs one operation's steps against the journal.
type saga struct {
	e     *Engine
	op    *store.Operation
	steps []Step
	r     *run
	// journalErr is the last journal write's failure (nil once one
	// succeeds again): the saga then goes on in memory, so that the LU is
	// never left away because a disk filled up.
	journalErr error
	// quiet holds a journal write back: the state goes to disk with the
	// next write that recovery needs (see journalsStart and journalsEnd),
	// so that a rollback pays for the fsyncs it must have and no others.
	quiet bool
}

// Exec is what a step's Do, Undo and Check get: the way to run commands so
// that each is journaled with the step and streamed to the client.
type Exec struct {
	s     *saga
	index int
	undo  bool
}

// Op is the operation, with its captured identity and options.
func (x *Exec) Op() *store.Operation { return x.s.op }

// Step is the journaled record of the step being run: its commands so far,
// and those of its earlier attempts and undos.
func (x *Exec) Step() *store.Step { return &x.s.op.Steps[x.index] }

// Run runs a platform command with its configured deadline, recording it.
func (x *Exec) Run(ctx context.Context, argv []string) (*execx.Result, error) {
	e := x.s.e
	r := execx.Runner{Timeout: e.timeout(argv), MaxOutput: e.cfg.MaxOutput}
	res, err := r.Run(ctx, argv)
	cmd := toCommand(res)
	st := &x.s.op.Steps[x.index]
	if x.undo {
		st.CompensationCommands = append(st.CompensationCommands, cmd)
	} else {
		st.Commands = append(st.Commands, cmd)
	}
	lvl := e.log.Debug
	if err != nil {
		lvl = e.log.Warn
	}
	lvl("command", "op", x.s.op.ID, "step", st.Name, "argv", strings.Join(res.Argv, " "), "exit", res.Exit,
		"duration", res.Duration, "stderr", execx.Cap(strings.TrimSpace(string(res.Stderr)), 512))
	x.s.emit(x.index, st.State, &cmd, "", x.undo)
	return res, err
}

// Note streams an informational message for the step.
func (x *Exec) Note(format string, args ...any) {
	st := x.s.op.Steps[x.index]
	x.s.emit(x.index, st.State, nil, fmt.Sprintf(format, args...), x.undo)
}

// ExtendOutage moves the end of the outage window to now: a step after the
// window had to repair something the LU's users needed (missing views).
func (x *Exec) ExtendOutage() { x.s.op.OutageEnd = x.s.e.now().UTC() }

func (s *saga) emit(i int, state store.StepState, cmd *store.Command, msg string, comp bool) {
	s.r.setView(s.op)
	s.r.publish(Event{Op: s.op.ID, Index: i, Step: s.op.Steps[i].Name, State: state, Command: cmd,
		Message: msg, Time: s.e.now(), Compensation: comp})
}

// journal writes the operation as it is now. A journal write that fails is
// fatal for the saga: going on without a record would break the promise that
// a crash can always be finished from the journal.
func (s *saga) journal() error {
	if s.quiet {
		return nil
	}
	s.op.Updated = s.e.now().UTC()
	if err := s.e.putOperation(s.op); err != nil {
		if s.journalErr == nil {
			s.e.log.Error("journal write failed; the operation goes on in memory", "op", s.op.ID, "error", err)
		}
		s.journalErr = err
		return err
	}
	s.journalErr = nil
	return nil
}

// settle runs when the saga has ended: if the last journal write failed,
// it tries once more, and if the journal still cannot be written the
// engine keeps the record to write it first, refuses new operations until
// then, and the caller is told (needs attention) what happened and that the
// journal is behind.
func (s *saga) settle() {
	if s.journalErr == nil {
		return
	}
	s.quiet = false
	if s.journal() == nil {
		return
	}
	outcome := s.op.State
	late := cloneOp(s.op)
	late.Attention = strings.TrimSpace(late.Attention + fmt.Sprintf(" (journaled late: the journal could not be written when the operation ended: %v)", s.journalErr))
	s.e.keepStale(late, s.journalErr)
	s.op.State = store.OpNeedsAttention
	s.op.Attention = fmt.Sprintf("the operation ended %s (see its steps), but the journal could not be written (%v), so its record on disk is behind. New operations are refused until the journal can be written again; volctld then writes this record first. Free space on the journal's filesystem.",
		outcome, s.journalErr)
}

func (s *saga) setStep(i int, state store.StepState, comp bool) error {
	st := &s.op.Steps[i]
	st.State = state
	now := s.e.now().UTC()
	switch state {
	case store.StepRunning, store.StepCompensating:
		st.Started = now
		st.Finished = time.Time{}
	default:
		st.Finished = now
		if !st.Started.IsZero() {
			s.e.cfg.Observer.StepFinished(st.Name, state, now.Sub(st.Started))
		}
	}
	err := s.journal()
	s.emit(i, state, nil, "", comp)
	return err
}

// commitIndex is the index of the commit step, or -1.
func (s *saga) commitIndex() int {
	for i, st := range s.steps {
		if st.Commit {
			return i
		}
	}
	return -1
}

// committed reports whether the point of no return is behind: a commit step
// is done.
func (s *saga) committed() bool {
	for i, st := range s.steps {
		if st.Commit && s.op.Steps[i].State == store.StepDone {
			return true
		}
	}
	return false
}

// execute runs the saga. With resume, the operation comes from the journal
// (a restart or a recover) and the direction is decided from where it
// stopped.
func (s *saga) execute(resume bool) {
	if len(s.steps) != len(s.op.Steps) {
		s.op.State = store.OpNeedsAttention
		s.op.Attention = fmt.Sprintf("the journal has %d steps but this daemon builds %d for it; finish it by hand from the journal (volctl op show %d)",
			len(s.op.Steps), len(s.steps), s.op.ID)
		_ = s.journal()
		return
	}
	// Commands run on a context that shutdown does not cancel: a stopping
	// daemon lets the running step finish (its commands keep their own
	// deadlines) and stops at the next step boundary (s.stopping).
	ctx := context.WithoutCancel(s.e.base)
	if !resume {
		// Written with the first step that journals its start: until
		// then nothing has changed, and a journal that still says
		// planned resumes forward.
		s.op.State = store.OpRunning
		s.forward(ctx, 1)
		return
	}
	switch s.op.State {
	case store.OpCompensating:
		s.compensate(ctx, len(s.steps)-1, "")
		return
	case store.OpPlanned:
		s.op.State = store.OpRunning
		_ = s.journal()
		s.forward(ctx, 1)
		return
	}
	// Running (after a crash) or needs_attention (recover): find where it
	// stopped.
	at := -1
	for i := 1; i < len(s.op.Steps); i++ {
		if st := s.op.Steps[i].State; st != store.StepDone && st != store.StepSkipped {
			at = i
			break
		}
	}
	if at < 0 {
		s.op.State = store.OpSucceeded
		_ = s.journal()
		return
	}
	if s.op.State == store.OpNeedsAttention && !s.committed() && anyCompensation(s.op) {
		// A compensation that could not finish: try it again.
		s.compensate(ctx, len(s.steps)-1, s.op.Error)
		return
	}
	if !s.committed() {
		if c := s.commitIndex(); c >= 0 && s.steps[c].Check != nil && (s.windowOpen() || s.op.Steps[c].State != store.StepPending) {
			// Interrupted inside the outage window (whose steps are not
			// journaled one by one) or inside the point of no return: ask
			// the platform whether the rollback took effect.
			done, err := s.steps[c].Check(ctx, &Exec{s: s, index: c})
			if err == nil && done {
				s.e.log.Warn("rollback took effect before the interruption; rolling forward", "op", s.op.ID)
				// Everything before the rollback had to be done for it to
				// take effect (the LU deleted, the zones detached).
				for j := 1; j <= c; j++ {
					if st := s.op.Steps[j].State; st != store.StepSkipped {
						s.op.Steps[j].State = store.StepDone
					}
				}
				s.op.State = store.OpRunning
				_ = s.journal()
				s.forward(ctx, c+1)
				return
			}
			if s.windowOpen() && s.op.State == store.OpRunning {
				// The LU is (or may be) away and nothing uses the volume:
				// deleting the LU again and rolling back again are harmless,
				// so an unknown outcome is finished forward.
				s.e.log.Warn("interrupted inside the outage window; finishing forward", "op", s.op.ID, "at", s.op.Steps[at].Name, "check_error", err)
				_ = s.journal()
				s.forward(ctx, at)
				return
			}
		}
		if s.op.State == store.OpRunning && !s.windowOpen() {
			// Interrupted before the outage window: every step converges
			// (it reads the present state before it changes anything), so
			// the rollback goes on from where the journal says it was.
			s.e.log.Warn("interrupted before the outage window; going on", "op", s.op.ID, "at", s.op.Steps[at].Name)
			s.forward(ctx, at)
			return
		}
		reason := fmt.Sprintf("interrupted during step %s before the rollback took effect; restored the state from before", s.op.Steps[at].Name)
		if s.op.State == store.OpNeedsAttention {
			reason = s.op.Error
		}
		s.compensate(ctx, at, reason)
		return
	}
	s.op.State = store.OpRunning
	s.op.Attention = ""
	_ = s.journal()
	s.forward(ctx, at)
}

func anyCompensation(op *store.Operation) bool {
	for _, st := range op.Steps {
		if st.State == store.StepCompensated || st.State == store.StepCompensating || len(st.CompensationCommands) > 0 {
			return true
		}
	}
	return false
}

// forward runs steps from index from on.
func (s *saga) forward(ctx context.Context, from int) {
	for i := from; i < len(s.steps); i++ {
		if st := s.op.Steps[i].State; st == store.StepDone || st == store.StepSkipped {
			continue
		}
		if s.stopping(i) {
			s.quiet = false
			_ = s.journal()
			return
		}
		step := s.steps[i]
		opens := step.OutageWindow && s.op.OutageStart.IsZero()
		if opens {
			s.op.OutageStart = s.e.now().UTC()
		}
		s.op.Steps[i].Attempts++
		s.op.Steps[i].Error = ""
		s.quiet = !s.journalsStart(i)
		if s.setStep(i, store.StepRunning, false) != nil && s.journalsStart(i) {
			// Without its intent on disk a crash inside this step would
			// leave nobody knowing: do not start it, undo what ran.
			s.op.Steps[i].State = store.StepPending
			s.op.Steps[i].Started = time.Time{}
			if opens {
				s.op.OutageStart = time.Time{}
			}
			s.compensate(ctx, i-1, fmt.Sprintf("the journal could not be written before step %s (%v); restored the state from before", step.Name, s.journalErr))
			return
		}
		if opens {
			// The journal has the intent (with the time it was written);
			// the LU goes from now, not from before that write.
			s.op.OutageStart = s.e.now().UTC()
		}
		x := &Exec{s: s, index: i}
		err := s.do(ctx, step, x)
		if err == nil {
			if step.OutageWindow && !s.laterWindowStep(i) {
				s.op.OutageEnd = s.e.now().UTC()
			}
			s.quiet = !s.journalsEnd(i)
			_ = s.setStep(i, store.StepDone, false)
			continue
		}
		s.quiet = false
		s.op.Steps[i].Error = err.Error()
		_ = s.setStep(i, store.StepFailed, false)
		s.e.log.Error("step failed", "op", s.op.ID, "step", step.Name, "error", err)
		if errors.Is(err, ErrNotCommitted) {
			// Believe the data: the commit step's success was a lie, so the
			// world is still on the near side and can be restored.
			for j, st := range s.steps {
				if st.Commit && s.op.Steps[j].State == store.StepDone {
					s.op.Steps[j].State = store.StepFailed
					s.op.Steps[j].Error = err.Error()
				}
			}
		}
		if !s.committed() {
			s.compensate(ctx, i, fmt.Sprintf("step %s failed: %v", step.Name, err))
			return
		}
		s.op.State = store.OpNeedsAttention
		s.op.Error = fmt.Sprintf("step %s failed: %v", step.Name, err)
		s.op.Attention = s.attention(i)
		_ = s.journal()
		return
	}
	s.op.State = store.OpSucceeded
	s.op.Error, s.op.Attention = "", ""
	s.quiet = false
	_ = s.journal()
	s.e.log.Info("operation succeeded", "op", s.op.ID, "outage", s.op.OutageEnd.Sub(s.op.OutageStart))
}

// do runs a step's Do with the retry policy: past the point of no return
// every failure that is not permanent is retried; the commit step itself is
// asked first whether it took effect after all (its Check reads evidence
// that nothing else changes, e.g. zpool history) and is otherwise retried
// too, since the rollback is harmless to repeat while the LU is away. A
// permanent failure (the platform refused with a known reason) is not.
func (s *saga) do(ctx context.Context, step Step, x *Exec) error {
	err := step.Do(ctx, x)
	for attempt := 1; err != nil; attempt++ {
		if step.Commit && step.Check != nil {
			if done, cerr := step.Check(ctx, x); cerr == nil && done {
				x.Note("the rollback took effect despite the error (%v); going on", err)
				return nil
			} else if cerr != nil {
				x.Note("could not tell whether the rollback took effect: %v", cerr)
			}
		}
		retry := (step.Commit || s.committed()) && !IsPermanent(err) && !errors.Is(err, ErrNotCommitted)
		if !retry || attempt > s.e.cfg.Retries || s.e.base.Err() != nil {
			return err
		}
		s.e.log.Warn("step failed, retrying", "op", s.op.ID, "step", step.Name, "attempt", attempt, "error", err)
		x.Note("retrying after: %v", err)
		time.Sleep(s.e.cfg.RetryDelay * time.Duration(attempt))
		s.op.Steps[x.index].Attempts++
		err = step.Do(ctx, x)
	}
	return nil
}

// journalsStart reports whether step i's start must be on disk before it
// runs: the first step of the outage window (the intent: the LU is about
// to go, and a resume must then ask the platform what happened), and the
// commit step where there is no window. Nothing else is: every step
// converges (it reads the present state before it changes anything), so a
// resume after a crash runs again, forward, from the last write (before the
// window and after it), and recovery decides from the platform what
// happened inside the window (the commit step's Check), finishing it
// forward since its steps are harmless to repeat while the LU is away.
func (s *saga) journalsStart(i int) bool {
	st := s.steps[i]
	if st.OutageWindow {
		return !s.earlierWindowStep(i)
	}
	return st.Commit
}

// journalsEnd reports whether step i's end is written at once: only the
// outage window's end (the result). Other ends go with the next write.
func (s *saga) journalsEnd(i int) bool {
	return s.steps[i].OutageWindow && !s.laterWindowStep(i)
}

func (s *saga) earlierWindowStep(i int) bool {
	for j := 0; j < i; j++ {
		if s.steps[j].OutageWindow {
			return true
		}
	}
	return false
}

// stopping reports whether the daemon is shutting down; the operation then
// stays as journaled (running or compensating) and the next start resumes it
// at step i.
func (s *saga) stopping(i int) bool {
	if s.e.base.Err() == nil {
		return false
	}
	if s.windowOpen() {
		// Never leave the LU away while the daemon is down: finish the
		// outage window (or its undo) first.
		s.e.log.Warn("shutting down: finishing the outage window first", "op", s.op.ID, "next", s.steps[i].Name)
		return false
	}
	s.e.log.Warn("shutting down: stopping at a step boundary", "op", s.op.ID, "state", s.op.State, "next", s.steps[i].Name)
	return true
}

// windowOpen reports whether the LU is away: an outage window started and
// has not ended.
func (s *saga) windowOpen() bool {
	return !s.op.OutageStart.IsZero() && !s.op.OutageEnd.After(s.op.OutageStart)
}

func (s *saga) laterWindowStep(i int) bool {
	for j := i + 1; j < len(s.steps); j++ {
		if s.steps[j].OutageWindow {
			return true
		}
	}
	return false
}

// attention says what is left after step i failed past the point of no
// return.
func (s *saga) attention(i int) string {
	var left []string
	for j := i; j < len(s.steps); j++ {
		if st := s.op.Steps[j].State; st != store.StepDone && st != store.StepSkipped {
			left = append(left, s.steps[j].Name)
		}
	}
	return fmt.Sprintf("the volume is at %s; these steps are left: %s. Fix the cause (see the failed step's command and stderr), then run: volctl recover %d",
		s.op.Snapshot, strings.Join(left, ", "), s.op.ID)
}

// compensate undoes, backwards from index from, every step that ran or may
// have run, so the world is as it was before the operation.
func (s *saga) compensate(ctx context.Context, from int, cause string) {
	s.quiet = false
	if cause != "" {
		s.op.Error = cause
	}
	s.op.State = store.OpCompensating
	_ = s.journal()
	var failed, unpersisted []string
	for j := from; j >= 1; j-- {
		st := s.op.Steps[j].State
		if st == store.StepPending || st == store.StepSkipped || st == store.StepCompensated {
			continue
		}
		if s.stopping(j) {
			return
		}
		step := s.steps[j]
		if step.Undo == nil {
			_ = s.setStep(j, store.StepCompensated, true)
			continue
		}
		_ = s.setStep(j, store.StepCompensating, true)
		x := &Exec{s: s, index: j, undo: true}
		err := step.Undo(ctx, x)
		for attempt := 1; err != nil && !IsPermanent(err) && !errors.Is(err, ErrUnpersisted) && attempt <= s.e.cfg.Retries && s.e.base.Err() == nil; attempt++ {
			x.Note("retrying undo after: %v", err)
			time.Sleep(s.e.cfg.RetryDelay * time.Duration(attempt))
			err = step.Undo(ctx, x)
		}
		if errors.Is(err, ErrUnpersisted) {
			// Restored for now, but not for the next reboot: say so, and
			// leave the step failed so that recover runs its undo again.
			unpersisted = append(unpersisted, err.Error())
			s.op.Steps[j].Error = strings.TrimPrefix(s.op.Steps[j].Error+"; undo: "+err.Error(), "; ")
			if step.OutageWindow && !s.op.OutageStart.IsZero() {
				s.op.OutageEnd = s.e.now().UTC()
			}
			_ = s.setStep(j, store.StepFailed, true)
			continue
		}
		if err != nil {
			s.e.log.Error("undo failed", "op", s.op.ID, "step", step.Name, "error", err)
			s.op.Steps[j].Error = strings.TrimPrefix(s.op.Steps[j].Error+"; undo: "+err.Error(), "; ")
			failed = append(failed, fmt.Sprintf("%s (%v)", step.Name, err))
			_ = s.setStep(j, store.StepFailed, true)
			continue
		}
		if step.OutageWindow && !s.op.OutageStart.IsZero() {
			s.op.OutageEnd = s.e.now().UTC()
		}
		_ = s.setStep(j, store.StepCompensated, true)
	}
	s.op.NeedsRepersist = len(unpersisted) > 0
	switch {
	case len(failed) > 0:
		s.op.State = store.OpNeedsAttention
		s.op.Attention = fmt.Sprintf("could not restore: %s. The volume was not rolled back. Fix the cause, then run: volctl recover %d",
			strings.Join(failed, "; "), s.op.ID)
	case len(unpersisted) > 0:
		s.op.State = store.OpNeedsAttention
		s.op.Attention = fmt.Sprintf("the volume was not rolled back and the LU is online with its views, but %s; it would not come back after a reboot or an stmf restart. Once nothing keeps it busy, run: volctl recover %d --repersist (a brief outage: delete-lu -k, then import-lu)",
			strings.Join(unpersisted, "; "), s.op.ID)
	default:
		s.op.State = store.OpRolledBack
		s.op.Attention = ""
	}
	_ = s.journal()
	s.e.log.Warn("operation compensated", "op", s.op.ID, "state", s.op.State, "cause", s.op.Error)
}
