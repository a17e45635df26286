package client

import (
	"context"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// Rescue repairs a kernel zone's boot disk label in a rescue zone, like
// Rollback: fn gets each message, the result is the final operation.
func (c *Client) Rescue(ctx context.Context, req *v1.RescueRequest, fn func(*v1.RescueResponse)) (*v1.Operation, error) {
	stream, err := c.Rollbacks.Rescue(ctx, req)
	if err != nil {
		return nil, err
	}
	return drain(stream, fn)
}
