package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/daemon/auth"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// Guard authorises every call and writes the audit trail: denied calls, and
// every call that may change something, with its result. Denied calls are
// limited per caller (deniedBurst a deniedWindow, then counted); every
// record's text is capped and escaped by the store (store.SafeText). An
// admitted request whose strings are not valid UTF-8 is refused here with
// InvalidArgument (checkUTF8; see Codec).
type Guard struct {
	Policy auth.Policy
	DB     *store.DB
	Log    hclog.Logger

	denials denials
	now     func() time.Time // tests; nil is time.Now
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
	// later, when set, is called once the call's record is written, to
	// write another when there is more to say (the result of an operation
	// whose caller went away: callers.go).
	later func(record func(result string, detail any))
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
	zone := ""
	if z, ok := req.(interface{ GetZone() string }); ok && z.GetZone() != "" {
		zone = "zone " + z.GetZone()
	}
	// A request naming a zone names its snapshot by the part after '@';
	// one naming several volumes names them all.
	named := func(first string, more []string) string {
		if zone != "" {
			return zone + " @" + first
		}
		return strings.Join(append([]string{first}, more...), " ")
	}
	switch r := req.(type) {
	case *v1.FindZonesRequest:
		if zone != "" {
			return zone
		}
		var g []string
		for _, l := range r.GetLogicalUnits() {
			g = append(g, l.GetGuid())
		}
		return "zones on LU " + strings.Join(g, ", ")
	case *v1.ZoneActionRequest, *v1.CheckBootRequest:
		return zone
	case interface{ GetWith() string }: // rescue
		return zone + " with " + r.GetWith()
	case interface{ GetMoreSnapshots() []string }:
		return named(req.(interface{ GetSnapshot() string }).GetSnapshot(), r.GetMoreSnapshots())
	case interface{ GetMoreNames() []string }:
		return named(req.(interface{ GetName() string }).GetName(), r.GetMoreNames())
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
	case interface{ GetOperationId() uint64 }: // undo, forget
		if r.GetOperationId() != 0 {
			return fmt.Sprintf("operation %d", r.GetOperationId())
		}
	}
	return ""
}

// The guard's refusals, wrapped with who called and what; toStatus maps
// them to Unauthenticated and PermissionDenied.
var (
	// ErrUnidentified: the transport gave no identity for a call that
	// needs a role.
	ErrUnidentified = errors.New("volctld cannot tell who is calling")
	// ErrDenied: the caller's role is below what the method needs.
	ErrDenied = errors.New("permission denied")
)

// admit decides a call. It returns the context for the handler, or the
// status of a refusal (ErrUnidentified, ErrDenied), already audited.
func (g *Guard) admit(ctx context.Context, method string, req any) (context.Context, error) {
	id, err := auth.FromContext(ctx)
	need := auth.Required(method)
	if err != nil {
		if need == auth.None {
			return ctx, nil
		}
		return nil, g.refuse("unidentified", store.AuditRecord{Who: "unidentified", Method: method, Target: target(req)},
			fmt.Errorf("%w: %w", ErrUnidentified, err))
	}
	role := g.Policy.Role(id)
	if !auth.Allowed(role, need) {
		return nil, g.refuse(id.String(), store.AuditRecord{Who: id.String(), Role: role.String(), Method: method, Target: target(req)},
			fmt.Errorf("%w: %s has role %s; %s needs %s", ErrDenied, id, role, trimMethod(method), need))
	}
	ctx = context.WithValue(ctx, keyIdentity, callerInfo{id, role})
	if auth.Mutating(method) {
		ctx = context.WithValue(ctx, keyNote, &note{})
	}
	return ctx, nil
}

