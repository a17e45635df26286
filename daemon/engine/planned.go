package engine

// An operation exists from its capture (issue 21 item 2): once a rollback
// holds its volumes' locks and nothing holds them for attention, it gets
// its id and is in flight in state planned, with step 0 (capture)
// running, before anything is journaled. Its callers get the id first (a
// step event of step 0), status lists it, history lists it, op show and op
// watch find it. The journal takes it, under the same id, once the
// capture is done; a planning that is refused (a missing consent, an LU
// that cannot be read, the caller gone) journals nothing, and its id is
// given again unless a later one was given meanwhile.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/volctl/volctl/store"
)

// beginPlanned reserves the next id (above the journal's last and every
// id in flight) and puts the operation in flight, planned, its capture
// running.
func (e *Engine) beginPlanned(req Request, vols []string) (*inflight, error) {
	last, err := e.db.LastOperationID()
	if err != nil {
		return nil, fmt.Errorf("read the last operation id: %w", err)
	}
	now := e.now().UTC()
	op := &store.Operation{RequestID: req.RequestID, Kind: req.special.kind(), Platform: e.backend.Name(),
		Volume: vols[0], Snapshot: req.Snapshot, Options: req.Options, State: store.OpPlanned,
		RequestedBy: req.RequestedBy, Created: now, Updated: now,
		Steps: []store.Step{{Name: captureStep.Name, Description: captureStep.Description, State: store.StepRunning, Started: now}}}
	r := &inflight{subs: map[*subscriber]struct{}{}, done: make(chan struct{}), planning: true}
	e.mu.Lock()
	id := last
	for held := range e.running {
		id = max(id, held)
	}
	id++
	op.ID, r.id, r.op = id, id, op
	r.setView(op) // before anyone finds it (waitingFor reads the view)
	e.running[id] = r
	e.mu.Unlock()
	r.publish(Event{Op: id, Index: 0, Step: captureStep.Name, State: store.StepRunning, Time: now})
	e.log.Info("operation planned: capturing", "op", id, "snapshot", req.Snapshot)
	return r, nil
}

// endPlanned ends a planning that journaled nothing: its followers get
// err, and its id is free again.
func (e *Engine) endPlanned(r *inflight, err error) {
	select {
	case <-r.done: // ended already (journaled meanwhile under another id)
		return
	default:
	}
	if e.base.Err() != nil && errors.Is(err, context.Canceled) && !errors.Is(err, ErrShuttingDown) {
		err = fmt.Errorf("%v: %w", err, ErrShuttingDown)
	}
	e.mu.Lock()
	if e.running[r.id] == r {
		delete(e.running, r.id)
	}
	e.mu.Unlock()
	r.mu.Lock()
	r.ended = true // nothing for AfterEnd to report: no operation was journaled
	dropped := len(r.afterEnd)
	r.afterEnd = nil
	r.mu.Unlock()
	if dropped > 0 {
		e.log.Info("operation not started: its watchers that went away get no result record", "op", r.id)
	}
	r.err = err
	close(r.done)
	e.log.Info("operation not started: nothing was changed", "op", r.id, "error", err)
}

// startPlanned runs the saga of op, journaled under the planned
// operation's id, in the same inflight: its followers see the plan, then
// the steps.
func (e *Engine) startPlanned(r *inflight, op *store.Operation, keys []string) {
	e.mu.Lock()
	r.planning = false
	e.mu.Unlock()
	r.op = op
	r.setView(op)
	r.publish(Event{Op: op.ID, Plan: cloneOp(op), Time: e.now()})
	e.run(r, keys, false)
}

// planned is operation id while it is planned and not journaled yet.
func (e *Engine) planned(id uint64) *store.Operation {
	e.mu.Lock()
	r := e.running[id]
	ok := r != nil && r.planning
	e.mu.Unlock()
	if !ok {
		return nil
	}
	return r.viewOf()
}

// plannedOps are the operations planned and not journaled yet on volume
// (every volume when empty) with an id below before (0: any), newest
// first.
func (e *Engine) plannedOps(before uint64, volume string) []*store.Operation {
	e.mu.Lock()
	var ids []uint64
	for id, r := range e.running {
		if r.planning && (before == 0 || id < before) {
			ids = append(ids, id)
		}
	}
	e.mu.Unlock()
	var ops []*store.Operation
	for _, id := range ids {
		if op := e.planned(id); op != nil && (volume == "" || op.OnVolume(volume)) {
			ops = append(ops, op)
		}
	}
	slices.SortFunc(ops, func(a, b *store.Operation) int { return cmpDesc(a.ID, b.ID) })
	return ops
}

func cmpDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// withPlanned merges the planned operations into a page of the journal's
// (newest first, at most limit, more: older ones are left): those above
// the page's last id when more are left, every one below before when not.
func withPlanned(page []*store.Operation, more bool, planned []*store.Operation, limit int) ([]*store.Operation, bool) {
	if len(planned) == 0 {
		return page, more
	}
	var cut uint64
	if more && len(page) > 0 {
		cut = page[len(page)-1].ID
	}
	out := slices.Clone(page)
	for _, op := range planned {
		if op.ID > cut {
			out = append(out, op)
		}
	}
	slices.SortFunc(out, func(a, b *store.Operation) int { return cmpDesc(a.ID, b.ID) })
	if limit > 0 && len(out) > limit {
		out, more = out[:limit], true
	}
	return out, more
}
