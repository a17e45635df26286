package engine

// A saga is an operation's steps, run in order against the journal. Step 0
// is the engine's capture (read-only, journaled done); the backend's steps
// follow. One of them may be the commit step (the zfs rollback): the point
// of no return.
//
// A step's state (store.StepState) moves so:
//
//	pending ──Do──▶ running ──ok──▶ done
//	                   │              │
//	                   └─err─▶ failed │ (a failure before the commit step is done)
//	                              │   │
//	                              ▼   ▼
//	                  compensating ──Undo ok──▶ compensated
//	                        │
//	                        └─Undo err─▶ failed (recover runs the Undo again)
//
// and the operation's (store.OpState):
//
//	planned ─▶ running ─┬─▶ succeeded
//	                    ├─▶ compensating ─┬─▶ rolled_back
//	                    │                 └─▶ needs_attention (an Undo failed)
//	                    └─▶ needs_attention (a step failed past the commit step)
//
// Forward or backward: a failure before the commit step is done goes
// backward (every step that ran is undone, newest first); after it, forward
// (retried, then needs attention for volctl recover). A step past the
// commit that finds the rollback did not take effect after all
// (ErrNotCommitted) turns the commit step back to failed, and the saga goes
// backward. Where an operation is picked up again (a restart after a crash,
// a recover), decide chooses from the journaled operation and, where the
// journal cannot tell, from what the commit step's Check reports.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// Step is one step of a saga. Do and Undo must converge: read the present
// state first and change only what is not yet as wanted, so that running
// them again after a crash or a retry is safe.
type Step struct {
	Name        string
	Description string
	// Planned are the commands the step is expected to run (the dry run).
	// A command another host runs (a peer's zone service) is OnHost(host,
	// argv).
	Planned [][]string
	// OutageWindow marks the steps between the LU going and coming back.
	OutageWindow bool
	// FollowsWindow marks a step after the window that brings back what
	// the LU's users need (restore-views' add-view): its commands go
	// ahead of other operations' as the window's do (sched.go).
	FollowsWindow bool
	// Commit marks the point of no return (the zfs rollback): before it is
	// done a failure compensates backwards, after it rolls forward.
	Commit bool
	// Retried marks a step before the commit whose failures are retried
	// (the retry policy, as past the commit) before the saga goes
	// backward: one whose failure costs more to undo than to run again
	// (a failed delete-lu may have unpersisted the LU). Its Do marks what
	// a retry cannot fix Permanent.
	Retried bool
	// Park, for a step in the outage window past the commit, runs once the
	// step has failed for good, before the operation stops for attention:
	// it brings back what the window took away, so that nothing stays away
	// while the operation waits for a person, and returns the attention
	// text (where things stand, what to do). Recover then runs the step
	// again and the window opens again: the step's Do takes away again
	// what it needs away.
	Park func(ctx context.Context, x *Exec, cause error) (string, error)
	// Check tells, for the commit step, whether it took effect: asked when
	// the step failed or was interrupted by a crash.
	Check func(ctx context.Context, x *Exec) (bool, error)
	// Await marks a step before the commit at which the operation stops,
	// on purpose, for an admin (rescue --shell, await.go): once its Do
	// succeeds the step stays running, the operation is journaled waiting
	// with Await's text (what to do, how to finish) as its attention, and
	// nothing more runs until the admin finishes it (Finish: the step is
	// done, the saga goes on) or abandons it (Abandon: it goes backward).
	Await func(op *store.Operation) string
	Do    func(ctx context.Context, x *Exec) error
	Undo  func(ctx context.Context, x *Exec) error
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
	if !e.readOnly(argv) {
		x.s.awaitJournal() // ahead.go: a change waits for the journal's write
	}
	var res *execx.Result
	var err error
	if p := x.takePrefetch(argv); p != nil { // prefetch.go
		x.Starting("", argv)
		res, err = p.answer(ctx)
	} else {
		r := execx.Runner{Timeout: e.timeout(argv), MaxOutput: e.cfg.MaxOutput, Sched: e.sched,
			Urgent: x.s.window != nil || x.s.steps[x.index].FollowsWindow, Window: x.s.window,
			OnStart: func() { x.Starting("", argv) }} // after its wait for the scheduler (sched.go)
		if !r.Urgent {
			e.share(&r, argv, x.s) // sched.go
		}
		res, err = r.Run(ctx, argv)
	}
	cmd := toCommand(res)
	// A step may run commands from several goroutines (a group's volumes
	// side by side): their records go in one at a time.
	x.s.cmdMu.Lock()
	defer x.s.cmdMu.Unlock()
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

// Starting streams that a command is starting (on host, "" for this one):
// a watcher sees what a long step waits for. Run calls it; a step calls it
// before it asks a peer to run argv. Nothing is journaled: the command's
// record comes when it ends.
func (x *Exec) Starting(host string, argv []string) {
	if host != "" {
		x.s.awaitJournal() // ahead.go: what a peer runs may change something
	}
	cmd := &store.Command{Argv: slices.Clone(argv), Host: host, Started: x.s.e.now().UTC()}
	x.s.cmdMu.Lock()
	defer x.s.cmdMu.Unlock()
	st := x.s.op.Steps[x.index]
	x.s.r.publish(Event{Op: x.s.op.ID, Index: x.index, Step: st.Name, State: st.State, CommandStarted: cmd,
		Time: cmd.Started, Compensation: x.undo})
}

// Record journals commands another host ran for the step (a peer's zone
// service answering a remote call), each naming its Host, and streams them
// as Run does local ones.
func (x *Exec) Record(cmds []store.Command) {
	x.s.awaitJournal() // ahead.go
	x.s.cmdMu.Lock()
	defer x.s.cmdMu.Unlock()
	st := &x.s.op.Steps[x.index]
	for _, cmd := range cmds {
		if x.undo {
			st.CompensationCommands = append(st.CompensationCommands, cmd)
		} else {
			st.Commands = append(st.Commands, cmd)
		}
		x.s.e.log.Debug("remote command", "op", x.s.op.ID, "step", st.Name, "host", cmd.Host, "argv", strings.Join(cmd.Argv, " "),
			"exit", cmd.Exit, "stderr", execx.Cap(strings.TrimSpace(cmd.Stderr), 512))
		x.s.emit(x.index, st.State, &cmd, "", x.undo)
	}
}

// OnHost marks a planned command that host runs (a peer): the argv with
// "@host" in front. SplitHost takes it apart again.
func OnHost(host string, argv []string) []string {
	return append([]string{"@" + host}, argv...)
}

// SplitHost returns the host of a planned command ("" for this host) and
// its argv.
func SplitHost(argv []string) (string, []string) {
	if len(argv) > 0 && strings.HasPrefix(argv[0], "@") {
		return argv[0][1:], argv[1:]
	}
	return "", argv
}

// Note streams an informational message for the step.
func (x *Exec) Note(format string, args ...any) {
	x.s.cmdMu.Lock()
	defer x.s.cmdMu.Unlock()
	st := x.s.op.Steps[x.index]
	x.s.emit(x.index, st.State, nil, fmt.Sprintf(format, args...), x.undo)
}

// ExtendOutage moves the end of the outage window to now: a step after the
// window had to repair something the LU's users needed (missing views).
func (x *Exec) ExtendOutage() { x.s.op.OutageEnd = x.s.e.now().UTC() }

// The decision.

// direction is where a saga goes next.
type direction int

const (
	// goForward runs the steps from decision.from on.
	goForward direction = iota + 1
	// goBackward undoes the steps from decision.from back to the first.
	goBackward
	// askCheck: the journal cannot tell; ask the Check of step
	// decision.from (the commit step) and decide again with its report.
	askCheck
	// finished: every step is done.
	finished
	// stuck: the operation needs a person (decision.why says why).
	stuck
	// ended: the operation succeeded or was rolled back; nothing to do.
	ended
)

func (d direction) String() string {
	return [...]string{"?", "forward", "backward", "ask-check", "finished", "stuck", "ended"}[d]
}

// decision is what decide and decideFailure choose.
type decision struct {
	dir  direction
	from int
	// doneThrough, when > 0, marks the steps 1..doneThrough done before
	// going forward: the commit step's Check found that the rollback took
	// effect, and everything before it had to be done for that (the LU
	// deleted, the zones detached).
	doneThrough int
	// cause is the operation's error when going backward ("" keeps it).
	cause string
	// why is for the log, or the attention text when stuck.
	why string
}

// checkReport is what the commit step's Check said, for decide.
type checkReport struct {
	asked bool
	done  bool
	err   error
}

// finishedStep reports whether a step needs nothing more going forward.
func finishedStep(st store.StepState) bool { return st == store.StepDone || st == store.StepSkipped }

// decide chooses where a journaled operation goes when it is picked up
// again: after a restart (running, compensating, planned) or by recover
// (needs_attention). It reads only the journaled operation, the shape of
// the steps (which is the commit step, which have a Check, which are in
// the outage window) and, once it asked for one, the commit step's check.
// It changes nothing.
func decide(op *store.Operation, steps []Step, check checkReport) decision {
	if len(steps) != len(op.Steps) {
		return decision{dir: stuck, why: fmt.Sprintf("the journal has %d steps but this daemon builds %d for it; finish it by hand from the journal (volctl op show %d)",
			len(op.Steps), len(steps), op.ID)}
	}
	switch op.State {
	case store.OpSucceeded, store.OpRolledBack, store.OpResolved, store.OpWaiting:
		return decision{dir: ended, why: fmt.Sprintf("the operation has ended (%s)", op.State)}
	case store.OpCompensating:
		return decision{dir: goBackward, from: len(steps) - 1, why: "interrupted while compensating; compensating again"}
	case store.OpPlanned:
		return decision{dir: goForward, from: 1, why: "planned; nothing had run"}
	}
	// Running (after a crash) or needs_attention (recover): find where it
	// stopped.
	at := -1
	for i := 1; i < len(op.Steps); i++ {
		if !finishedStep(op.Steps[i].State) {
			at = i
			break
		}
	}
	if at < 0 {
		return decision{dir: finished, why: "every step is done"}
	}
	attention := op.State == store.OpNeedsAttention
	if committed(op, steps) {
		return decision{dir: goForward, from: at, why: "the rollback took effect; going on"}
	}
	if attention && anyCompensation(op) {
		return decision{dir: goBackward, from: len(steps) - 1, cause: op.Error, why: "a compensation that could not finish: trying it again"}
	}
	window := windowOpen(op)
	if c := commitIndex(steps); c >= 0 && steps[c].Check != nil && (window || op.Steps[c].State != store.StepPending) {
		// Interrupted inside the outage window (whose steps are not
		// journaled one by one) or inside the point of no return: the
		// platform tells whether the rollback took effect.
		if !check.asked {
			return decision{dir: askCheck, from: c, why: "interrupted in the outage window or the rollback: asking whether the rollback took effect"}
		}
		if check.err == nil && check.done {
			return decision{dir: goForward, from: c + 1, doneThrough: c, why: "the rollback took effect before the interruption; rolling forward"}
		}
		if window && op.State == store.OpRunning {
			// The LU is (or may be) away and nothing uses the volume:
			// deleting the LU again and rolling back again are harmless,
			// so an unknown outcome is finished forward.
			return decision{dir: goForward, from: at, why: "interrupted inside the outage window; finishing forward"}
		}
	}
	if op.State == store.OpRunning && !window {
		// Interrupted before the outage window: every step converges (it
		// reads the present state before it changes anything), so the
		// rollback goes on from where the journal says it was.
		return decision{dir: goForward, from: at, why: "interrupted before the outage window; going on"}
	}
	cause := fmt.Sprintf("interrupted during step %s before the rollback took effect; restored the state from before", op.Steps[at].Name)
	if attention {
		cause = op.Error
	}
	return decision{dir: goBackward, from: at, cause: cause, why: "not committed: restoring the state from before"}
}

// decideFailure chooses where the saga goes after step i failed with err:
// backward while the rollback has not taken effect, else it is stuck for
// recover. ErrNotCommitted means the commit step's success was a lie (a
// command that exited 0 and did nothing): believe the data, the world is
// still on the near side.
func decideFailure(op *store.Operation, steps []Step, i int, err error) decision {
	cause := fmt.Sprintf("step %s failed: %v", steps[i].Name, err)
	if !errors.Is(err, ErrNotCommitted) && committed(op, steps) {
		return decision{dir: stuck, from: i, cause: cause, why: attentionAfter(op, steps, i)}
	}
	return decision{dir: goBackward, from: i, cause: cause}
}

// commitIndex is the index of the commit step, or -1.
func commitIndex(steps []Step) int {
	for i, st := range steps {
		if st.Commit {
			return i
		}
	}
	return -1
}

// committed reports whether the point of no return is behind: a commit step
// is done.
func committed(op *store.Operation, steps []Step) bool {
	for i, st := range steps {
		if st.Commit && op.Steps[i].State == store.StepDone {
			return true
		}
	}
	return false
}

func anyCompensation(op *store.Operation) bool {
	for _, st := range op.Steps {
		if st.State == store.StepCompensated || st.State == store.StepCompensating || len(st.CompensationCommands) > 0 {
			return true
		}
	}
	return false
}

// windowOpen reports whether the LU is away: an outage window started and
// has not ended.
func windowOpen(op *store.Operation) bool {
	return !op.OutageStart.IsZero() && !op.OutageEnd.After(op.OutageStart)
}

// attentionAfter says what is left after step i failed past the point of
// no return.
func attentionAfter(op *store.Operation, steps []Step, i int) string {
	var left []string
	for j := i; j < len(steps); j++ {
		if !finishedStep(op.Steps[j].State) {
			left = append(left, steps[j].Name)
		}
	}
	where := "the volume is at " + op.Snapshot
	if r := op.Identity.Rescue; op.Kind == store.KindRescue && r != nil { // rescue.go
		where = fmt.Sprintf("%s's root pool was exported in %s", r.Zone, r.With)
	}
	return fmt.Sprintf("%s; these steps are left: %s. Fix the cause (see the failed step's command and stderr), then run: volctl recover %d",
		where, strings.Join(left, ", "), op.ID)
}

// The retry policy.

// retryPolicy is how a failed Do or Undo is run again: up to attempts more
// times, waiting n×delay before the n-th, unless final says running it
// again cannot help or stop says the daemon is going down.
type retryPolicy struct {
	attempts int
	delay    time.Duration
	final    func(error) bool
	stop     func() bool
	sleep    func(time.Duration)
}

// run calls f until it succeeds or the policy gives up, returning the last
// error. After each failure settled is asked first (nil: never): true ends
// it as a success (the commit step's Check found that the rollback took
// effect despite the error). retrying is told of each retry.
func (p retryPolicy) run(f func() error, settled func(error) bool, retrying func(attempt int, err error)) error {
	err := f()
	for attempt := 1; err != nil; attempt++ {
		if settled != nil && settled(err) {
			return nil
		}
		if p.final(err) || attempt > p.attempts || p.stop() {
			return err
		}
		if retrying != nil {
			retrying(attempt, err)
		}
		p.sleep(p.delay * time.Duration(attempt))
		err = f()
	}
	return nil
}

// The runner.

// saga runs one operation's steps against the journal.
type saga struct {
	e  *Engine
	op *store.Operation
	// cmdMu orders the records of commands run from several goroutines of
	// one step (Exec.Run, Record, Note).
	cmdMu sync.Mutex
	steps []Step
	r     *inflight
	// journalErr is the last journal write's failure (nil once one
	// succeeds again): the saga then goes on in memory, so that the LU is
	// never left away because a disk filled up.
	journalErr error
	// quiet holds a journal write back: the state goes to disk with the
	// next write that recovery needs (see journalsStart and journalsEnd),
	// so that a rollback pays for the fsyncs it must have and no others.
	quiet bool
	// carried is the step whose intent the operation's first write
	// carried (intent.go; 0: none), until the saga writes the journal.
	carried int
	// window is the outage window's slot while the saga holds one
	// (sched.go): its commands are urgent.
	window *execx.Window
	// aheadNext makes the next journal write one that runs ahead
	// (ahead.go); ahead is that write while it is in flight.
	aheadNext bool
	aheadMu   sync.Mutex
	ahead     *aheadWrite
	// prefetch is the first step's first read, started while the
	// operation's first write committed, until the first command
	// (prefetch.go; guarded by cmdMu).
	prefetch *prefetch
}

func (s *saga) emit(i int, state store.StepState, cmd *store.Command, msg string, comp bool) {
	s.r.setView(s.op)
	s.r.publish(Event{Op: s.op.ID, Index: i, Step: s.op.Steps[i].Name, State: state, Command: cmd,
		Message: msg, Time: s.e.now(), Compensation: comp})
}

// journal writes the operation as it is now. A write that fails does not
// stop the saga (see journalErr): the caller decides whether the step may
// start without it.
func (s *saga) journal() error {
	if s.quiet {
		return nil
	}
	s.awaitJournal() // ahead.go: the writes reach the disk in order
	s.carried = 0    // the record on disk is this one from now on
	s.op.Updated = s.e.now().UTC()
	if s.aheadNext {
		return s.journalAhead()
	}
	return s.wrote(s.e.putOperation(s.op))
}

// wrote takes in the outcome of a journal write: a write that fails does
// not stop the saga (journalErr), one that succeeds clears it.
func (s *saga) wrote(err error) error {
	if err != nil {
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
	s.awaitJournal() // ahead.go
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

// ctx is what commands run on: a context that shutdown does not cancel. A
// stopping daemon lets the running step finish (its commands keep their
// own deadlines) and stops at the next step boundary (s.stopping).
func (s *saga) ctx() context.Context { return context.WithoutCancel(s.e.base) }

// start runs a new operation from its first step after the capture. Its
// running state is written with the first step that journals its start,
// or was with the operation's first write when that carried the window's
// intent (intent.go): until then only steps that converge ran, and a
// journal that still says planned resumes forward.
func (s *saga) start() {
	if d := decide(s.op, s.steps, checkReport{}); d.dir == stuck {
		s.follow(s.ctx(), d)
		return
	}
	s.op.State = store.OpRunning
	s.carried = s.r.intent
	s.forward(s.ctx(), 1)
}

// resume picks up an operation from the journal (a restart or a recover):
// decide says where it goes, asking the commit step's Check when the
// journal cannot tell.
func (s *saga) resume() {
	ctx := s.ctx()
	s.holdOpenWindow() // sched.go: the LU may be away
	d := decide(s.op, s.steps, checkReport{})
	if d.dir == askCheck {
		done, err := s.steps[d.from].Check(ctx, &Exec{s: s, index: d.from})
		d = decide(s.op, s.steps, checkReport{asked: true, done: done, err: err})
		if err != nil {
			s.e.log.Warn("could not tell whether the rollback took effect", "op", s.op.ID, "error", err)
		}
	}
	s.e.log.Warn("resuming", "op", s.op.ID, "state", s.op.State, "direction", d.dir, "from", d.from, "why", d.why)
	s.follow(ctx, d)
}

// follow carries out a decision.
func (s *saga) follow(ctx context.Context, d decision) {
	switch d.dir {
	case stuck:
		s.quiet = false
		s.op.State = store.OpNeedsAttention
		if d.cause != "" {
			s.op.Error = d.cause
		}
		s.op.Attention = d.why
		_ = s.journal()
	case finished:
		s.op.State = store.OpSucceeded
		_ = s.journal()
	case ended:
	case goBackward:
		s.compensate(ctx, d.from, d.cause)
	case goForward:
		for j := 1; j <= d.doneThrough; j++ {
			if s.op.Steps[j].State != store.StepSkipped {
				s.op.Steps[j].State = store.StepDone
			}
		}
		s.op.State = store.OpRunning
		s.op.Attention = ""
		_ = s.journal()
		s.forward(ctx, d.from)
	}
}

// forward runs steps from index from on.
func (s *saga) forward(ctx context.Context, from int) {
	for i := from; i < len(s.steps); i++ {
		if finishedStep(s.op.Steps[i].State) {
			continue
		}
		if s.stopping(i) {
			s.quiet = false
			_ = s.journal()
			return
		}
		step := s.steps[i]
		if step.OutageWindow && !s.admitWindow() { // sched.go
			// The daemon is stopping while this operation waited for a
			// window slot: its LU has not gone; stop here.
			s.quiet = false
			_ = s.journal()
			return
		}
		opens := step.OutageWindow && s.op.OutageStart.IsZero()
		if step.OutageWindow {
			s.e.windows.opened(s.op.ID) // windows.go: long reads wait
		}
		if opens {
			s.op.OutageStart = s.e.now().UTC()
		}
		if step.OutageWindow && !opens && !windowOpen(s.op) {
			// A window step runs again after its window was closed (the
			// operation was parked, see Step.Park, and is recovered): the
			// window is open again until its last step is done. It keeps
			// its start, so the outage it reports spans the wait too.
			s.op.OutageEnd = time.Time{}
		}
		s.op.Steps[i].Attempts++
		s.op.Steps[i].Error = ""
		s.quiet = !s.journalsStart(i) || s.intentOnDisk(i)
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
		err := s.do(ctx, step, &Exec{s: s, index: i})
		if err == nil && step.Await != nil {
			s.wait(i, step) // await.go
			return
		}
		if err == nil {
			closes := step.OutageWindow && !s.laterWindowStep(i)
			if closes {
				s.op.OutageEnd = s.e.now().UTC()
			}
			s.quiet = !s.journalsEnd(i)
			// The window's result runs ahead of the reads that follow
			// it; anything that changes something waits for it (ahead.go).
			s.aheadNext = s.journalsEnd(i) && s.e.readsAhead()
			_ = s.setStep(i, store.StepDone, false)
			s.aheadNext = false
			if closes {
				s.e.windows.closed(s.op.ID)
			}
			if step.OutageWindow && !s.laterWindowStep(i) {
				s.closeWindow() // after its end is journaled
			}
			continue
		}
		s.quiet = false
		s.op.Steps[i].Error = err.Error()
		_ = s.setStep(i, store.StepFailed, false)
		s.e.log.Error("step failed", "op", s.op.ID, "step", step.Name, "error", err)
		d := decideFailure(s.op, s.steps, i, err)
		if errors.Is(err, ErrNotCommitted) {
			for j, st := range s.steps {
				if st.Commit && s.op.Steps[j].State == store.StepDone {
					s.op.Steps[j].State = store.StepFailed
					s.op.Steps[j].Error = err.Error()
				}
			}
		}
		if d.dir == stuck && step.Park != nil && windowOpen(s.op) {
			d.why = s.park(ctx, step, i, err, d.why)
		}
		s.follow(ctx, d)
		return
	}
	s.op.State = store.OpSucceeded
	s.op.Error, s.op.Attention = "", ""
	s.quiet = false
	_ = s.journal()
	s.e.log.Info("operation succeeded", "op", s.op.ID, "outage", s.op.OutageEnd.Sub(s.op.OutageStart))
}

// park runs step i's Park (step failed for good with cause past the
// commit) with the retry policy, and returns the attention text: Park's,
// or why (what is left) and why the window could not be closed. A park
// that succeeded closes the outage window.
func (s *saga) park(ctx context.Context, step Step, i int, cause error, why string) string {
	x := &Exec{s: s, index: i}
	x.Note("bringing back what the outage window took away while the operation waits for attention")
	var text string
	err := s.retry(IsPermanent).run(func() error {
		var perr error
		text, perr = step.Park(ctx, x, cause)
		return perr
	}, nil, func(_ int, err error) { x.Note("retrying after: %v", err) })
	if err != nil {
		s.e.log.Error("could not bring back what the outage window took away", "op", s.op.ID, "step", step.Name, "error", err)
		return fmt.Sprintf("%s Bringing back what the outage window took away failed too (%v): some of it may still be away; recover brings it back.", why, err)
	}
	s.op.OutageEnd = s.e.now().UTC()
	return text
}

// retry is the engine's retry policy with final as what is not retried.
func (s *saga) retry(final func(error) bool) retryPolicy {
	return retryPolicy{attempts: s.e.cfg.Retries, delay: s.e.cfg.RetryDelay, final: final,
		stop: func() bool { return s.e.base.Err() != nil }, sleep: time.Sleep}
}

// do runs a step's Do with the retry policy: past the point of no return
// every failure that is not permanent is retried, and so is a Retried
// step's before it; the commit step itself is asked first whether it took
// effect after all (its Check reads evidence that nothing else changes,
// e.g. zpool history) and is otherwise retried too, since the rollback is
// harmless to repeat while the LU is away. A permanent failure (the
// platform refused with a known reason) is not. Each attempt's commands
// are journaled with the step.
func (s *saga) do(ctx context.Context, step Step, x *Exec) error {
	final := func(err error) bool {
		return !(step.Commit || step.Retried || committed(s.op, s.steps)) || IsPermanent(err) || errors.Is(err, ErrNotCommitted)
	}
	var settled func(error) bool
	if step.Commit && step.Check != nil {
		settled = func(err error) bool {
			done, cerr := step.Check(ctx, x)
			switch {
			case cerr != nil:
				x.Note("could not tell whether the rollback took effect: %v", cerr)
			case done:
				x.Note("the rollback took effect despite the error (%v); going on", err)
			}
			return cerr == nil && done
		}
	}
	attempt := func() error { return step.Do(ctx, x) }
	return s.retry(final).run(attempt, settled, func(n int, err error) {
		s.e.log.Warn("step failed, retrying", "op", s.op.ID, "step", step.Name, "attempt", n, "error", err)
		x.Note("retrying after: %v", err)
		s.op.Steps[x.index].Attempts++
	})
}

// undo runs a step's Undo with the retry policy. A permanent failure is
// not retried, nor an LU restored but not persisted (ErrUnpersisted: only
// recover --repersist may take the outage that fixes it).
func (s *saga) undo(ctx context.Context, step Step, x *Exec) error {
	final := func(err error) bool { return IsPermanent(err) || errors.Is(err, ErrUnpersisted) }
	return s.retry(final).run(func() error { return step.Undo(ctx, x) }, nil, func(_ int, err error) {
		x.Note("retrying undo after: %v", err)
	})
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
// The window's intent may be on disk already: the operation's first write
// carries it (intent.go), and forward does not write it again.
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

func (s *saga) laterWindowStep(i int) bool {
	for j := i + 1; j < len(s.steps); j++ {
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
	if windowOpen(s.op) {
		// Never leave the LU away while the daemon is down: finish the
		// outage window (or its undo) first.
		s.e.log.Warn("shutting down: finishing the outage window first", "op", s.op.ID, "next", s.steps[i].Name)
		return false
	}
	s.e.log.Warn("shutting down: stopping at a step boundary", "op", s.op.ID, "state", s.op.State, "next", s.steps[i].Name)
	return true
}

// compensate undoes, backwards from index from, every step that ran or may
// have run, so the world is as it was before the operation.
func (s *saga) compensate(ctx context.Context, from int, cause string) {
	s.holdOpenWindow() // sched.go: undoing the window is urgent
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
		if step.OutageWindow {
			s.e.windows.opened(s.op.ID) // windows.go: closed when the saga ends
		}
		err := s.undo(ctx, step, &Exec{s: s, index: j, undo: true})
		if err != nil {
			s.op.Steps[j].Error = strings.TrimPrefix(s.op.Steps[j].Error+"; undo: "+err.Error(), "; ")
		}
		if err == nil || errors.Is(err, ErrUnpersisted) {
			if step.OutageWindow && !s.op.OutageStart.IsZero() {
				s.op.OutageEnd = s.e.now().UTC()
			}
		}
		switch {
		case errors.Is(err, ErrUnpersisted):
			// Restored for now, but not for the next reboot: say so, and
			// leave the step failed so that recover runs its undo again.
			unpersisted = append(unpersisted, err.Error())
			_ = s.setStep(j, store.StepFailed, true)
		case err != nil:
			s.e.log.Error("undo failed", "op", s.op.ID, "step", step.Name, "error", err)
			failed = append(failed, fmt.Sprintf("%s (%v)", step.Name, err))
			_ = s.setStep(j, store.StepFailed, true)
		default:
			_ = s.setStep(j, store.StepCompensated, true)
		}
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
