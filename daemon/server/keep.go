package server

// Keep, undo, kept and forget (issue 22, docs/keep.md): the handlers of
// RollbackService's PlanUndo, Undo, PlanForget, Forget and ListKept, and
// what the API shows of a keep operation. The engine does the work; these
// check the request, convert, and stream as Rollback does.

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/internal/wire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// checkOperationID refuses 0, which names no operation (ids start at 1).
func checkOperationID(verb string, id uint64) error {
	if id == 0 {
		return fmt.Errorf("operation_id: 0 names no operation; give the operation to %s (volctl kept lists them): %w", verb, engine.ErrInvalid)
	}
	return nil
}

// undoRequest is the engine's request for an undo of id with options o:
// destroy_newer is refused, since an undo destroys nothing (what it
// replaces is kept).
func undoRequest(id uint64, o *v1.RollbackOptions) (engine.UndoRequest, error) {
	if err := checkOperationID("undo", id); err != nil {
		return engine.UndoRequest{}, err
	}
	opts := fromOptions(o)
	if opts.DestroyNewer {
		return engine.UndoRequest{}, fmt.Errorf("destroy_newer with an undo: an undo destroys nothing, it keeps what it replaces: %w",
			engine.InvalidOptions("destroy_newer"))
	}
	return engine.UndoRequest{Operation: id, Options: opts}, nil
}

// needsDestroyKept is the refusal of a forget without its consent.
func needsDestroyKept(id uint64) error {
	return fmt.Errorf("forget destroys the kept datasets of operation %d, their data and snapshots, for good: %w",
		id, engine.NeedsConsent(wire.ConsentDestroyKept))
}

// withPlan is err as a status carrying op's plan in its details, so that a
// refused dry run still shows it (as PlanRollback's missing consent does).
func withPlan(err error, op *store.Operation) error {
	st := status.Convert(toStatus(err))
	if op != nil {
		if p, derr := st.WithDetails(validText(toPlan(op))); derr == nil {
			st = p
		}
	}
	return st.Err()
}

// PlanUndo implements RollbackService.
func (s *Server) PlanUndo(ctx context.Context, req *v1.PlanUndoRequest) (*v1.PlanUndoResponse, error) {
	r, err := undoRequest(req.GetOperationId(), req.GetOptions())
	if err != nil {
		return nil, toStatus(err)
	}
	op, err := s.eng.PlanUndo(ctx, r)
	if err != nil {
		return nil, withPlan(err, op)
	}
	return &v1.PlanUndoResponse{Plan: validText(toPlan(op))}, nil
}

// Undo implements RollbackService: streamed and audited as Rollback is.
func (s *Server) Undo(req *v1.UndoRequest, stream grpc.ServerStreamingServer[v1.UndoResponse]) error {
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return toStatus(err)
	}
	r, err := undoRequest(req.GetOperationId(), req.GetOptions())
	if err != nil {
		return toStatus(err)
	}
	r.RequestID, r.Wait = req.GetRequestId(), req.GetWait()
	r.RequestedBy = Caller(stream.Context())
	return streamOperation(s, stream, opStream[v1.UndoResponse]{
		plan: func(p *v1.Plan) *v1.UndoResponse { return &v1.UndoResponse{Event: &v1.UndoResponse_Plan{Plan: p}} },
		step: func(st *v1.StepEvent) *v1.UndoResponse {
			return &v1.UndoResponse{Event: &v1.UndoResponse_Step{Step: st}}
		},
		final: func(op *v1.Operation) *v1.UndoResponse {
			return &v1.UndoResponse{Event: &v1.UndoResponse_Operation{Operation: op}}
		},
	}, func(emit func(engine.Event)) (*store.Operation, error) {
		return s.eng.Undo(stream.Context(), r, emit)
	})
}

// PlanForget implements RollbackService. Without destroy_kept the plan
// comes back in a FailedPrecondition's details (consent destroy_kept).
func (s *Server) PlanForget(ctx context.Context, req *v1.PlanForgetRequest) (*v1.PlanForgetResponse, error) {
	if err := checkOperationID("forget", req.GetOperationId()); err != nil {
		return nil, toStatus(err)
	}
	op, err := s.eng.PlanForget(ctx, engine.ForgetRequest{Operation: req.GetOperationId(), DestroyKept: req.GetDestroyKept()})
	if err == nil && !req.GetDestroyKept() {
		err = needsDestroyKept(req.GetOperationId())
	}
	if err != nil {
		return nil, withPlan(err, op)
	}
	return &v1.PlanForgetResponse{Plan: validText(toPlan(op))}, nil
}

