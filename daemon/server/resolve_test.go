package server

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/internal/wire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// volumeFake is the fake backend with volumes named as ZFS names them:
// POOL/VOL@SNAP belongs to POOL/VOL.
type volumeFake struct{ fakeBackend }

func (volumeFake) VolumeOf(name string) (string, error) {
	vol, _, _ := strings.Cut(name, "@")
	return vol, nil
}

// errorInfo is the status's ErrorInfo, or nil.
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// TestHeldByOperation: over gRPC, a rollback, its dry run and a snapshot
// destroy of a volume whose operation needs attention (in the journal) are
// FailedPrecondition with reason HELD_BY_OPERATION naming the operation and
// the volume; ResolveOperation (operator, a reason, audited) releases it.
func TestHeldByOperation(t *testing.T) {
	root := &auth.Identity{Transport: "unix", UID: 0, User: "root"}
	conn, db := serveWith(t, root, volumeFake{})
	now := time.Now().UTC()
	attention := &store.Operation{Kind: "rollback", Platform: "fake", Volume: "pool/v", Snapshot: "pool/v@s", State: store.OpNeedsAttention,
		Identity: store.Identity{Volume: "pool/v"}, Attention: "the volume is at pool/v@s; these steps are left: attach-zones",
		Created: now, Updated: now}
	done := &store.Operation{Kind: "rollback", Platform: "fake", Volume: "pool/w", Snapshot: "pool/w@s", State: store.OpSucceeded,
		Created: now, Updated: now}
	for _, op := range []*store.Operation{attention, done} {
		if _, _, err := db.CreateOperation(op); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	rollback := func(snap string) error {
		s, err := v1.NewRollbackServiceClient(conn).Rollback(ctx, &v1.RollbackRequest{Snapshot: snap})
		if err != nil {
			return err
		}
		_, err = s.Recv()
		return err
	}
	calls := map[string]func() error{
		"rollback": func() error { return rollback("pool/v@s2") },
		"dry run": func() error {
			_, err := v1.NewRollbackServiceClient(conn).PlanRollback(ctx, &v1.PlanRollbackRequest{Snapshot: "pool/v@s"})
			return err
		},
		"destroy snapshot": func() error {
			_, err := v1.NewSnapshotServiceClient(conn).DestroySnapshot(ctx, &v1.DestroySnapshotRequest{Name: "pool/v@s"})
			return err
		},
	}
	for name, call := range calls {
		err := call()
		info := errorInfo(err)
		if status.Code(err) != codes.FailedPrecondition || info.GetReason() != wire.ReasonHeld ||
			!maps.Equal(info.GetMetadata(), map[string]string{"operation": "1", "volume": "pool/v"}) {
			t.Errorf("%s: %v, %v; want FailedPrecondition, %s naming operation 1 and pool/v", name, err, info, wire.ReasonHeld)
		}
		for _, want := range []string{"volume pool/v is held by operation 1", "attach-zones", "volctl recover 1", "volctl resolve 1 --reason"} {
			if !strings.Contains(status.Convert(err).Message(), want) {
				t.Errorf("%s: %q does not say %q", name, status.Convert(err).Message(), want)
			}
		}
	}

	ops := v1.NewOperationServiceClient(conn)
	for _, tc := range []struct {
		req  *v1.ResolveOperationRequest
		want codes.Code
	}{
		{&v1.ResolveOperationRequest{Id: 1}, codes.InvalidArgument},
		{&v1.ResolveOperationRequest{Id: 1, Reason: " \t"}, codes.InvalidArgument},
		{&v1.ResolveOperationRequest{Id: 1, Reason: strings.Repeat("x", 1025)}, codes.InvalidArgument},
		{&v1.ResolveOperationRequest{Reason: "fixed"}, codes.InvalidArgument},
		{&v1.ResolveOperationRequest{Id: 2, Reason: "fixed"}, codes.FailedPrecondition},
		{&v1.ResolveOperationRequest{Id: 9, Reason: "fixed"}, codes.NotFound},
	} {
		if _, err := ops.ResolveOperation(ctx, tc.req); status.Code(err) != tc.want {
			t.Errorf("resolve %v: %v, want %s", tc.req, err, tc.want)
		}
	}
	if err := rollback("pool/v@s2"); errorInfo(err).GetReason() != wire.ReasonHeld {
		t.Fatalf("a refused resolve released the volume: %v", err)
	}

	resp, err := ops.ResolveOperation(ctx, &v1.ResolveOperationRequest{Id: 1, Reason: "attached and booted kz1 by hand"})
	if err != nil {
		t.Fatal(err)
	}
	op := resp.GetOperation()
	if op.GetState() != v1.OperationState_OPERATION_STATE_RESOLVED || op.GetAttention() != "" ||
		op.GetResolution().GetReason() != "attached and booted kz1 by hand" || op.GetResolution().GetAttention() != attention.Attention ||
		!strings.HasPrefix(op.GetResolution().GetBy(), "uid=0(root)") || op.GetResolution().GetTime() == nil {
		t.Errorf("resolved operation %v", op)
	}
	got, err := ops.GetOperation(ctx, &v1.GetOperationRequest{Id: 1})
	if err != nil || got.GetOperation().GetState() != v1.OperationState_OPERATION_STATE_RESOLVED ||
		got.GetOperation().GetResolution().GetReason() != "attached and booted kz1 by hand" {
		t.Errorf("GetOperation after resolve: %v %v", got, err)
	}
	// Released: the fake's own refusal now, not the hold.
	if err := rollback("pool/v@s2"); errorInfo(err).GetReason() == wire.ReasonHeld {
		t.Errorf("still held after resolve: %v", err)
	}

	// The audit trail: who resolved what, when, and why.
	recs, err := db.ListAudit(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rec *store.AuditRecord
	for i := range recs {
		if strings.HasSuffix(recs[i].Method, "/ResolveOperation") && recs[i].Result == "resolved" {
			rec = &recs[i]
		}
	}
	if rec == nil {
		t.Fatalf("no audit record of the resolution in %+v", recs)
	}
	var d resolveDetail
	if err := json.Unmarshal([]byte(rec.Detail), &d); err != nil {
		t.Fatalf("detail %q: %v", rec.Detail, err)
	}
	if !rec.Allowed || !strings.HasPrefix(rec.Who, "uid=0(root)") || rec.Role != "operator" || rec.Target != "operation 1" ||
		rec.Operation != 1 || rec.Time.IsZero() || d.Reason != "attached and booted kz1 by hand" || d.Left != attention.Attention ||
		d.Was != store.OpNeedsAttention || d.State != store.OpResolved {
		t.Errorf("audit record %+v, detail %+v", rec, d)
	}
	// The refused resolves are audited too, with what they were told.
	refused := 0
	for _, r := range recs {
		if strings.HasSuffix(r.Method, "/ResolveOperation") && r.Result != "resolved" {
			refused++
		}
	}
	if refused != 6 {
		t.Errorf("%d refused resolves audited, want 6", refused)
	}
}

// TestResolveNeedsOperator: a viewer may not resolve.
func TestResolveNeedsOperator(t *testing.T) {
	conn, _ := serve(t, &auth.Identity{Transport: "unix", UID: 1000, User: "alice"})
	_, err := v1.NewOperationServiceClient(conn).ResolveOperation(context.Background(), &v1.ResolveOperationRequest{Id: 1, Reason: "x"})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("viewer resolves: %v, want PermissionDenied", err)
	}
}
