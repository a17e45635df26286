// Package server is volctld's gRPC surface: thin services over the engine,
// errors converted once (toStatus), the health service and reflection.
package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/volctl/volctl/daemon/engine"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// Server implements the volctl.v1 services.
type Server struct {
	v1.UnimplementedVolumeServiceServer
	v1.UnimplementedSnapshotServiceServer
	v1.UnimplementedRollbackServiceServer
	v1.UnimplementedOperationServiceServer
	v1.UnimplementedAuditServiceServer
	v1.UnimplementedStatusServiceServer
	v1.UnimplementedBootServiceServer

	eng     *engine.Engine
	db      *store.DB
	zones   zoneServer
	health  *health.Server
	version string
	started time.Time
	watches watchLimits
	replays replayCache
}

// New makes the services over eng; db serves the audit trail.
func New(eng *engine.Engine, db *store.DB, version string) *Server {
	return &Server{eng: eng, db: db, health: health.NewServer(), version: version, started: time.Now(),
		watches: watchLimits{perConn: DefaultWatchesPerConnection, perCaller: DefaultWatchesPerCaller}}
}

// Register adds every service, health and reflection to g.
func (s *Server) Register(g *grpc.Server) {
	v1.RegisterVolumeServiceServer(g, s)
	v1.RegisterSnapshotServiceServer(g, s)
	v1.RegisterRollbackServiceServer(g, s)
	v1.RegisterOperationServiceServer(g, s)
	v1.RegisterAuditServiceServer(g, s)
	v1.RegisterStatusServiceServer(g, s)
	v1.RegisterZoneServiceServer(g, &s.zones)
	v1.RegisterBootServiceServer(g, s)
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
}

// services are the full names of the services Register adds, each with
// its own health status.
var services = []string{
	v1.VolumeService_ServiceDesc.ServiceName,
	v1.SnapshotService_ServiceDesc.ServiceName,
	v1.RollbackService_ServiceDesc.ServiceName,
	v1.OperationService_ServiceDesc.ServiceName,
	v1.AuditService_ServiceDesc.ServiceName,
	v1.StatusService_ServiceDesc.ServiceName,
	v1.ZoneService_ServiceDesc.ServiceName,
	v1.BootService_ServiceDesc.ServiceName,
}

