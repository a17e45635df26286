package server

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zonehost"
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
	{"engine.ErrAlreadyExists", fmt.Errorf("request id X belongs to operation 3: %w", engine.ErrAlreadyExists), codes.AlreadyExists},
	{"engine.ErrBusy", fmt.Errorf("volume pool/v: %w", engine.ErrBusy), codes.Aborted},
	{"engine.BusyError", &engine.BusyError{Key: "volume pool/v", Holder: 3}, codes.Aborted},
	{"engine.ErrShuttingDown", engine.ErrShuttingDown, codes.Unavailable},
	{"engine.ErrUnavailable", fmt.Errorf("zfs list -p: %w", engine.ErrUnavailable), codes.Unavailable},
	{"engine.ErrNeedsAttention", fmt.Errorf("operation 4: %w", engine.ErrNeedsAttention), codes.Internal},
	{"StepError needing attention", &engine.StepError{Op: 1, Step: "attach-zones", Err: errors.New("key"), NeedsAttention: true}, codes.Internal},
	{"engine.ErrStepFailed", fmt.Errorf("operation 2: %w", engine.ErrStepFailed), codes.Aborted},
	{"StepError", &engine.StepError{Op: 1, Step: "rollback", Err: errors.New("busy")}, codes.Aborted},
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
	}
	for _, tt := range tests {
		if got := target(tt.req); got != tt.want {
			t.Errorf("target(%T %v) = %q, want %q", tt.req, tt.req, got, tt.want)
		}
	}
}
