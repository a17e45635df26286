package server

import (
	"context"
	"fmt"

	"google.golang.org/grpc/peer"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/store"
)

// Caller names who is calling, for the journal: the identity the guard
// established, else the peer's address. It is journaled with the operation,
// so it is SafeText: a certificate subject may hold any bytes.
func Caller(ctx context.Context) string {
	return store.SafeText(caller(ctx), store.MaxAuditText)
}

func caller(ctx context.Context) string {
	if id, role, ok := identityFrom(ctx); ok {
		return fmt.Sprintf("%s (%s)", id, role)
	}
	if id, err := auth.FromContext(ctx); err == nil {
		return id.String()
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return fmt.Sprintf("%s:%s", p.Addr.Network(), p.Addr.String())
	}
	return "unknown"
}

func trimMethod(m string) string {
	if len(m) > 0 && m[0] == '/' {
		m = m[1:]
	}
	const pkg = "volctl.v1."
	if len(m) > len(pkg) && m[:len(pkg)] == pkg {
		m = m[len(pkg):]
	}
	return m
}
