package engine

// The event stream: an operation in flight, its subscribers, and
// following it to the end.

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/volctl/volctl/store"
)

// Event is one message of an operation's progress.
type Event struct {
	Op           uint64
	Index        int
	Step         string
	State        store.StepState
	Command      *store.Command
	Message      string
	Time         time.Time
	Compensation bool
	// Plan is set on the first event of a rollback; Final on the last.
	Plan  *store.Operation
	Final *store.Operation
}

// follow streams an existing operation: to the end if it is running, or
// just its final state.
func (e *Engine) follow(ctx context.Context, op *store.Operation, emit func(Event)) (*store.Operation, error) {
	e.mu.Lock()
	r := e.running[op.ID]
	e.mu.Unlock()
	if r != nil {
		// A second terminal (the same request id) sees the whole operation:
		// its plan, then every event so far, then the rest as it happens.
		if r.plan != nil {
			emit(Event{Op: op.ID, Plan: r.plan, Time: e.now()})
		}
		return e.stream(ctx, r, r.subscribe(true), emit)
	}
	final, err := e.db.GetOperation(op.ID)
	if err != nil {
		return nil, err
	}
	emit(Event{Op: op.ID, Final: final, Time: e.now()})
	return final, nil
}

// inflight is one operation in progress and its subscribers.
type inflight struct {
	op   *store.Operation
	mu   sync.Mutex
	subs map[chan Event]struct{}
	done chan struct{}
	last *store.Operation
	// view is the operation as of its last event, without commands: what
	// status shows, since the journal is written only where recovery needs
	// it.
	view *store.Operation
	// plan is the rollback's plan (nil for a resume); history every event
	// published so far, replayed to a subscriber that comes late. It holds
	// what the operation's steps hold anyway (each command once).
	plan    *store.Operation
	history []Event
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
	for ch := range r.subs {
		select {
		case ch <- ev:
		default: // a slow client must never stall a rollback
		}
	}
}

// subscribe returns a channel of the events published from now on; with
// replay, of every event since the operation started. Subscribing and the
// replay are one step under the lock, so no event is lost or doubled.
func (r *inflight) subscribe(replay bool) chan Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	if replay {
		n = len(r.history)
	}
	ch := make(chan Event, n+1024)
	for _, ev := range r.history[:n] {
		ch <- ev
	}
	r.subs[ch] = struct{}{}
	return ch
}

func (r *inflight) unsubscribe(ch chan Event) {
	r.mu.Lock()
	delete(r.subs, ch)
	r.mu.Unlock()
}

// stream forwards r's events to emit until the operation ends or ctx does.
func (e *Engine) stream(ctx context.Context, r *inflight, ch chan Event, emit func(Event)) (*store.Operation, error) {
	defer r.unsubscribe(ch)
	for {
		select {
		case ev := <-ch:
			emit(ev)
		case <-r.done:
			for {
				select {
				case ev := <-ch:
					emit(ev)
					continue
				default:
				}
				break
			}
			final := r.last
			emit(Event{Op: final.ID, Final: final, Time: e.now()})
			if final.State == store.OpSucceeded {
				return final, nil
			}
			return final, finalError(final)
		case <-ctx.Done():
			return nil, ctx.Err()
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
			if v, err = e.db.GetOperation(r.op.ID); err != nil {
				continue
			}
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *store.Operation) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
