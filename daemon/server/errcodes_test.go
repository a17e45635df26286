package server

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zonehost"
	"github.com/volctl/volctl/internal/wire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// toStatusCases wrap each sentinel as callers wrap it. A case named after
// a sentinel ("engine.ErrInvalid") stands for it in TestToStatusCoversSentinels.
var toStatusCases = []struct {
	name string
	err  error
	want codes.Code
}{
	{"ErrUnidentified", fmt.Errorf("%w: %w", ErrUnidentified, errors.New("caller has no identity")), codes.Unauthenticated},
	{"ErrDenied", fmt.Errorf("%w: uid=5 has role viewer; RollbackService/Rollback needs operator", ErrDenied), codes.PermissionDenied},
	{"engine.ErrInvalid", fmt.Errorf("name: %w", engine.ErrInvalid), codes.InvalidArgument},
	{"zonehost.ErrInvalid", fmt.Errorf("%w: zone \"-x\"", zonehost.ErrInvalid), codes.InvalidArgument},
	{"store.ErrCorrupt", fmt.Errorf("operation 7: %w", store.ErrCorrupt), codes.DataLoss},
	{"engine.ErrNotFound", fmt.Errorf("snapshot: %w", engine.ErrNotFound), codes.NotFound},
	{"store.ErrNotFound", fmt.Errorf("op: %w", store.ErrNotFound), codes.NotFound},
	{"engine.ErrPrecondition", fmt.Errorf("zone running: %w", engine.ErrPrecondition), codes.FailedPrecondition},
	{"engine.ErrNeedsConsent", fmt.Errorf("newer snapshots: %w", engine.NeedsConsent(engine.ConsentDestroyNewer)), codes.FailedPrecondition},
	{"a joined consent", errors.Join(fmt.Errorf("zone z: %w", engine.NeedsConsent(engine.ConsentHaltZones)), engine.NeedsConsent(engine.ConsentAcceptSessions)), codes.FailedPrecondition},
	{"engine.OptionError", fmt.Errorf("halt_zones: no zones here: %w", engine.InvalidOptions("halt_zones")), codes.InvalidArgument},
	{"engine.RequestIDError", fmt.Errorf("request id X belongs to operation 3: %w", &engine.RequestIDError{RequestID: "X", Op: 3}), codes.AlreadyExists},
	{"engine.ErrAlreadyExists", fmt.Errorf("request id X belongs to operation 3: %w", engine.ErrAlreadyExists), codes.AlreadyExists},
	{"engine.ErrBusy", fmt.Errorf("volume pool/v: %w", engine.ErrBusy), codes.Aborted},
	{"engine.BusyError", &engine.BusyError{Key: "volume pool/v", Holder: 3}, codes.Aborted},
	{"engine.HeldError", fmt.Errorf("plan: %w", &engine.HeldError{Op: 3, Volume: "pool/v", Attention: "attach-zones is left"}), codes.FailedPrecondition},
	{"engine.ErrShuttingDown", engine.ErrShuttingDown, codes.Unavailable},
	{"engine.ErrUnavailable", fmt.Errorf("zfs list -p: %w", engine.ErrUnavailable), codes.Unavailable},
	{"engine.ErrNeedsAttention", fmt.Errorf("operation 4: %w", engine.ErrNeedsAttention), codes.Internal},
	{"StepError needing attention", &engine.StepError{Op: 1, Step: "attach-zones", Err: errors.New("key"), NeedsAttention: true}, codes.Internal},
	{"engine.ErrStepFailed", fmt.Errorf("operation 2: %w", engine.ErrStepFailed), codes.Aborted},
	{"StepError", &engine.StepError{Op: 1, Step: "rollback", Err: errors.New("busy")}, codes.Aborted},
	{"ErrTooManyWatches", fmt.Errorf("%w: uid:1000 already watches 64 operations", ErrTooManyWatches), codes.ResourceExhausted},
	{"engine.ErrFellBehind", fmt.Errorf("operation 3: %w", engine.ErrFellBehind), codes.ResourceExhausted},
	{"context.DeadlineExceeded", context.DeadlineExceeded, codes.DeadlineExceeded},
	{"context.Canceled", fmt.Errorf("zfs list: %w", context.Canceled), codes.Canceled},
	{"anything else", errors.New("anything else"), codes.Internal},
	{"a status is kept", status.Error(codes.PermissionDenied, "kept"), codes.PermissionDenied},
}

