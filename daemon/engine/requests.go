package engine

// Request ids while their rollback is being planned (issue 19, item 4).
//
// A request id is an idempotency key: the same request sent again (a
// retry after a lost answer, a second terminal, eight callers at once)
// joins the operation the first one started, at every stage. The journal
// answers once the operation is journaled; before that, while the volumes
// are locked and captured, this registry does. The first request with an
// id registers it and its planning runs in a goroutine of its own; every
// request with that id, the first included, waits for the planning's
// outcome (bounded by its own context) and then follows the same
// operation (its plan, every event from the first, its result), or gets
// the same refusal (a missing consent, a busy volume, a journal that
// cannot be written).
//
// The planning goes on while anyone waits for it: the caller that started
// it may go away and a retry still finds it. When the last waiter has
// gone, the planning is cancelled (nothing has changed yet: planning only
// reads), as a request without an id is when its caller goes; a request
// with that id arriving meanwhile waits for the cancelled planning to stop
// and starts afresh. Once the operation is journaled it runs to its end
// whoever waits (as every operation does).
//
// A request with the same id but another target or other consents is
// refused (RequestIDError) while the first is planned, as sameRequest
// refuses it once the operation is journaled. Wait is not compared: a
// request that joins gets the first's outcome.
//
// A request without an id is planned the same way, alone (nobody can join
// it). Every caller follows the operation from the moment it exists, once
// its volumes are locked (planned.go), not from its journaling: it gets
// the id first.

import (
	"context"
	"fmt"
	"sync"

	"github.com/volctl/volctl/store"
)

// requests are the request ids whose rollback is being planned.
type requests struct {
	mu sync.Mutex
	m  map[string]*planning
}

// planning is one request id being planned, and its outcome once done is
// closed: r (the operation started, or an ended one found in the journal)
// or err (the refusal).
type planning struct {
	req     Request // resolved (resolveGroup): what a joining request must equal
	done    chan struct{}
	r       *inflight
	err     error
	waiters int
	// abandoned: every waiter has gone and the planning is cancelled; a
	// request with the id starts a new planning once this one has stopped
	// (prev).
	abandoned bool
	cancel    context.CancelFunc
	prev      *planning
	// begun is closed once the operation exists, planned (planned.go):
	// first is it, to follow from its capture on.
	begun chan struct{}
	first *inflight
	// left is closed when every waiter has gone (abandoned). committing:
	// the planning is journaling its operation (commit), so it is no
	// longer abandoned when its waiters go: the last waits for it.
	left       chan struct{}
	committing bool
	// notes are what the planning says to its waiters before its outcome
	// (a wait for a busy volume, callers.go); noted is closed and
	// replaced at each.
	notesMu sync.Mutex
	notes   []Event
	noted   chan struct{}
}

// join registers req's id, or joins the planning already registered for
// it. For a new planning it returns the context to plan on (a child of
// base, cancelled by leave when nobody waits any more); the caller starts
// it.
func (q *requests) join(base context.Context, req Request) (p *planning, pctx context.Context, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.m == nil {
		q.m = map[string]*planning{}
	}
	old := q.m[req.RequestID]
	if old != nil && !old.abandoned {
		if err := samePlanned(old.req, req); err != nil {
			return nil, nil, err
		}
		old.waiters++
		return old, nil, nil
	}
	p, pctx = q.newPlanning(base, req, old)
	q.m[req.RequestID] = p
	return p, pctx, nil
}

// alone is the planning of a request without an id: nobody can join it,
// and it is cancelled when its caller goes (leave).
func (q *requests) alone(base context.Context, req Request) (*planning, context.Context) {
	return q.newPlanning(base, req, nil)
}

// newPlanning is a planning of req with one waiter, and the context to
// plan on: a child of base that carries where its wait notes go and its
// commit (planAndStart).
func (q *requests) newPlanning(base context.Context, req Request, prev *planning) (*planning, context.Context) {
	p := &planning{req: req, done: make(chan struct{}), begun: make(chan struct{}), waiters: 1, prev: prev,
		left: make(chan struct{}), noted: make(chan struct{})}
	pctx, cancel := context.WithCancel(base)
	p.cancel = cancel
	pctx = withWaitNote(pctx, p.note)
	pctx = context.WithValue(pctx, commitKey{}, func() bool { return q.commit(p) })
	return p, pctx
}

// begin records that p's operation exists, planned.
func (q *requests) begin(p *planning, r *inflight) {
	q.mu.Lock()
	defer q.mu.Unlock()
	p.first = r
	close(p.begun)
}

// leave is a waiter that goes before the outcome: the last one cancels
// the planning, unless it is journaling its operation (committing): then
// the last is told to wait for it (the operation it must name).
func (q *requests) leave(p *planning) (wait bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-p.done:
		return false
	default:
	}
	if p.waiters--; p.waiters == 0 {
		if p.committing {
			return true
		}
		p.abandoned = true
		close(p.left)
		p.cancel()
	}
	return false
}

