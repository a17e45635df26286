package server

// A caller that goes away, and a request id asked after (issue 21).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// noteLeft completes the audit record of a call whose caller went away
// (err is an *engine.LeftError): the record names the operation that goes
// on, and once it stops a second record, for the same caller, method and
// target, gives its result (or that the daemon's shutdown stopped it; it
// resumes at the next start). A caller that went away before an operation
// started gets a record that says so.
func (s *Server) noteLeft(ctx context.Context, err error) {
	n := noteFrom(ctx)
	if n == nil || err == nil || ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
		return
	}
	var left *engine.LeftError
	if !errors.As(err, &left) || left.Op == 0 {
		n.set(0, "", map[string]string{"note": "the caller went away before an operation started for it"})
		return
	}
	id := left.Op
	n.mu.Lock()
	n.op = id
	if n.detail == nil {
		n.detail = map[string]any{"operation": id,
			"note": fmt.Sprintf("the caller went away; operation %d goes on in volctld, and a record of its result follows when it ends", id)}
	}
	n.later = func(record func(result string, detail any)) {
		s.eng.AfterEnd(id, func(op *store.Operation) {
			d := s.auditDetailOf(context.Background(), op)
			d.Note = fmt.Sprintf("the result of operation %d, whose caller had gone away", id)
			if !op.State.Terminal() {
				d.Note = fmt.Sprintf("operation %d, whose caller had gone away, was stopped by volctld's shutdown in state %s; it resumes at the next start", id, op.State)
			}
			record(string(op.State), d)
		})
	}
	n.mu.Unlock()
}

// requestPatience is how long GetRequestStatus waits for a planning that a
// caller still waits for before it answers PLANNING: long enough for a
// caller that has just gone away to be seen gone (its planning is then
// waited for to its end).
const requestPatience = 2 * time.Second

// GetRequestStatus implements OperationService: what a request id has
// started, starting nothing.
func (s *Server) GetRequestStatus(ctx context.Context, req *v1.GetRequestStatusRequest) (*v1.GetRequestStatusResponse, error) {
	if req.GetRequestId() == "" {
		return nil, toStatus(fmt.Errorf("request_id: empty: %w", engine.ErrInvalid))
	}
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, toStatus(err)
	}
	op, planning, err := s.eng.RequestStatus(ctx, req.GetRequestId(), requestPatience)
	if err != nil {
		return nil, toStatus(err)
	}
	switch {
	case op != nil:
		return validText(&v1.GetRequestStatusResponse{State: v1.RequestState_REQUEST_STATE_STARTED, Operation: toOperation(op, false)}), nil
	case planning:
		return &v1.GetRequestStatusResponse{State: v1.RequestState_REQUEST_STATE_PLANNING}, nil
	}
	return &v1.GetRequestStatusResponse{State: v1.RequestState_REQUEST_STATE_NOT_STARTED}, nil
}

// AuditResumes writes, for every operation the engine's Start resumed, an
// audit record that volctld resumed it, and once it stops one with its
// result: its caller's call ended with the previous volctld (killed, or
// the host went down), which may have written no record of it at all.
// Call it after Start.
func (s *Server) AuditResumes(g *Guard) {
	for _, id := range s.eng.Resumed() {
		op, err := s.eng.Operation(id)
		if err != nil {
			g.Log.Error("audit of a resumed operation: not found", "op", id, "error", err)
			continue
		}
		target := op.Snapshot
		if len(op.Options.Group) > 1 {
			target = strings.Join(op.Options.Group, " ")
		}
		rec := store.AuditRecord{Who: "volctld", Method: "resume at start", Target: target, Allowed: true, Operation: id,
			Result: string(op.State)}
		write := func(state store.OpState, detail any) {
			rec.Result = string(state)
			if b, jerr := json.Marshal(detail); jerr == nil {
				rec.Detail = string(b)
			}
			g.audit(rec)
		}
		write(op.State, map[string]any{"operation": id, "requested_by": op.RequestedBy,
			"note": fmt.Sprintf("volctld resumed operation %d at its start (the call that started it ended with the previous volctld); a record of its result follows when it ends", id)})
		s.eng.AfterEnd(id, func(final *store.Operation) {
			d := s.auditDetailOf(context.Background(), final)
			d.Note = fmt.Sprintf("the result of operation %d, resumed at volctld's start", id)
			if !final.State.Terminal() {
				d.Note = fmt.Sprintf("operation %d, resumed at volctld's start, was stopped by its shutdown in state %s; it resumes at the next start", id, final.State)
			}
			write(final.State, d)
		})
	}
}
