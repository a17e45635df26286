package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/store"
)

// Guard authorises every call and writes the audit trail: denied calls, and
// every call that may change something, with its result.
type Guard struct {
	Policy auth.Policy
	DB     *store.DB
	Log    hclog.Logger
}

type ctxKey int

const (
	keyIdentity ctxKey = iota
	keyNote
)

// note is what a handler adds to its call's audit record.
type note struct {
	mu     sync.Mutex
	op     uint64
	result string
	detail any
}

func (n *note) set(op uint64, result string, detail any) {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.op, n.result, n.detail = op, result, detail
	n.mu.Unlock()
}

func noteFrom(ctx context.Context) *note {
	n, _ := ctx.Value(keyNote).(*note)
	return n
}

// identityFrom returns the caller the guard identified.
func identityFrom(ctx context.Context) (auth.Identity, auth.Role, bool) {
	v, ok := ctx.Value(keyIdentity).(callerInfo)
	return v.id, v.role, ok
}

type callerInfo struct {
	id   auth.Identity
	role auth.Role
}

// target names what a request is about, for the audit trail.
func target(req any) string {
	switch r := req.(type) {
	case interface{ GetSnapshot() string }:
		return r.GetSnapshot()
	case interface{ GetName() string }:
		return r.GetName()
	case interface{ GetVolume() string }:
		return r.GetVolume()
	case interface{ GetId() uint64 }:
		if r.GetId() != 0 {
			return fmt.Sprintf("operation %d", r.GetId())
		}
	}
	return ""
}

// admit decides a call. It returns the context for the handler, or a
// PermissionDenied / Unauthenticated status (already audited).
func (g *Guard) admit(ctx context.Context, method string, req any) (context.Context, error) {
	id, err := auth.FromContext(ctx)
	need := auth.Required(method)
	if err != nil {
		if need == auth.None {
			return ctx, nil
		}
		g.audit(store.AuditRecord{Who: "unidentified", Method: method, Target: target(req), Result: codes.Unauthenticated.String()})
		return nil, status.Errorf(codes.Unauthenticated, "volctld cannot tell who is calling: %v", err)
	}
	role := g.Policy.Role(id)
	if role < need {
		g.audit(store.AuditRecord{Who: id.String(), Role: role.String(), Method: method, Target: target(req),
			Result: codes.PermissionDenied.String()})
		g.Log.Warn("call denied", "who", id.String(), "role", role, "method", method, "needs", need)
		return nil, status.Errorf(codes.PermissionDenied, "%s has role %s; %s needs %s", id, role, trimMethod(method), need)
	}
	ctx = context.WithValue(ctx, keyIdentity, callerInfo{id, role})
	if auth.Mutating(method) {
		ctx = context.WithValue(ctx, keyNote, &note{})
	}
	return ctx, nil
}

// done audits an allowed call that may change something.
func (g *Guard) done(ctx context.Context, method string, req any, err error) {
	n := noteFrom(ctx)
	if n == nil {
		return
	}
	id, role, _ := identityFrom(ctx)
	rec := store.AuditRecord{Who: id.String(), Role: role.String(), Method: method, Target: target(req), Allowed: true,
		Result: status.Code(err).String()}
	n.mu.Lock()
	rec.Operation = n.op
	if n.result != "" {
		rec.Result = n.result
	}
	if n.detail != nil {
		if b, jerr := json.Marshal(n.detail); jerr == nil {
			rec.Detail = string(b)
		}
	}
	n.mu.Unlock()
	if err != nil && rec.Detail == "" {
		rec.Detail = status.Convert(err).Message()
	}
	g.audit(rec)
}

func (g *Guard) audit(rec store.AuditRecord) {
	if g.DB == nil {
		return
	}
	rec.Time = time.Now().UTC()
	if _, err := g.DB.AppendAudit(rec); err != nil {
		g.Log.Error("audit write failed", "error", err, "method", rec.Method, "who", rec.Who)
	}
}

// Unary is the unary interceptor.
func (g *Guard) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := g.admit(ctx, info.FullMethod, req)
		if err != nil {
			return nil, err
		}
		resp, err := handler(ctx, req)
		g.done(ctx, info.FullMethod, req, err)
		return resp, err
	}
}

// Stream is the stream interceptor. The request of a server stream is its
// first message: the wrapper authorises when the handler reads it.
func (g *Guard) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		w := &guardedStream{ServerStream: ss, g: g, method: info.FullMethod, ctx: ss.Context()}
		err := handler(srv, w)
		if w.admitted {
			g.done(w.ctx, info.FullMethod, w.req, err)
		}
		return err
	}
}

type guardedStream struct {
	grpc.ServerStream
	g        *Guard
	method   string
	ctx      context.Context
	req      any
	admitted bool
}

func (s *guardedStream) Context() context.Context { return s.ctx }

func (s *guardedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if s.admitted {
		return nil
	}
	ctx, err := s.g.admit(s.ServerStream.Context(), s.method, m)
	if err != nil {
		return err
	}
	s.ctx, s.req, s.admitted = ctx, m, true
	return nil
}
