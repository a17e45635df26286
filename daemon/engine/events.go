package engine

// The event stream: an operation in flight, its subscribers, and
// following it to the end.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/volctl/volctl/store"
)

// Event is one message of an operation's progress.
type Event struct {
	Op      uint64
	Index   int
	Step    string
	State   store.StepState
	Command *store.Command
	// CommandStarted is a command that has just started (argv, host,
	// started; no exit yet): Command reports its end.
	CommandStarted *store.Command
	Message        string
	Time           time.Time
	Compensation   bool
	// Plan is set on the first event of a rollback; Final on the last.
	Plan  *store.Operation
	Final *store.Operation
}

// follow streams r to emit from its start: its plan (a new operation's),
// every event so far, the rest as they come, and its result. Every caller
// of one request id gets the same, whenever it comes.
func (e *Engine) follow(ctx context.Context, r *inflight, emit func(Event)) (*store.Operation, error) {
	ch := r.subscribe(true)
	if r.plan != nil {
		e.emitPlan(r.plan, emit)
	}
	return e.stream(ctx, r, ch, emit)
}

// emitPlan emits how a journaled operation's stream begins, as a new one
// streams it live (planned.go): step 0 (the capture) starting, with the
// operation's id, then the plan.
func (e *Engine) emitPlan(op *store.Operation, emit func(Event)) {
	ev := Event{Op: op.ID, Step: captureStep.Name, State: store.StepRunning, Time: op.Created}
	if len(op.Steps) > 0 {
		ev.Step, ev.Time = op.Steps[0].Name, op.Steps[0].Started
	}
	emit(ev)
	emit(Event{Op: op.ID, Plan: op, Time: e.now()})
}

// inflightOf is a journaled operation to follow: in flight, or, when it
// is not, as the journal has it: an inflight that has ended, whose
// history is the journal's replay (as Watch shows it), so a request
// repeated after the end gets the plan, the steps and the result, with
// the operation's error.
func (e *Engine) inflightOf(ctx context.Context, op *store.Operation) (*inflight, error) {
	r, final, err := e.watched(ctx, op.ID)
	if err != nil {
		return nil, err
	}
	if r != nil {
		return r, nil
	}
	r = &inflight{id: final.ID, op: final, last: final, plan: final, subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
	replay(final, func(ev Event) { r.history = append(r.history, ev) })
	close(r.done)
	return r, nil
}

// inflight is one operation in progress and its subscribers.
type inflight struct {
	id   uint64
	op   *store.Operation
	mu   sync.Mutex
	subs map[*subscriber]struct{}
	done chan struct{}
	last *store.Operation
	// view is the operation as of its last event, without commands: what
	// status shows, since the journal is written only where recovery needs
	// it.
	view *store.Operation
	// plan is the rollback's plan (nil for a resume); history every event
	// published so far, replayed to a subscriber that comes late. It holds
	// what the operation's steps hold anyway (each command once, and the
	// argv of its start).
	plan    *store.Operation
	history []Event
	// before is the operation as journaled when it was resumed (nil for a
	// new one): what happened before history begins, for a watcher.
	before *store.Operation
	// resume is the resume that started it (nil for a new operation).
	resume *store.Resume
	// planning: it is planned and not journaled yet (planned.go; guarded
	// by the engine's mu). err is why a planning ended without an
	// operation (last is nil then), set before done is closed.
	planning bool
	err      error
	// prefetch is the first step's first read, started while the
	// operation's first write committed, for its saga (prefetch.go).
	prefetch *prefetch
	// ended is set once the saga has stopped (last is set); afterEnd are
	// called then (AfterEnd, callers.go).
	ended    bool
	afterEnd []func(*store.Operation)
	// intent is the step whose intent the operation's first write
	// carried (intent.go; 0: none).
	intent int
}

// viewOf is a copy of the operation as status shows it.
func (r *inflight) viewOf() *store.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.view == nil {
		return nil
	}
	v := *r.view
	v.Steps = slices.Clone(r.view.Steps)
	return &v
}

// setView records op's progress for status; called by the saga.
func (r *inflight) setView(op *store.Operation) {
	v := *op
	v.Steps = make([]store.Step, len(op.Steps))
	for i, st := range op.Steps {
		st.Commands, st.CompensationCommands, st.Planned = nil, nil, nil
		v.Steps[i] = st
	}
	r.mu.Lock()
	r.view = &v
	r.mu.Unlock()
}