// TestToStatus maps each sentinel to its code; the message is the whole
// chain.
func TestToStatus(t *testing.T) {
	for _, tc := range toStatusCases {
		t.Run(tc.name, func(t *testing.T) {
			st := status.Convert(toStatus(tc.err))
			if st.Code() != tc.want {
				t.Errorf("toStatus(%v) = %s, want %s", tc.err, st.Code(), tc.want)
			}
			want := tc.err.Error()
			if s, ok := status.FromError(tc.err); ok {
				want = s.Message()
			}
			if st.Message() != want {
				t.Errorf("toStatus(%v) message = %q, want %q", tc.err, st.Message(), want)
			}
		})
	}
	if toStatus(nil) != nil {
		t.Error("toStatus(nil) != nil")
	}
}

// TestToStatusDetails: the ErrorInfo (reason, domain, metadata) and, for a
// missing consent, the PreconditionFailure that name what the message
// says, for programs (AIP-193).
func TestToStatusDetails(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		reason     string
		metadata   map[string]string
		violations []string // type/subject, or FIELD/field of a BadRequest
	}{
		{"consent", fmt.Errorf("initiator i can see the LU: %w", engine.NeedsConsent(engine.ConsentAcceptSessions)),
			wire.ReasonConsent, map[string]string{"consent": "accept_sessions"}, []string{"CONSENT/accept_sessions"}},
		{"two consents, joined", errors.Join(
			fmt.Errorf("zone kz1 is running: %w", engine.NeedsConsent(engine.ConsentHaltZones)),
			fmt.Errorf("peer h2: %w", &engine.ConsentError{Consent: engine.ConsentSkipPeers, Peer: "h2"}),
			fmt.Errorf("newer snapshots: %w", engine.NeedsConsent(engine.ConsentDestroyNewer))),
			wire.ReasonConsent, map[string]string{"consent": "halt_zones,skip_peers,destroy_newer", "peers": "h2"},
			[]string{"CONSENT/halt_zones", "CONSENT/skip_peers", "CONSENT/destroy_newer"}},
		{"busy", &engine.BusyError{Key: "volume pool/idisk0", Holder: 12},
			wire.ReasonBusy, map[string]string{"operation": "12", "volume": "pool/idisk0"}, nil},
		{"busy zone, being planned", fmt.Errorf("lock: %w", &engine.BusyError{Key: "zone kz1"}),
			wire.ReasonBusy, map[string]string{"zone": "kz1"}, nil},
		{"held volume", &engine.HeldError{Op: 3, Volume: "pool/idisk0", Attention: "attach-zones is left"},
			wire.ReasonHeld, map[string]string{"operation": "3", "volume": "pool/idisk0"}, nil},
		{"held zone on a peer", fmt.Errorf("capture: %w", &engine.HeldError{Op: 4, Zone: "kz1", Host: "kz-host1"}),
			wire.ReasonHeld, map[string]string{"operation": "4", "zone": "kz1", "host": "kz-host1"}, nil},
		{"request id reused", fmt.Errorf("request id r1 belongs to operation 2: %w", &engine.RequestIDError{RequestID: "r1", Op: 2}),
			wire.ReasonRequestIDReused, map[string]string{"operation": "2", "request_id": "r1"}, nil},
		{"request id reused while planned", fmt.Errorf("request id r1 is being planned: %w", &engine.RequestIDError{RequestID: "r1"}),
			wire.ReasonRequestIDReused, map[string]string{"request_id": "r1"}, nil},
		{"snapshot exists", fmt.Errorf("snapshot p/v@s already exists: %w", engine.ErrAlreadyExists), wire.ReasonAlreadyExists, nil, nil},
		{"needs attention", &engine.StepError{Op: 4, Step: "attach-zones", Err: errors.New("key"), NeedsAttention: true},
			wire.ReasonNeedsAttention, map[string]string{"operation": "4", "step": "attach-zones"}, nil},
		{"step failed", &engine.StepError{Op: 5, Step: "rollback", Err: errors.New("busy")},
			wire.ReasonStepFailed, map[string]string{"operation": "5", "step": "rollback"}, nil},
		{"options refused", fmt.Errorf("halt_zones, skip_peers: no zones here: %w", engine.InvalidOptions("halt_zones", "skip_peers")),
			wire.ReasonInvalid, nil, []string{"FIELD/options.halt_zones", "FIELD/options.skip_peers"}},
		{"other precondition", fmt.Errorf("zone is incomplete: %w", engine.ErrPrecondition), wire.ReasonPrecondition, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := status.Convert(toStatus(tt.err))
			var info *errdetails.ErrorInfo
			var violations []string
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					info = d
				case *errdetails.BadRequest:
					for _, v := range d.GetFieldViolations() {
						violations = append(violations, "FIELD/"+v.GetField())
					}
				case *errdetails.PreconditionFailure:
					for _, v := range d.GetViolations() {
						violations = append(violations, v.GetType()+"/"+v.GetSubject())
						if v.GetDescription() == "" {
							t.Errorf("violation %s/%s has no description", v.GetType(), v.GetSubject())
						}
					}
				}
			}
			if info == nil {
				t.Fatalf("no ErrorInfo in %v", st.Details())
			}
			if info.GetReason() != tt.reason || info.GetDomain() != "volctl.io" {
				t.Errorf("ErrorInfo reason %q domain %q, want %q volctl.io", info.GetReason(), info.GetDomain(), tt.reason)
			}
			if !maps.Equal(info.GetMetadata(), tt.metadata) {
				t.Errorf("metadata %v, want %v", info.GetMetadata(), tt.metadata)
			}
			if !slices.Equal(violations, tt.violations) {
				t.Errorf("violations %v, want %v", violations, tt.violations)
			}
		})
	}
}

