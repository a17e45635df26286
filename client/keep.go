package client

import (
	"context"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// Undo swaps a keep rollback's kept datasets back in (docs/keep.md) and
// calls fn with every message of the stream, like Rollback.
func (c *Client) Undo(ctx context.Context, req *v1.UndoRequest, fn func(*v1.UndoResponse)) (*v1.Operation, error) {
	stream, err := c.Rollbacks.Undo(ctx, req)
	if err != nil {
		return nil, err
	}
	return drain(stream, fn)
}

// Forget destroys an operation's kept datasets, like Rollback.
func (c *Client) Forget(ctx context.Context, req *v1.ForgetRequest, fn func(*v1.ForgetResponse)) (*v1.Operation, error) {
	stream, err := c.Rollbacks.Forget(ctx, req)
	if err != nil {
		return nil, err
	}
	return drain(stream, fn)
}
