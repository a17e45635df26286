package server

// Rescue (issue 23, docs/rescue.md): the handlers of RollbackService's
// PlanRescue and Rescue, and what the API shows of a rescue. The engine
// does the work; these check the request, convert, and stream as Rollback
// does.

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/kz"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// rescueRequest checks the zone names before anything runs.
func rescueRequest(zone, with string) (engine.RescueRequest, error) {
	for _, f := range []struct{ field, name string }{{"zone", zone}, {"with", with}} {
		if err := kz.ValidateZoneName(f.name); err != nil {
			return engine.RescueRequest{}, fmt.Errorf("%s: %v: %w", f.field, err, engine.ErrInvalid)
		}
	}
	return engine.RescueRequest{Zone: zone, With: with}, nil
}

// PlanRescue implements RollbackService.
func (s *Server) PlanRescue(ctx context.Context, req *v1.PlanRescueRequest) (*v1.PlanRescueResponse, error) {
	if req.GetFinish() != 0 || req.GetAbandon() != 0 { // rescue_shell.go
		return s.planEndWait(req)
	}
	r, err := rescueRequest(req.GetZone(), req.GetWith())
	if err != nil {
		return nil, toStatus(err)
	}
	r.Shell = req.GetShell()
	op, err := s.eng.PlanRescue(ctx, r)
	if err != nil {
		return nil, withPlan(err, op)
	}
	return &v1.PlanRescueResponse{Plan: validText(toPlan(op))}, nil
}

// Rescue implements RollbackService: streamed and audited as Rollback is.
func (s *Server) Rescue(req *v1.RescueRequest, stream grpc.ServerStreamingServer[v1.RescueResponse]) error {
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return toStatus(err)
	}
	if req.GetFinish() != 0 || req.GetAbandon() != 0 { // rescue_shell.go
		return s.endWait(req, stream)
	}
	r, err := rescueRequest(req.GetZone(), req.GetWith())
	if err != nil {
		return toStatus(err)
	}
	r.RequestID, r.Wait, r.Shell = req.GetRequestId(), req.GetWait(), req.GetShell()
	r.RequestedBy = Caller(stream.Context())
	return streamOperation(s, stream, rescueStream, func(emit func(engine.Event)) (*store.Operation, error) {
		return s.eng.Rescue(stream.Context(), r, emit)
	})
}

// rescueStream wraps a rescue's events (a new rescue, --finish, --abandon)
// in RescueResponse.
var rescueStream = opStream[v1.RescueResponse]{
	plan: func(p *v1.Plan) *v1.RescueResponse {
		return &v1.RescueResponse{Event: &v1.RescueResponse_Plan{Plan: p}}
	},
	step: func(st *v1.StepEvent) *v1.RescueResponse {
		return &v1.RescueResponse{Event: &v1.RescueResponse_Step{Step: st}}
	},
	final: func(op *v1.Operation) *v1.RescueResponse {
		return &v1.RescueResponse{Event: &v1.RescueResponse_Operation{Operation: op}}
	},
}

// rescueTarget is a rescue's target for the API (nil for another kind).
func rescueTarget(op *store.Operation) *v1.RescueTarget {
	r := op.Identity.Rescue
	if r == nil {
		if o := op.Options.Rescue; o != nil { // planned, not captured yet
			return &v1.RescueTarget{Zone: o.Zone, With: o.With, Shell: o.Shell}
		}
		return nil
	}
	return &v1.RescueTarget{Zone: r.Zone, With: r.With, Storage: r.Storage, DeviceId: int32(r.DeviceID),
		Pool: r.Pool, PoolGuid: r.PoolGUID, TempName: r.TempName, Altroot: r.Altroot, Host: r.Host,
		Shell: op.Options.Rescue != nil && op.Options.Rescue.Shell}
}