// TestToStatusCoversSentinels fails when toStatus tests a sentinel that no
// case of toStatusCases is named after.
func TestToStatusCoversSentinels(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errcodes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{}
	for _, tc := range toStatusCases {
		cases[tc.name] = true
	}
	var n int
	ast.Inspect(f, func(nd ast.Node) bool {
		call, ok := nd.(*ast.CallExpr)
		if !ok || len(call.Args) != 2 || types.ExprString(call.Fun) != "errors.Is" {
			return true
		}
		n++
		if s := types.ExprString(call.Args[1]); !cases[s] {
			t.Errorf("toStatus maps %s, but no case of toStatusCases is named %q", s, s)
		}
		return true
	})
	if n == 0 {
		t.Fatal("no errors.Is in errcodes.go: has toStatus moved?")
	}
}

// TestAuditTarget: what the audit trail says a request is about.
func TestAuditTarget(t *testing.T) {
	tests := []struct {
		req  any
		want string
	}{
		{&v1.RollbackRequest{Snapshot: "pool/a@s"}, "pool/a@s"},
		{&v1.RollbackRequest{Snapshot: "pool/a@s", MoreSnapshots: []string{"pool/b@s"}}, "pool/a@s pool/b@s"},
		{&v1.RollbackRequest{Snapshot: "s", Zone: "kz1"}, "zone kz1 @s"},
		{&v1.CreateSnapshotRequest{Name: "pool/a@s"}, "pool/a@s"},
		{&v1.CreateSnapshotRequest{Name: "s", Zone: "kz1"}, "zone kz1 @s"},
		{&v1.ZoneActionRequest{Zone: "kz1", Key: "k"}, "zone kz1"},
		{&v1.FindZonesRequest{LogicalUnits: []*v1.LURef{{Guid: "G1"}, {Guid: "G2"}}}, "zones on LU G1, G2"},
		{&v1.FindZonesRequest{Zone: "kz1"}, "zone kz1"},
		{&v1.GetOperationRequest{Id: 3}, "operation 3"},
		{&v1.UndoRequest{OperationId: 7}, "operation 7"},
		{&v1.ForgetRequest{OperationId: 7, DestroyKept: true}, "operation 7"},
		{&v1.ListKeptRequest{Volume: "pool/a"}, "pool/a"},
	}
	for _, tt := range tests {
		if got := target(tt.req); got != tt.want {
			t.Errorf("target(%T %v) = %q, want %q", tt.req, tt.req, got, tt.want)
		}
	}
}
