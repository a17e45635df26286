package server

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/internal/wire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// awaitFake's operations have a step that waits for an admin ("shell",
// as a rescue --shell's) and one after it.
type awaitFake struct {
	volumeFake
	after *atomic.Int32
}

func (f awaitFake) Steps(*store.Operation) []engine.Step {
	return []engine.Step{
		{Name: "shell", Do: func(context.Context, *engine.Exec) error { return nil },
			Await: func(op *store.Operation) string { return "zlogin kzrescue" }},
		{Name: "export", Commit: true, Do: func(context.Context, *engine.Exec) error { f.after.Add(1); return nil }},
	}
}

// TestRescueFinishOverGRPC: Rescue and PlanRescue with finish or abandon
// over gRPC: the refusals (InvalidArgument, NotFound, FailedPrecondition),
// the hold of a waiting operation, the dry run, and the finish itself.
func TestRescueFinishOverGRPC(t *testing.T) {
	root := &auth.Identity{Transport: "unix", UID: 0, User: "root"}
	var after atomic.Int32
	conn, db := serveWith(t, root, awaitFake{after: &after})
	now := time.Now().UTC()
	steps := []store.Step{{Name: "capture", State: store.StepDone}, {Name: "shell", State: store.StepRunning},
		{Name: "export", State: store.StepPending, Commit: true}}
	waiting := &store.Operation{Kind: store.KindRescue, Platform: "fake", Volume: "pool/v", State: store.OpWaiting,
		Identity: store.Identity{Volume: "pool/v"}, Steps: steps, Attention: "zlogin kzrescue", Created: now, Updated: now,
		Options: store.Options{Rescue: &store.RescueOptions{Zone: "kz1", With: "kzrescue", Shell: true}}}
	done := &store.Operation{Kind: store.KindRescue, Platform: "fake", Volume: "pool/w", State: store.OpSucceeded, Created: now, Updated: now}
	for _, op := range []*store.Operation{waiting, done} {
		if _, _, err := db.CreateOperation(op); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	rs := v1.NewRollbackServiceClient(conn)
	rescue := func(req *v1.RescueRequest) (*v1.Operation, error) {
		s, err := rs.Rescue(ctx, req)
		if err != nil {
			return nil, err
		}
		for {
			m, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return nil, errors.New("no final operation")
			}
			if err != nil {
				return nil, err
			}
			if op := m.GetOperation(); op != nil {
				return op, nil
			}
		}
	}
	for _, tc := range []struct {
		req  *v1.RescueRequest
		want codes.Code
	}{
		{&v1.RescueRequest{Finish: 1, Abandon: 1}, codes.InvalidArgument},
		{&v1.RescueRequest{Finish: 1, Zone: "kz1"}, codes.InvalidArgument},
		{&v1.RescueRequest{Abandon: 1, Shell: true}, codes.InvalidArgument},
		{&v1.RescueRequest{Finish: 1, Wait: true}, codes.InvalidArgument},
		{&v1.RescueRequest{Finish: 9}, codes.NotFound},
		{&v1.RescueRequest{Finish: 2}, codes.FailedPrecondition},
		{&v1.RescueRequest{Abandon: 2}, codes.FailedPrecondition},
	} {
		if _, err := rescue(tc.req); status.Code(err) != tc.want {
			t.Errorf("rescue %v: %v, want %s", tc.req, err, tc.want)
		}
	}
	if _, err := rs.PlanRescue(ctx, &v1.PlanRescueRequest{Finish: 2}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(status.Convert(err).Message(), "only an operation that waits for an admin") {
		t.Errorf("plan finish of a succeeded rescue: %v", err)
	}

	// While it waits it holds its volume.
	_, err := rs.PlanRollback(ctx, &v1.PlanRollbackRequest{Snapshot: "pool/v@s"})
	if info := errorInfo(err); status.Code(err) != codes.FailedPrecondition || info.GetReason() != wire.ReasonHeld ||
		!strings.Contains(status.Convert(err).Message(), "waits for an admin: zlogin kzrescue") {
		t.Errorf("a dry run of a volume a waiting rescue holds: %v, %v", err, info)
	}
	p, err := rs.PlanRescue(ctx, &v1.PlanRescueRequest{Finish: 1})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range p.GetPlan().GetSteps() {
		names = append(names, st.GetName())
	}
	if strings.Join(names, " ") != "capture export" || !p.GetPlan().GetRescue().GetShell() || after.Load() != 0 {
		t.Errorf("finish's dry run: steps %v, shell %v, ran %d", names, p.GetPlan().GetRescue().GetShell(), after.Load())
	}
	op, err := rescue(&v1.RescueRequest{Finish: 1})
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED || after.Load() != 1 {
		t.Fatalf("finish: %v, %v, export ran %d times", op.GetState(), err, after.Load())
	}
	if _, err := rescue(&v1.RescueRequest{Finish: 1}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a second finish: %v", err)
	}
	if _, err := rs.PlanRollback(ctx, &v1.PlanRollbackRequest{Snapshot: "pool/v@s"}); errorInfo(err).GetReason() == wire.ReasonHeld {
		t.Errorf("the finished rescue still holds its volume: %v", err)
	}
}