// refuse audits a refused call of caller key (rec, with the refusal's code
// as its result) and returns the refusal as a status.
func (g *Guard) refuse(key string, rec store.AuditRecord, err error) error {
	st := toStatus(err)
	rec.Result = status.Code(st).String()
	g.denied(key, rec)
	return st
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
	later := n.later
	n.mu.Unlock()
	if err != nil && rec.Detail == "" {
		rec.Detail = status.Convert(err).Message()
	}
	g.audit(rec)
	if later != nil {
		later(func(result string, detail any) {
			r := rec
			r.Result, r.Detail = result, ""
			if b, jerr := json.Marshal(detail); jerr == nil {
				r.Detail = string(b)
			}
			g.audit(r)
		})
	}
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
		bad := takeUndecodable(req)
		ctx, err := g.admit(ctx, info.FullMethod, req)
		if err != nil {
			return nil, err
		}
		if err := checkDecoded(req, bad); err != nil {
			err = toStatus(err)
			g.done(ctx, info.FullMethod, req, err)
			return nil, err
		}
		resp, err := handler(ctx, req)
		g.done(ctx, info.FullMethod, req, err)
		return resp, err
	}
}

// Stream is the stream interceptor. The request of a server stream is its
// first message: the wrapper authorises when the handler reads it.
//
// An audited stream (a rollback, a recovery) is recorded when the handler
// returns, that is when the operation is decided, not when the client has
// read it all: its messages go out from a goroutine of their own (sender),
// so a client that reads slowly, or not at all, holds up neither the
// handler nor the audit record. The interceptor returns once they are sent.
func (g *Guard) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		w := &guardedStream{ServerStream: ss, g: g, method: info.FullMethod, ctx: ss.Context()}
		err := handler(srv, w)
		if w.admitted {
			g.done(w.ctx, info.FullMethod, w.req, err)
		}
		if serr := w.drain(); err == nil {
			err = serr
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
	out      *sender // audited streams, once admitted
}

func (s *guardedStream) Context() context.Context { return s.ctx }

func (s *guardedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	bad := takeUndecodable(m)
	if !s.admitted {
		if _, err := s.admit(m); err != nil {
			return err
		}
	} else if bad == nil {
		return nil
	}
	if err := checkDecoded(m, bad); err != nil {
		return toStatus(err)
	}
	return nil
}

// admit authorises the stream on its first message.
func (s *guardedStream) admit(m any) (context.Context, error) {
	ctx, err := s.g.admit(s.ServerStream.Context(), s.method, m)
	if err != nil {
		return nil, err
	}
	s.ctx, s.req, s.admitted = ctx, m, true
	if noteFrom(ctx) != nil {
		s.out = newSender(s.ServerStream)
	}
	return ctx, nil
}

func (s *guardedStream) SendMsg(m any) error {
	if s.out == nil {
		return s.ServerStream.SendMsg(m)
	}
	return s.out.send(m)
}

// drain waits until the queued messages are sent and returns the first
// error sending them.
func (s *guardedStream) drain() error {
	if s.out == nil {
		return nil
	}
	return s.out.close()
}

// senderQueue bounds the messages an audited stream queues for a slow
// client: a rollback sends a plan, an event per step and command, and the
// result, far fewer. Past it, SendMsg waits as it would without the queue.
const senderQueue = 1024

// sender sends a stream's messages from a goroutine of its own. Each is
// cloned when queued, so the handler may go on with what it sent.
type sender struct {
	ss   grpc.ServerStream
	q    chan any
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func newSender(ss grpc.ServerStream) *sender {
	s := &sender{ss: ss, q: make(chan any, senderQueue), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *sender) run() {
	defer close(s.done)
	for m := range s.q {
		if s.failed() != nil {
			continue // drop what is left: the client is gone
		}
		if err := s.ss.SendMsg(m); err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}
	}
}

func (s *sender) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *sender) send(m any) error {
	if err := s.failed(); err != nil {
		return err
	}
	if pm, ok := m.(proto.Message); ok {
		m = proto.Clone(pm)
	}
	select {
	case s.q <- m:
		return nil
	case <-s.ss.Context().Done():
		return s.ss.Context().Err()
	}
}

func (s *sender) close() error {
	close(s.q)
	<-s.done
	return s.failed()
}
