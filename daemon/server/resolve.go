package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// resolveDetail is what the audit trail keeps of a resolution, besides
// who and when (the record's own): why, and what the operation had left.
type resolveDetail struct {
	Reason string        `json:"reason"`
	Left   string        `json:"left"`
	Was    store.OpState `json:"was"`
	State  store.OpState `json:"state"`
}

// ResolveOperation implements OperationService: an admin releases an
// operation that needs attention after putting right by hand what it
// left. The reason is required and checked before anything else.
func (s *Server) ResolveOperation(ctx context.Context, req *v1.ResolveOperationRequest) (*v1.ResolveOperationResponse, error) {
	reason := strings.TrimSpace(req.GetReason())
	switch {
	case req.GetId() == 0:
		return nil, toStatus(fmt.Errorf("id: required: %w", engine.ErrInvalid))
	case reason == "":
		return nil, toStatus(fmt.Errorf("reason: required: say what was put right by hand: %w", engine.ErrInvalid))
	case len(reason) > engine.MaxResolveReason:
		return nil, toStatus(fmt.Errorf("reason: %d bytes, at most %d: %w", len(reason), engine.MaxResolveReason, engine.ErrInvalid))
	}
	// Journaled and printed: escaped like every caller-chosen text.
	op, err := s.eng.Resolve(ctx, req.GetId(), Caller(ctx), store.SafeText(reason, 0))
	if err != nil {
		return nil, toStatus(err)
	}
	noteFrom(ctx).set(op.ID, string(op.State), resolveDetail{Reason: op.Resolution.Reason, Left: op.Resolution.Attention,
		Was: store.OpNeedsAttention, State: op.State})
	return &v1.ResolveOperationResponse{Operation: validText(toOperation(op, false))}, nil
}
