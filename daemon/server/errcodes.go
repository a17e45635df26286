package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zonehost"
	"github.com/volctl/volctl/store"
)

// toStatus is the one place errors become gRPC status codes. The message
// keeps the whole wrapped chain: the step, the command and what the platform
// said.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrUnidentified):
		code = codes.Unauthenticated
	case errors.Is(err, ErrDenied):
		code = codes.PermissionDenied
	case errors.Is(err, engine.ErrInvalid), errors.Is(err, zonehost.ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, store.ErrCorrupt):
		code = codes.DataLoss
	case errors.Is(err, engine.ErrNotFound), errors.Is(err, store.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, engine.ErrPrecondition):
		code = codes.FailedPrecondition
	case errors.Is(err, engine.ErrAlreadyExists):
		code = codes.AlreadyExists
	case errors.Is(err, engine.ErrBusy):
		code = codes.Aborted
	case errors.Is(err, engine.ErrShuttingDown), errors.Is(err, engine.ErrUnavailable):
		code = codes.Unavailable
	case errors.Is(err, engine.ErrNeedsAttention):
		code = codes.Internal
	case errors.Is(err, engine.ErrStepFailed):
		code = codes.Aborted
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}