func (r *inflight) publish(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.history = append(r.history, ev)
	for sub := range r.subs {
		if !sub.offer(ev) { // a slow client must never stall a rollback
			delete(r.subs, sub)
		}
	}
}

// subscribe returns a subscriber of the events published from now on;
// with replay, of every event since the operation started. Subscribing and
// taking the history are one step under the lock, so no event is lost or
// doubled.
func (r *inflight) subscribe(replay bool) *subscriber {
	r.mu.Lock()
	defer r.mu.Unlock()
	var history []Event
	if replay {
		history = r.history[:len(r.history):len(r.history)]
	}
	sub := newSubscriber(history)
	r.subs[sub] = struct{}{}
	return sub
}

func (r *inflight) unsubscribe(sub *subscriber) {
	r.mu.Lock()
	delete(r.subs, sub)
	r.mu.Unlock()
}

// stream forwards r's events to emit until the operation ends or ctx does,
// or the subscriber falls behind (ErrFellBehind).
func (e *Engine) stream(ctx context.Context, r *inflight, sub *subscriber, emit func(Event)) (*store.Operation, error) {
	defer r.unsubscribe(sub)
	for _, ev := range sub.history {
		emit(ev)
	}
	for {
		select {
		case <-sub.wake:
			for _, ev := range sub.take() {
				emit(ev)
			}
		case <-sub.dropped:
			return nil, fellBehind(r.id)
		case <-r.done:
			select {
			case <-sub.dropped:
				return nil, fellBehind(r.id)
			default:
			}
			for _, ev := range sub.take() {
				emit(ev)
			}
			final := r.last
			if final == nil { // a planning refused: nothing was journaled
				return nil, r.err
			}
			emit(Event{Op: final.ID, Final: final, Time: e.now()})
			if noError(final.State) { // await.go: succeeded, or waiting for an admin
				return final, nil
			}
			return final, finalError(final)
		case <-ctx.Done():
			return nil, &LeftError{Op: r.id, Err: ctx.Err()}
		}
	}
}

