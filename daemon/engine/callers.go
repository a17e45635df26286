package engine

// What an operation's callers see when they go away, ask after a request
// id, or wait for a busy volume (issue 21).
//
// An operation runs on the daemon's context, not its caller's: a caller
// that goes away (Ctrl-C, a dropped connection) leaves it running. Rollback
// and Recover then return a *LeftError naming the operation, so the server
// can audit it, and AfterEnd tells the server its result once it has one.
// RequestStatus answers, starting nothing, whether a request id started an
// operation, so a client interrupted while planning can say exactly that.
// A rollback with wait that finds its volume or zone held says which
// operation it waits for (a note, Event.Message with Op 0), every time the
// holder changes.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/volctl/volctl/store"
)

// LeftError is Rollback's and Recover's error when the caller's context
// ended first. Op is the operation that goes on without it (0: none had
// started for this caller; a planning others wait for goes on). It
// unwraps to the context's error.
type LeftError struct {
	Op  uint64
	Err error
}

func (e *LeftError) Error() string {
	if e.Op == 0 {
		return fmt.Sprintf("the caller went away before an operation started: %v", e.Err)
	}
	return fmt.Sprintf("the caller went away; operation %d goes on: %v", e.Op, e.Err)
}

func (e *LeftError) Unwrap() error { return e.Err }

// AfterEnd calls fn with operation id once it has stopped running in this
// process: ended, or stopped at a step boundary by the daemon's shutdown
// (then its state is not terminal and it resumes at the next start). For a
// running operation fn runs in the saga's goroutine after it has released
// its locks and before anyone following it sees its end, so what fn writes
// is in the journal by then (and before the daemon closes it, as Wait waits
// for it); for one that is not running, at once, with the operation as the
// journal has it. fn must not block for long.
func (e *Engine) AfterEnd(id uint64, fn func(*store.Operation)) {
	e.mu.Lock()
	r := e.running[id]
	e.mu.Unlock()
	if r != nil {
		r.mu.Lock()
		if !r.ended {
			r.afterEnd = append(r.afterEnd, fn)
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
	op, err := e.Operation(id)
	if err != nil {
		e.log.Error("operation not found after its end", "op", id, "error", err)
		return
	}
	fn(op)
}

// ended marks r's saga as stopped (r.last is set) and runs what AfterEnd
// registered; called by the saga's goroutine.
func (e *Engine) ended(r *inflight) {
	r.mu.Lock()
	r.ended = true
	fns := r.afterEnd
	r.afterEnd = nil
	r.mu.Unlock()
	for _, fn := range fns {
		fn(cloneOp(r.last))
	}
}

// RequestStatus says what request id has started, starting nothing: the
// operation the journal has for it, or planning (a planning of it is under
// way for a caller that still waits for it, after patience), or neither
// (nil, false): nothing started. A planning whose callers have all gone
// journals nothing (commit, requests.go), so a caller that asks right
// after going away gets an exact answer.
func (e *Engine) RequestStatus(ctx context.Context, id string, patience time.Duration) (op *store.Operation, planning bool, err error) {
	t := time.NewTimer(patience)
	defer t.Stop()
	for p := e.requests.get(id); p != nil; p = e.requests.get(id) {
		select {
		case <-p.done:
			continue
		case <-p.left:
		case <-t.C:
			return nil, true, nil
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		break
	}
	op, err = e.byRequest(id)
	return op, false, err
}

// get is the planning registered for id, if any (an abandoned one that has
// not stopped yet included).
func (q *requests) get(id string) *planning {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.m[id]
}

// waitNoteKey carries, in a planning's context, where the notes of a wait
// for a busy volume or zone go.
type waitNoteKey struct{}

func withWaitNote(ctx context.Context, note func(Event)) context.Context {
	return context.WithValue(ctx, waitNoteKey{}, note)
}

// acquireNoting is locks.acquire for a planning: with wait, each time it
// finds another holder it says so through the context's note.
func (e *Engine) acquireNoting(ctx context.Context, keys []string, wait bool) error {
	note, _ := ctx.Value(waitNoteKey{}).(func(Event))
	var last BusyError
	return e.locks.acquireNoting(ctx, keys, 0, wait, func(b *BusyError) {
		if note == nil || *b == last {
			return
		}
		last = *b
		note(Event{Message: e.waitingFor(b), Time: e.now()})
	})
}

// waitingFor says what a rollback with wait waits for.
func (e *Engine) waitingFor(b *BusyError) string {
	if b.Holder == 0 {
		return fmt.Sprintf("waiting: %s is held by another rollback being planned; this one is planned once it is free", b.Key)
	}
	what := ""
	e.mu.Lock()
	r := e.running[b.Holder]
	e.mu.Unlock()
	if r != nil {
		// Kind and snapshot never change; the steps do, so they are read
		// from the view (set under r.mu by the saga). A planned
		// operation's r.op is replaced when it is journaled: its view is
		// set from the moment it is in flight (planned.go).
		r.mu.Lock()
		v := r.view
		r.mu.Unlock()
		if v == nil {
			v = r.op
		}
		what = fmt.Sprintf(" (%s of %s", v.Kind, v.Snapshot)
		r.mu.Lock()
		if v := r.view; v != nil {
			for _, st := range v.Steps {
				if st.State == store.StepRunning || st.State == store.StepCompensating {
					what += ", at step " + st.Name
				}
			}
		}
		r.mu.Unlock()
		what += ")"
	}
	return fmt.Sprintf("waiting for operation %d%s to end: it holds %s (volctl op watch %d); this rollback is planned once it is free",
		b.Holder, what, b.Key, b.Holder)
}

// note adds a note for p's waiters (a wait for a busy volume).
func (p *planning) note(ev Event) {
	p.notesMu.Lock()
	p.notes = append(p.notes, ev)
	close(p.noted)
	p.noted = make(chan struct{})
	p.notesMu.Unlock()
}

// notesFrom are p's notes from the i-th on, and the channel closed at the
// next one.
func (p *planning) notesFrom(i int) ([]Event, <-chan struct{}) {
	p.notesMu.Lock()
	defer p.notesMu.Unlock()
	return p.notes[min(i, len(p.notes)):], p.noted
}

// Resumed are the operations Start resumed, in its order; call it after
// Start.
func (e *Engine) Resumed() []uint64 { return slices.Clone(e.resumed) }