// Forget implements RollbackService: refused without destroy_kept before
// the engine is asked; streamed and audited as Rollback is.
func (s *Server) Forget(req *v1.ForgetRequest, stream grpc.ServerStreamingServer[v1.ForgetResponse]) error {
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return toStatus(err)
	}
	if err := checkOperationID("forget", req.GetOperationId()); err != nil {
		return toStatus(err)
	}
	if !req.GetDestroyKept() {
		return toStatus(needsDestroyKept(req.GetOperationId()))
	}
	r := engine.ForgetRequest{Operation: req.GetOperationId(), DestroyKept: true, RequestID: req.GetRequestId(),
		RequestedBy: Caller(stream.Context())}
	return streamOperation(s, stream, opStream[v1.ForgetResponse]{
		plan: func(p *v1.Plan) *v1.ForgetResponse {
			return &v1.ForgetResponse{Event: &v1.ForgetResponse_Plan{Plan: p}}
		},
		step: func(st *v1.StepEvent) *v1.ForgetResponse {
			return &v1.ForgetResponse{Event: &v1.ForgetResponse_Step{Step: st}}
		},
		final: func(op *v1.Operation) *v1.ForgetResponse {
			return &v1.ForgetResponse{Event: &v1.ForgetResponse_Operation{Operation: op}}
		},
	}, func(emit func(engine.Event)) (*store.Operation, error) {
		return s.eng.Forget(stream.Context(), r, emit)
	})
}

// ListKept implements RollbackService. Read-only (a viewer may list), so
// not audited, like ListOperations.
func (s *Server) ListKept(ctx context.Context, req *v1.ListKeptRequest) (*v1.ListKeptResponse, error) {
	if err := checkName("volume", req.GetVolume()); err != nil {
		return nil, toStatus(err)
	}
	kept, err := s.eng.Kept(ctx, req.GetVolume())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &v1.ListKeptResponse{}
	for _, k := range kept {
		resp.Kept = append(resp.Kept, toKeptDataset(k))
	}
	return validText(resp), nil
}

// toKeptDataset converts a kept record. Its space is never a 0 that was
// not read: when the engine could not read it, or the dataset is no longer
// kept (undone: it is the volume again; forgotten: destroyed), used_error
// says so and used_bytes is 0.
func toKeptDataset(k engine.KeptData) *v1.KeptDataset {
	p := &v1.KeptDataset{OperationId: k.Op, Kind: k.Kind, Volume: k.Volume, Snapshot: k.Snapshot, Dataset: k.Dataset,
		Created: ts(k.Created), State: string(k.State), EndedBy: k.By, UsedBytes: k.Used}
	switch {
	case k.UsedErr != nil:
		p.UsedBytes, p.UsedError = 0, k.UsedErr.Error()
	case k.State != store.KeptKept:
		p.UsedBytes, p.UsedError = 0, "no longer kept"
		if k.By != 0 {
			p.UsedError = fmt.Sprintf("no longer kept: %s by operation %d", k.State, k.By)
		}
	}
	return p
}

// keepPlan adds what an operation keeps, restores or forgets to its plan.
func keepPlan(op *store.Operation, p *v1.Plan) {
	p.Kind = op.Kind
	p.UndoOf, p.ForgetOf, p.ForgetDatasets = op.Options.Undo, op.Options.Forget, op.Options.ForgetDatasets
	p.Kept = keptVolumes(op)
}

// keepOperation adds the same to an operation.
func keepOperation(op *store.Operation, p *v1.Operation) {
	p.UndoOf, p.ForgetOf, p.ForgetDatasets = op.Options.Undo, op.Options.Forget, op.Options.ForgetDatasets
	p.Kept = keptVolumes(op)
}

// keptVolumes are the kept datasets of a keep rollback or an undo, in the
// order of its volumes (none for another operation, or before the capture
// named them).
func keptVolumes(op *store.Operation) []*v1.KeptVolume {
	var out []*v1.KeptVolume
	for _, id := range op.Volumes() {
		if id.Kept == "" && id.Restore == "" {
			continue
		}
		restore := id.Restore
		if restore == "" {
			restore = op.Options.Restore[id.Volume]
		}
		out = append(out, &v1.KeptVolume{Volume: id.Volume, Dataset: id.Kept, UsedBytes: id.KeptUsed, Restore: restore})
	}
	return out
}