// commit is p's planning about to journal its operation: false when every
// waiter has gone (it must not journal), else it is committing and no
// longer abandoned.
func (q *requests) commit(p *planning) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p.abandoned {
		return false
	}
	p.committing = true
	return true
}

// commitKey carries a planning's commit in its context (planAndStart).
type commitKey struct{}

// finish records p's outcome and forgets the id: from now on the journal
// answers for it (or nothing does, after a refusal).
func (q *requests) finish(p *planning, r *inflight, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p.req.RequestID != "" && q.m[p.req.RequestID] == p {
		delete(q.m, p.req.RequestID)
	}
	p.r, p.err = r, err
	close(p.done)
	p.cancel()
}

// samePlanned refuses a request whose id is being planned for another
// target or with other consents (sameRequest, before there is an
// operation to name).
func samePlanned(first, req Request) error {
	if sameRequest(&store.Operation{Snapshot: first.Snapshot, Options: first.Options}, req) == nil {
		return nil
	}
	want, got := recoverConsentsOff(first.Options), recoverConsentsOff(req.Options)
	return fmt.Errorf("request id %q is being planned for a rollback of %s%s, not for this rollback of %s: use a new request id: %w",
		req.RequestID, first.Snapshot, optionsDiff(want, got), req.Snapshot, &RequestIDError{RequestID: req.RequestID})
}

// rollbackOnce is Rollback (resolved): for a request with an id it joins
// the planning of that id, or starts it; for one without, it starts its
// own. It follows the operation from the moment it exists (planned,
// planned.go), so the caller gets its id first.
func (e *Engine) rollbackOnce(ctx context.Context, req Request, vols []string, caps store.Capabilities, emit func(Event)) (*store.Operation, error) {
	// The planning runs on the daemon's context, not the caller's, and is
	// cancelled when nobody waits for it any more (leave).
	var p *planning
	var pctx context.Context
	if req.RequestID == "" {
		p, pctx = e.requests.alone(e.base, req)
	} else {
		var err error
		if p, pctx, err = e.requests.join(e.base, req); err != nil {
			return nil, err
		}
	}
	if pctx != nil {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			r, err := e.planRequest(pctx, p, req, vols, caps)
			if err != nil && pctx.Err() != nil && e.base.Err() != nil {
				err = fmt.Errorf("%v: %w", err, ErrShuttingDown)
			}
			e.requests.finish(p, r, err)
		}()
	}
	// Until the operation exists, what the planning says (a wait for a
	// busy volume, callers.go); then the operation, from its capture on.
	var r *inflight
	seen := 0
	sayNotes := func() {
		notes, _ := p.notesFrom(seen)
		for _, ev := range notes {
			emit(ev)
		}
		seen += len(notes)
	}
	for r == nil {
		sayNotes()
		_, noted := p.notesFrom(seen)
		select {
		case <-noted:
		case <-p.begun:
			r = p.first
		case <-p.done:
			if p.err != nil {
				sayNotes()
				return nil, p.err
			}
			r = p.r
		case <-ctx.Done():
			return nil, e.left(p, ctx.Err())
		}
	}
	sayNotes() // any the select did not pass on
	final, err := e.follow(ctx, r, emit)
	if final == nil && ctx.Err() != nil {
		return nil, e.left(p, ctx.Err())
	}
	if final != nil {
		return final, err
	}
	select {
	case <-r.done:
		if r.last == nil {
			// The planning was refused (endPlanned): the caller hears
			// it once the id is free again (finish), so that it may
			// send the request again at once.
			<-p.done
		}
	default:
	}
	return final, err
}

// left is what a caller of p that went away (err, its context's) gets: a
// *LeftError naming the operation that goes on without it, if p started
// one. The last caller to go cancels the planning (leave), and it then
// journals nothing (commit), unless it is journaling already: then the
// caller waits for it, to name the operation.
func (e *Engine) left(p *planning, err error) error {
	if e.requests.leave(p) {
		<-p.done
	}
	select {
	case <-p.done:
		if p.r != nil {
			return &LeftError{Op: p.r.id, Err: err}
		}
	default:
	}
	return &LeftError{Err: err}
}

// planRequest is the planning of a request id: the operation the journal
// has for it, or a new one.
func (e *Engine) planRequest(ctx context.Context, p *planning, req Request, vols []string, caps store.Capabilities) (*inflight, error) {
	if p.prev != nil {
		// A cancelled planning of the same id may still hold the locks,
		// or journal its operation as it stops: wait for it (it ends
		// soon: its context is cancelled).
		<-p.prev.done
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if req.RequestID != "" {
		op, err := e.byRequest(req.RequestID)
		if err != nil {
			return nil, err
		}
		if op != nil {
			if err := sameRequest(op, req); err != nil {
				return nil, err
			}
			return e.inflightOf(ctx, op)
		}
	}
	return e.planAndStart(ctx, req, vols, caps, func(r *inflight) { e.requests.begin(p, r) })
}
