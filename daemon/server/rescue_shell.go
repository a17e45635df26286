package server

// rescue --finish and --abandon (docs/rescue.md §5): a rescue --shell
// waits for the admin (state waiting); Rescue and PlanRescue with finish
// or abandon set end the wait, or plan that, by the operation's id.

import (
	"fmt"

	"google.golang.org/grpc"

	"github.com/volctl/volctl/daemon/engine"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// endWaitFields are what checkEndWait reads of PlanRescueRequest and
// RescueRequest.
type endWaitFields interface {
	GetZone() string
	GetWith() string
	GetShell() bool
	GetFinish() uint64
	GetAbandon() uint64
}

// checkEndWait checks a request that names a waiting operation: finish or
// abandon, not both, and nothing of a new rescue.
func checkEndWait(req endWaitFields) (id uint64, finish bool, err error) {
	switch {
	case req.GetFinish() != 0 && req.GetAbandon() != 0:
		return 0, false, fmt.Errorf("finish and abandon: name one (finish %d, abandon %d): %w", req.GetFinish(), req.GetAbandon(), engine.ErrInvalid)
	case req.GetZone() != "" || req.GetWith() != "" || req.GetShell():
		return 0, false, fmt.Errorf("finish or abandon names a waiting operation by its id: zone, with and shell belong to a new rescue: %w", engine.ErrInvalid)
	case req.GetFinish() != 0:
		return req.GetFinish(), true, nil
	}
	return req.GetAbandon(), false, nil
}

// planEndWait is PlanRescue with finish or abandon.
func (s *Server) planEndWait(req *v1.PlanRescueRequest) (*v1.PlanRescueResponse, error) {
	id, finish, err := checkEndWait(req)
	if err != nil {
		return nil, toStatus(err)
	}
	plan := s.eng.PlanAbandon
	if finish {
		plan = s.eng.PlanFinish
	}
	op, err := plan(id)
	if err != nil {
		return nil, toStatus(err)
	}
	return &v1.PlanRescueResponse{Plan: validText(toPlan(op))}, nil
}

// endWait is Rescue with finish or abandon: streamed and audited as
// Rescue is.
func (s *Server) endWait(req *v1.RescueRequest, stream grpc.ServerStreamingServer[v1.RescueResponse]) error {
	id, finish, err := checkEndWait(req)
	if err != nil {
		return toStatus(err)
	}
	if req.GetRequestId() != "" || req.GetWait() {
		return toStatus(fmt.Errorf("finish or abandon takes no request_id or wait (it acts on operation %d, once): %w", id, engine.ErrInvalid))
	}
	by := Caller(stream.Context())
	return streamOperation(s, stream, rescueStream, func(emit func(engine.Event)) (*store.Operation, error) {
		if finish {
			return s.eng.Finish(stream.Context(), id, by, emit)
		}
		return s.eng.Abandon(stream.Context(), id, by, emit)
	})
}