// RunningOperations returns the operations in progress as of their last
// event (steps without their commands), or as journaled for one that has
// not emitted any yet.
func (e *Engine) RunningOperations() []*store.Operation {
	e.mu.Lock()
	runs := make([]*inflight, 0, len(e.running))
	for _, r := range e.running {
		runs = append(runs, r)
	}
	e.mu.Unlock()
	var out []*store.Operation
	for _, r := range runs {
		r.mu.Lock()
		v := r.view
		r.mu.Unlock()
		if v == nil {
			var err error
			if v, err = e.db.GetOperation(r.id); err != nil {
				continue
			}
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *store.Operation) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Watch streams operation id from its start, for any client: the plan,
// what the journal says happened before this process picked it up (as
// events, see replay), the events since, then live ones until it ends,
// then the operation. An operation that has ended is replayed whole. The
// error is the operation's, as Rollback returns it.
func (e *Engine) Watch(ctx context.Context, id uint64, emit func(Event)) (*store.Operation, error) {
	r, op, err := e.watched(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		e.emitPlan(op, emit)
		replay(op, emit)
		emit(Event{Op: op.ID, Final: op, Time: e.now()})
		if noError(op.State) {
			return op, nil
		}
		return op, finalError(op)
	}
	// before and plan are fixed once the saga runs; history and the
	// subscription are taken in one step (subscribe), so nothing is lost
	// or doubled between the replay and the live events.
	ch := r.subscribe(true)
	plan := r.plan
	if plan == nil {
		plan = r.before
	}
	if plan != nil {
		e.emitPlan(plan, emit)
	}
	if r.before != nil {
		replay(r.before, emit)
		if rs := r.resume; rs != nil {
			emit(Event{Op: id, Index: stepIndex(r.before, rs.Step), Step: rs.Step, State: r.before.Steps[stepIndex(r.before, rs.Step)].State,
				Message: resumeNote(rs), Time: rs.Time})
		}
	}
	return e.stream(ctx, r, ch, emit)
}

// watched finds the operation to watch: in flight (r), or as journaled. An
// unfinished operation that is not in flight yet is about to be (created
// and not started, or waiting for Start at the daemon's start): it waits a
// little for it rather than report a running operation as ended.
func (e *Engine) watched(ctx context.Context, id uint64) (*inflight, *store.Operation, error) {
	for wait := 0; ; wait++ {
		e.mu.Lock()
		r := e.running[id]
		e.mu.Unlock()
		if r != nil {
			return r, nil, nil
		}
		op, err := e.Operation(id)
		if err != nil {
			return nil, nil, err
		}
		if op.State.Terminal() || e.base.Err() != nil || wait >= 200 {
			return nil, op, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// resumeNote says, for a watcher, where the journal's replay ends and the
// resumed operation's own events begin.
func resumeNote(rs *store.Resume) string {
	how := "after a restart"
	switch rs.Trigger {
	case store.ResumeRecover:
		how = "by recover"
	case store.ResumeFinish, store.ResumeAbandon:
		how = "by rescue --" + rs.Trigger
	}
	where := ""
	if rs.Step != "" {
		where = " in step " + rs.Step
	}
	return fmt.Sprintf("resumed %s (stopped %s%s, %s); what ran before comes from the journal, which keeps the commands up to its last write",
		how, rs.Stopped.UTC().Format(time.RFC3339), where, rs.State)
}

func stepIndex(op *store.Operation, name string) int {
	for i, st := range op.Steps {
		if st.Name == name {
			return i
		}
	}
	return 0
}

// replay emits, as a rollback streams them, the events a journaled
// operation's steps record: forward in order (start, each command's start
// and end, end), then the compensation newest first. The journal keeps a step's last start and
// end only, so the times of a step that ran both ways are its commands'.
// Notes are not journaled. Step 0 (the capture) is in the plan.
func replay(op *store.Operation, emit func(Event)) {
	ev := func(i int, state store.StepState, at time.Time, comp bool) Event {
		return Event{Op: op.ID, Index: i, Step: op.Steps[i].Name, State: state, Time: at, Compensation: comp}
	}
	for i := 1; i < len(op.Steps); i++ {
		st := op.Steps[i]
		backward := compensated(st)
		if st.State == store.StepPending && len(st.Commands) == 0 {
			continue
		}
		if st.State == store.StepSkipped {
			emit(ev(i, store.StepSkipped, st.Finished, false))
			continue
		}
		start, end := st.Started, st.Finished
		if backward {
			start, end = cmdSpan(st.Commands, st.Started)
		}
		emit(ev(i, store.StepRunning, start, false))
		for _, c := range st.Commands {
			emit(Event{Op: op.ID, Index: i, Step: st.Name, State: store.StepRunning, CommandStarted: started(c), Time: c.Started})
			emit(Event{Op: op.ID, Index: i, Step: st.Name, State: store.StepRunning, Command: &c, Time: c.Started.Add(c.Duration)})
		}
		switch {
		case st.State == store.StepRunning:
			// Interrupted here: no end.
		case backward:
			forward := store.StepDone
			if st.Error != "" && !strings.HasPrefix(st.Error, "undo: ") {
				forward = store.StepFailed
			}
			emit(ev(i, forward, end, false))
		default:
			emit(ev(i, st.State, end, false))
		}
	}
	for i := len(op.Steps) - 1; i >= 1; i-- {
		st := op.Steps[i]
		if !compensated(st) {
			continue
		}
		emit(ev(i, store.StepCompensating, st.Started, true))
		for _, c := range st.CompensationCommands {
			emit(Event{Op: op.ID, Index: i, Step: st.Name, State: store.StepCompensating, CommandStarted: started(c),
				Time: c.Started, Compensation: true})
			emit(Event{Op: op.ID, Index: i, Step: st.Name, State: store.StepCompensating, Command: &c,
				Time: c.Started.Add(c.Duration), Compensation: true})
		}
		if st.State != store.StepCompensating {
			emit(ev(i, st.State, st.Finished, true))
		}
	}
}

// started is the start of a journaled command, as Exec.Starting streams
// it.
func started(c store.Command) *store.Command {
	return &store.Command{Argv: c.Argv, Host: c.Host, Started: c.Started}
}

// compensated reports whether a journaled step was (or is being) undone.
func compensated(st store.Step) bool {
	return st.State == store.StepCompensating || st.State == store.StepCompensated || len(st.CompensationCommands) > 0 ||
		(st.State == store.StepFailed && strings.Contains(st.Error, "undo: "))
}

// cmdSpan is when commands ran: the first one's start to the last one's
// end, or at when there are none.
func cmdSpan(cmds []store.Command, at time.Time) (time.Time, time.Time) {
	if len(cmds) == 0 {
		return at, at
	}
	last := cmds[len(cmds)-1]
	return cmds[0].Started, last.Started.Add(last.Duration)
}
