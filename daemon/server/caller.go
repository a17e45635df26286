package server

import (
	"context"
	"fmt"

	"google.golang.org/grpc/peer"
)

// Caller names who is calling, for the journal and the audit trail: the
// peer's credentials when the transport offers them, else its address.
func Caller(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "unknown"
	}
	if id, ok := p.AuthInfo.(interface{ Identity() string }); ok {
		return id.Identity()
	}
	if p.Addr != nil {
		return fmt.Sprintf("%s:%s", p.Addr.Network(), p.Addr.String())
	}
	return "unknown"
}