// SetServing flips the health status (NOT_SERVING while shutting down) of
// the server ("") and of every service.
func (s *Server) SetServing(ok bool) {
	st := healthpb.HealthCheckResponse_SERVING
	if !ok {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	s.health.SetServingStatus("", st)
	for _, name := range services {
		s.health.SetServingStatus(name, st)
	}
}

// ListVolumes implements VolumeService: by name, a page at a time (the
// token holds the last name).
func (s *Server) ListVolumes(ctx context.Context, req *v1.ListVolumesRequest) (*v1.ListVolumesResponse, error) {
	size, err := pageSize(req.GetPageSize(), 0, maxPageSize)
	if err != nil {
		return nil, toStatus(err)
	}
	tok, err := parseToken(req.GetPageToken(), "volumes", "")
	if err != nil {
		return nil, toStatus(err)
	}
	vols, err := s.eng.ListVolumes(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	atts, err := s.eng.Attention()
	if err != nil {
		return nil, toStatus(err)
	}
	slices.SortStableFunc(vols, func(a, b engine.Volume) int { return strings.Compare(a.Name, b.Name) })
	resp := &v1.ListVolumesResponse{}
	for _, v := range vols {
		if tok.After != "" && v.Name <= tok.After {
			continue
		}
		if len(resp.Volumes) == size {
			resp.NextPageToken = pageToken{List: "volumes", After: resp.Volumes[size-1].GetName()}.String()
			break
		}
		resp.Volumes = append(resp.Volumes, validText(toVolume(v)))
	}
	heldBy(atts, resp.Volumes...)
	return validText(resp), nil
}

// GetVolume implements VolumeService.
func (s *Server) GetVolume(ctx context.Context, req *v1.GetVolumeRequest) (*v1.GetVolumeResponse, error) {
	if err := checkName("name", req.GetName()); err != nil {
		return nil, toStatus(err)
	}
	v, err := s.eng.GetVolume(ctx, req.GetName())
	if err != nil {
		return nil, toStatus(err)
	}
	atts, err := s.eng.Attention()
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &v1.GetVolumeResponse{Volume: validText(toVolume(v))}
	heldBy(atts, resp.Volume)
	return validText(resp), nil
}

// CreateSnapshot implements SnapshotService.
func (s *Server) CreateSnapshot(ctx context.Context, req *v1.CreateSnapshotRequest) (*v1.CreateSnapshotResponse, error) {
	if err := checkName("name", req.GetName()); err != nil {
		return nil, toStatus(err)
	}
	for _, n := range req.GetMoreNames() {
		if err := checkName("more_names", n); err != nil {
			return nil, toStatus(err)
		}
	}
	var g engine.SnapshotGroup
	var err error
	switch {
	case req.GetZone() != "" && len(req.GetMoreNames()) > 0:
		err = fmt.Errorf("zone and more_names: a zone's snapshot names its volumes itself: %w", engine.ErrInvalid)
	case req.GetZone() != "":
		g, err = s.eng.TakeZoneSnapshots(ctx, req.GetZone(), req.GetName())
	default:
		g, err = s.eng.TakeSnapshots(ctx, append([]string{req.GetName()}, req.GetMoreNames()...))
	}
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &v1.CreateSnapshotResponse{Snapshot: validText(toSnapshot(g.Snapshots[0])), Method: g.Method, AlsoTaken: g.Also}
	for _, sn := range g.Snapshots {
		resp.Snapshots = append(resp.Snapshots, validText(toSnapshot(sn)))
	}
	return validText(resp), nil
}

// ListSnapshots implements SnapshotService: in creation order, a page at a
// time (the token holds the last snapshot, and its creation for when it is
// destroyed before the next page).
func (s *Server) ListSnapshots(ctx context.Context, req *v1.ListSnapshotsRequest) (*v1.ListSnapshotsResponse, error) {
	if err := checkName("volume", req.GetVolume()); err != nil {
		return nil, toStatus(err)
	}
	size, err := pageSize(req.GetPageSize(), 0, maxPageSize)
	if err != nil {
		return nil, toStatus(err)
	}
	tok, err := parseToken(req.GetPageToken(), "snapshots", req.GetVolume())
	if err != nil {
		return nil, toStatus(err)
	}
	snaps, err := s.eng.Snapshots(ctx, req.GetVolume())
	if err != nil {
		return nil, toStatus(err)
	}
	if tok.After != "" {
		if at := slices.IndexFunc(snaps, func(sn engine.Snapshot) bool { return sn.Name == tok.After }); at >= 0 {
			snaps = snaps[at+1:]
		} else {
			after := time.Unix(0, tok.Created)
			snaps = slices.DeleteFunc(snaps, func(sn engine.Snapshot) bool { return !sn.Creation.After(after) })
		}
	}
	resp := &v1.ListSnapshotsResponse{}
	for i, sn := range snaps {
		if i == size {
			last := snaps[i-1]
			resp.NextPageToken = pageToken{List: "snapshots", Filter: req.GetVolume(), After: last.Name, Created: last.Creation.UnixNano()}.String()
			break
		}
		resp.Snapshots = append(resp.Snapshots, validText(toSnapshot(sn)))
	}
	return resp, nil
}

// DestroySnapshot implements SnapshotService.
func (s *Server) DestroySnapshot(ctx context.Context, req *v1.DestroySnapshotRequest) (*v1.DestroySnapshotResponse, error) {
	if err := checkName("name", req.GetName()); err != nil {
		return nil, toStatus(err)
	}
	if err := s.eng.DestroySnapshot(ctx, req.GetName()); err != nil {
		return nil, toStatus(err)
	}
	return &v1.DestroySnapshotResponse{}, nil
}

func request(snapshot string, more []string, zone string, o *v1.RollbackOptions) (engine.Request, error) {
	for _, n := range append([]string{snapshot}, more...) {
		if err := checkName("snapshot", n); err != nil {
			return engine.Request{}, err
		}
	}
	if len(more) > maxGroup {
		return engine.Request{}, fmt.Errorf("more_snapshots: %d, at most %d: %w", len(more), maxGroup, engine.ErrInvalid)
	}
	if len(zone) > 64 {
		return engine.Request{}, fmt.Errorf("zone: longer than 64 bytes: %w", engine.ErrInvalid)
	}
	if o.GetKeep() && o.GetDestroyNewer() {
		return engine.Request{}, fmt.Errorf("keep with destroy_newer: a rollback that keeps destroys nothing (docs/keep.md): %w",
			engine.InvalidOptions("keep", "destroy_newer"))
	}
	return engine.Request{Snapshot: snapshot, More: more, Zone: zone, Options: fromOptions(o)}, nil
}

// maxGroup bounds a group rollback's volumes.
const maxGroup = 256

// PlanRollback implements RollbackService.
func (s *Server) PlanRollback(ctx context.Context, req *v1.PlanRollbackRequest) (*v1.PlanRollbackResponse, error) {
	r, err := request(req.GetSnapshot(), req.GetMoreSnapshots(), req.GetZone(), req.GetOptions())
	if err != nil {
		return nil, toStatus(err)
	}
	op, err := s.eng.Plan(ctx, r)
	if err != nil && op != nil {
		// A missing consent: FailedPrecondition, with the plan it would
		// run as the status's detail, so the dry run still shows it.
		st := status.Convert(toStatus(err))
		if withPlan, derr := st.WithDetails(validText(toPlan(op))); derr == nil {
			st = withPlan
		}
		return nil, st.Err()
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &v1.PlanRollbackResponse{Plan: validText(toPlan(op))}, nil
}

// Rollback implements RollbackService.
func (s *Server) Rollback(req *v1.RollbackRequest, stream grpc.ServerStreamingServer[v1.RollbackResponse]) error {
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return toStatus(err)
	}
	r, err := request(req.GetSnapshot(), req.GetMoreSnapshots(), req.GetZone(), req.GetOptions())
	if err != nil {
		return toStatus(err)
	}
	r.RequestID, r.Wait = req.GetRequestId(), req.GetWait()
	r.RequestedBy = Caller(stream.Context())
	return streamOperation(s, stream, opStream[v1.RollbackResponse]{
		plan: func(p *v1.Plan) *v1.RollbackResponse {
			return &v1.RollbackResponse{Event: &v1.RollbackResponse_Plan{Plan: p}}
		},
		step: func(st *v1.StepEvent) *v1.RollbackResponse {
			return &v1.RollbackResponse{Event: &v1.RollbackResponse_Step{Step: st}}
		},
		final: func(op *v1.Operation) *v1.RollbackResponse {
			return &v1.RollbackResponse{Event: &v1.RollbackResponse_Operation{Operation: op}}
		},
	}, func(emit func(engine.Event)) (*store.Operation, error) {
		return s.eng.Rollback(stream.Context(), r, emit)
	})
}

// opStream is how a streaming RPC carries an operation's events: its
// response for the plan (nil: the RPC sends none), for a step event and for
// the final operation.
type opStream[R any] struct {
	plan  func(*v1.Plan) *R
	step  func(*v1.StepEvent) *R
	final func(*v1.Operation) *R
}

// message is the response that carries ev (nil: none).
func (msgs opStream[R]) message(ev engine.Event) *R {
	switch {
	case ev.Plan != nil:
		if msgs.plan != nil {
			return msgs.plan(validText(toPlan(ev.Plan)))
		}
		return nil
	case ev.Final != nil:
		return msgs.final(validText(toOperation(ev.Final, true)))
	default:
		return msgs.step(validText(toStepEvent(ev)))
	}
}

// streamOperation runs an operation (run, which reports its engine events
// to emit) and sends each event to the client as msgs makes it. Once a send
// fails the rest are dropped; that does not stop the operation. It notes the
// operation for the audit trail and returns the operation's error as a
// status.
func streamOperation[R any](s *Server, stream grpc.ServerStreamingServer[R], msgs opStream[R], run func(emit func(engine.Event)) (*store.Operation, error)) error {
	var sendErr error
	send := func(m *R) {
		if sendErr == nil {
			sendErr = stream.Send(m)
		}
	}
	op, err := run(func(ev engine.Event) {
		if m := msgs.message(ev); m != nil {
			send(m)
		}
	})
	s.noteOperation(stream.Context(), op)
	s.noteLeft(stream.Context(), err) // callers.go
	return toStatus(err)
}

// auditDetail is what the audit trail keeps of a rollback: the plan, the
// identity before (as captured) and after (as read back), and the result.
type auditDetail struct {
	Plan map[string][][]string `json:"plan"`
	// Options are the caller's consents, skipped peers included.
	Options store.Options  `json:"options"`
	Before  store.Identity `json:"before"`
	After   *engine.Volume `json:"after,omitempty"`
	State   store.OpState  `json:"state"`
	Error   string         `json:"error,omitempty"`
	// Note says why the record is not the call's whole story: its caller
	// went away (callers.go).
	Note string `json:"note,omitempty"`
}

// noteOperation adds the operation to the call's audit record.
func (s *Server) noteOperation(ctx context.Context, op *store.Operation) {
	n := noteFrom(ctx)
	if n == nil || op == nil {
		return
	}
	n.set(op.ID, string(op.State), s.auditDetailOf(ctx, op))
}

// auditDetailOf is op's audit detail, its identity read back now (not on
// ctx: the caller may be gone).
func (s *Server) auditDetailOf(ctx context.Context, op *store.Operation) auditDetail {
	d := auditDetail{Plan: map[string][][]string{}, Options: op.Options, Before: op.Identity, State: op.State, Error: op.Error}
	for _, st := range op.Steps {
		d.Plan[st.Name] = st.Planned
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if v, err := s.eng.GetVolume(actx, op.Volume); err == nil {
		d.After = &v
	}
	return d
}

// ListOperations implements OperationService: newest first, a page at a
// time (the token holds the last id; the next page starts below it).
func (s *Server) ListOperations(_ context.Context, req *v1.ListOperationsRequest) (*v1.ListOperationsResponse, error) {
	if err := checkName("volume", req.GetVolume()); err != nil {
		return nil, toStatus(err)
	}
	//lint:ignore SA1019 limit is deprecated, and still honoured when page_size is 0
	size, err := pageSize(req.GetPageSize(), req.GetLimit(), 100)
	if err != nil {
		return nil, toStatus(err)
	}
	tok, err := parseToken(req.GetPageToken(), "operations", req.GetVolume())
	if err != nil {
		return nil, toStatus(err)
	}
	ops, more, err := s.eng.Operations(tok.Before, size, req.GetVolume())
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &v1.ListOperationsResponse{}
	for _, op := range ops {
		resp.Operations = append(resp.Operations, validText(toOperation(op, false)))
	}
	if more && len(ops) > 0 {
		resp.NextPageToken = pageToken{List: "operations", Filter: req.GetVolume(), Before: ops[len(ops)-1].ID}.String()
	}
	return resp, nil
}

// GetOperation implements OperationService.
func (s *Server) GetOperation(_ context.Context, req *v1.GetOperationRequest) (*v1.GetOperationResponse, error) {
	op, err := s.eng.Operation(req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &v1.GetOperationResponse{Operation: validText(toOperation(op, true))}, nil
}

// RecoverOperation implements OperationService.
func (s *Server) RecoverOperation(req *v1.RecoverOperationRequest, stream grpc.ServerStreamingServer[v1.RecoverOperationResponse]) error {
	return streamOperation(s, stream, opStream[v1.RecoverOperationResponse]{
		step: func(st *v1.StepEvent) *v1.RecoverOperationResponse {
			return &v1.RecoverOperationResponse{Event: &v1.RecoverOperationResponse_Step{Step: st}}
		},
		final: func(op *v1.Operation) *v1.RecoverOperationResponse {
			return &v1.RecoverOperationResponse{Event: &v1.RecoverOperationResponse_Operation{Operation: op}}
		},
	}, func(emit func(engine.Event)) (*store.Operation, error) {
		return s.eng.Recover(stream.Context(), req.GetId(), engine.RecoverOptions{Repersist: req.GetRepersist(), InitializeHostdata: req.GetInitializeHostdata()}, emit)
	})
}

// WatchOperation implements OperationService: the operation from its
// first step, then live, then its final state. Read-only (a viewer may
// watch), so not audited, like GetOperation. The streams open at once are
// bounded per connection and per caller (watchlimits.go); an operation
// that has ended is sent from one shared encoded copy (watchshare.go).
func (s *Server) WatchOperation(req *v1.WatchOperationRequest, stream grpc.ServerStreamingServer[v1.WatchOperationResponse]) error {
	release, err := s.watches.acquire(stream.Context())
	if err != nil {
		return toStatus(err)
	}
	defer release()
	if done, err := s.watchEnded(req.GetId(), stream); done {
		return err
	}
	return streamOperation(s, stream, watchMsgs, func(emit func(engine.Event)) (*store.Operation, error) {
		return s.eng.Watch(stream.Context(), req.GetId(), emit)
	})
}

// maxAuditReply bounds a ListAudit reply, in encoded bytes: a client
// refuses a message over 4 MiB (grpc-go's default), and a reply that big
// would make `volctl audit` fail for good. A reply stops before the record
// that would pass it (it always holds one: a record is at most about
// 70 KB, see store.MaxAuditDetail); the caller asks for the next page (or,
// following with after, again with after set to the last seq it got).
const maxAuditReply = 3 << 20

// ListAudit implements AuditService: newest first, a page at a time (the
// token holds the last seq; the next page starts below it); with after set,
// the records after it, oldest first, as before pages existed.
func (s *Server) ListAudit(_ context.Context, req *v1.ListAuditRequest) (*v1.ListAuditResponse, error) {
	//lint:ignore SA1019 limit is deprecated, and still honoured when page_size is 0
	size, err := pageSize(req.GetPageSize(), req.GetLimit(), 1000)
	if err != nil {
		return nil, toStatus(err)
	}
	var recs []store.AuditRecord
	var more bool
	if req.GetAfter() > 0 {
		recs, _, err = s.db.ListAuditPage(req.GetAfter(), size, maxAuditReply)
	} else {
		var tok pageToken
		if tok, err = parseToken(req.GetPageToken(), "audit", ""); err != nil {
			return nil, toStatus(err)
		}
		recs, more, err = s.db.ListAuditBefore(tok.Before, size, maxAuditReply)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &v1.ListAuditResponse{}
	size = 0
	for _, r := range recs {
		pr := &v1.AuditRecord{Seq: r.Seq, Time: ts(r.Time), Who: r.Who, Role: r.Role,
			Method: r.Method, Target: r.Target, Allowed: r.Allowed, Result: r.Result, OperationId: r.Operation, Detail: r.Detail}
		n := proto.Size(pr) + 8 // the field's tag and length
		if len(resp.Records) > 0 && size+n > maxAuditReply {
			more = true
			break
		}
		size += n
		resp.Records = append(resp.Records, pr)
	}
	if more && req.GetAfter() == 0 && len(resp.Records) > 0 {
		resp.NextPageToken = pageToken{List: "audit", Before: resp.Records[len(resp.Records)-1].GetSeq()}.String()
	}
	return resp, nil
}

// GetStatus implements StatusService.
func (s *Server) GetStatus(ctx context.Context, _ *v1.GetStatusRequest) (*v1.GetStatusResponse, error) {
	resp := &v1.GetStatusResponse{Version: s.version, Platform: s.eng.Backend().Name(), Started: ts(s.started),
		Uptime: durationpb.New(time.Since(s.started))}
	if v, err := s.db.Version(); err == nil {
		resp.SchemaVersion = v
	}
	if id, role, ok := identityFrom(ctx); ok {
		resp.Caller, resp.CallerRole = id.String(), role.String()
	}
	resp.Capabilities = toCapabilities(s.eng.Capabilities())
	// The operations in flight, then those that wait for an admin (a
	// rescue --shell: state waiting, at its step): both hold their disks.
	waiting, err := s.eng.Waiting()
	if err != nil {
		return nil, toStatus(err)
	}
	for _, op := range append(s.eng.RunningOperations(), waiting...) {
		ro := &v1.RunningOperation{Id: op.ID, Volume: op.Volume, Snapshot: op.Snapshot, State: string(op.State)}
		ro.Volumes, ro.Snapshots = op.Targets()
		for _, st := range op.Steps {
			if st.State == store.StepRunning || st.State == store.StepCompensating {
				ro.Step = st.Name
			}
		}
		resp.Running = append(resp.Running, ro)
	}
	atts, err := s.eng.Attention()
	if err != nil {
		return nil, toStatus(err)
	}
	for _, a := range atts {
		resp.Attention = append(resp.Attention, toAttention(a))
	}
	return validText(resp), nil
}
