package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

// TestHoldAcrossRestartAndResolve: the real volctld on a simulated host.
// A rollback that ends needing attention (import-lu fails for good) holds
// pool/idisk0: after volctld is killed and started again, a second
// rollback is still refused naming it (FailedPrecondition,
// HELD_BY_OPERATION); volctl resolve releases it, and the needs-attention
// gauge drops with volctl_operations_total{state="resolved"} counting it.
func TestHoldAcrossRestartAndResolve(t *testing.T) {
	root := simtest.Host(t)
	addr := freePort(t)
	cfg, sock := writeConfigWith(t, root, "", fmt.Sprintf("[metrics]\nlisten = %q\n", addr))
	d := startDaemon(t, cfg, sock)
	if err := sim.AddFault(root, sim.Fault{Command: "stmfadm", Match: "import-lu", Action: sim.ActionFail, Stderr: "stmfadm: unexpected error"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	op, _ := d.client().Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1", Options: &v1.RollbackOptions{HaltZones: true}}, nil)
	if op.GetState() != v1.OperationState_OPERATION_STATE_NEEDS_ATTENTION {
		t.Fatalf("rollback ended %s, want needs attention", op.GetState())
	}
	d.kill()
	if err := sim.ClearFaults(root); err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, cfg, sock)
	c := d.client()
	_, err := c.Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1", Options: &v1.RollbackOptions{HaltZones: true}}, nil)
	var reason, held string
	for _, det := range status.Convert(err).Details() {
		if info, ok := det.(*errdetails.ErrorInfo); ok {
			reason, held = info.GetReason(), info.GetMetadata()["operation"]
		}
	}
	if status.Code(err) != codes.FailedPrecondition || reason != "HELD_BY_OPERATION" || held != fmt.Sprint(op.GetId()) ||
		!strings.Contains(err.Error(), fmt.Sprintf("volctl resolve %d --reason", op.GetId())) {
		t.Fatalf("second rollback after a restart: %v (reason %q, operation %q), want it held by operation %d", err, reason, held, op.GetId())
	}
	if body := scrape(t, addr); !strings.Contains(body, "\nvolctl_operations_needs_attention 1\n") {
		t.Fatalf("metrics before resolve:\n%s", body)
	}

	resp, err := c.Operations.ResolveOperation(ctx, &v1.ResolveOperationRequest{Id: op.GetId(), Reason: "imported the LU by hand"})
	if err != nil || resp.GetOperation().GetState() != v1.OperationState_OPERATION_STATE_RESOLVED {
		t.Fatalf("resolve: %v %v", resp, err)
	}
	body := scrape(t, addr)
	for _, want := range []string{"\nvolctl_operations_needs_attention 0\n", "\n" + `volctl_operations_total{state="resolved"} 1` + "\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics after resolve lack %q", strings.TrimSpace(want))
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
}
