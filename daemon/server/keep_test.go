package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/client"
	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/internal/wire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// keepCalls are the keep RPCs (issue 22), each called for operation 7 and
// read to its end: a stream's first Recv carries its status.
var keepCalls = []struct {
	method string
	// mutating: needs operator and is audited, as Rollback is; the others
	// are read-only, for viewers, as PlanRollback and ListOperations are.
	mutating bool
	call     func(v1.RollbackServiceClient) error
}{
	{"PlanUndo", false, func(c v1.RollbackServiceClient) error {
		_, err := c.PlanUndo(context.Background(), &v1.PlanUndoRequest{OperationId: 7})
		return err
	}},
	{"Undo", true, func(c v1.RollbackServiceClient) error {
		return recvAll(c.Undo(context.Background(), &v1.UndoRequest{OperationId: 7, RequestId: "r1"}))
	}},
	{"PlanForget", false, func(c v1.RollbackServiceClient) error {
		_, err := c.PlanForget(context.Background(), &v1.PlanForgetRequest{OperationId: 7, DestroyKept: true})
		return err
	}},
	{"Forget", true, func(c v1.RollbackServiceClient) error {
		return recvAll(c.Forget(context.Background(), &v1.ForgetRequest{OperationId: 7, DestroyKept: true, RequestId: "r2"}))
	}},
	{"ListKept", false, func(c v1.RollbackServiceClient) error {
		_, err := c.ListKept(context.Background(), &v1.ListKeptRequest{Volume: "pool/v"})
		return err
	}},
}

func recvAll[M any](s grpc.ServerStreamingClient[M], err error) error {
	for err == nil {
		_, err = s.Recv()
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// TestKeepRoles: undo and forget need the operator role, as rollback does,
// and are audited (allowed or not) with the operation they name; their dry
// runs and the kept listing are a viewer's, as PlanRollback and history
// are, and are not audited. (What an allowed call answers is the engine's:
// here, without an operation 7, a refusal that is not a role's.)
func TestKeepRoles(t *testing.T) {
	viewer := &auth.Identity{Transport: "unix", UID: 1000, User: "alice"}
	root := &auth.Identity{Transport: "unix", UID: 0, User: "root"}
	for _, kc := range keepCalls {
		for _, who := range []struct {
			name string
			id   *auth.Identity
		}{{"viewer", viewer}, {"operator", root}} {
			t.Run(kc.method+"/"+who.name, func(t *testing.T) {
				conn, db := serve(t, who.id)
				err := kc.call(v1.NewRollbackServiceClient(conn))
				code := status.Code(err)
				denied := kc.mutating && who.id == viewer
				switch {
				case denied && code != codes.PermissionDenied:
					t.Fatalf("code %s (%v), want PermissionDenied", code, err)
				case !denied && (code == codes.PermissionDenied || code == codes.Unimplemented || code == codes.Unauthenticated):
					t.Fatalf("code %s (%v): the call was not served", code, err)
				}
				if denied {
					want := fmt.Sprintf("permission denied: uid=1000(alice) gid=0 has role viewer; RollbackService/%s needs operator", kc.method)
					if got := status.Convert(err).Message(); got != want {
						t.Errorf("message %q, want %q", got, want)
					}
				}
				recs, _ := db.ListAudit(0, 0)
				if !kc.mutating {
					if len(recs) != 0 {
						t.Fatalf("a read-only call audited: %+v", recs)
					}
					return
				}
				if len(recs) != 1 {
					t.Fatalf("%d audit records, want 1: %+v", len(recs), recs)
				}
				r := recs[0]
				if r.Method != "/volctl.v1.RollbackService/"+kc.method || r.Target != "operation 7" || r.Allowed == denied ||
					r.Result != code.String() {
					t.Errorf("audit record %+v, want method %s, target operation 7, allowed %v, result %s", r, kc.method, !denied, code)
				}
			})
		}
	}
}

// TestKeepRefusedBeforeTheEngine: what the server itself refuses, with its
// code and details, before the engine is asked (nothing is journaled).
func TestKeepRefusedBeforeTheEngine(t *testing.T) {
	conn, db := serve(t, &auth.Identity{Transport: "unix", UID: 0, User: "root"})
	c := v1.NewRollbackServiceClient(conn)
	ctx := context.Background()
	tests := []struct {
		name    string
		call    func() error
		want    codes.Code
		message string   // a part of the status's message
		fields  []string // BadRequest field violations
		consent string   // PreconditionFailure consent
	}{
		{"undo of operation 0", func() error {
			return recvAll(c.Undo(ctx, &v1.UndoRequest{OperationId: 0}))
		}, codes.InvalidArgument, "operation_id: 0 names no operation", nil, ""},
		{"plan undo of operation 0", func() error {
			_, err := c.PlanUndo(ctx, &v1.PlanUndoRequest{})
			return err
		}, codes.InvalidArgument, "operation_id: 0 names no operation", nil, ""},
		{"undo with destroy_newer", func() error {
			return recvAll(c.Undo(ctx, &v1.UndoRequest{OperationId: 7, Options: &v1.RollbackOptions{DestroyNewer: true}}))
		}, codes.InvalidArgument, "an undo destroys nothing", []string{"options.destroy_newer"}, ""},
		{"plan undo with destroy_newer", func() error {
			_, err := c.PlanUndo(ctx, &v1.PlanUndoRequest{OperationId: 7, Options: &v1.RollbackOptions{DestroyNewer: true}})
			return err
		}, codes.InvalidArgument, "an undo destroys nothing", []string{"options.destroy_newer"}, ""},
		{"undo with a bad request id", func() error {
			return recvAll(c.Undo(ctx, &v1.UndoRequest{OperationId: 7, RequestId: "a b"}))
		}, codes.InvalidArgument, "request_id: byte 1", nil, ""},
		{"forget without destroy_kept", func() error {
			return recvAll(c.Forget(ctx, &v1.ForgetRequest{OperationId: 7}))
		}, codes.FailedPrecondition, "forget destroys the kept datasets of operation 7", nil, wire.ConsentDestroyKept},
		{"forget of operation 0", func() error {
			return recvAll(c.Forget(ctx, &v1.ForgetRequest{DestroyKept: true}))
		}, codes.InvalidArgument, "operation_id: 0 names no operation", nil, ""},
		{"plan forget of operation 0", func() error {
			_, err := c.PlanForget(ctx, &v1.PlanForgetRequest{})
			return err
		}, codes.InvalidArgument, "operation_id: 0 names no operation", nil, ""},
		{"list kept of a name too long", func() error {
			_, err := c.ListKept(ctx, &v1.ListKeptRequest{Volume: "pool/" + strings.Repeat("x", 300)})
			return err
		}, codes.InvalidArgument, "name is too long", nil, ""},
		{"rollback keep with destroy_newer", func() error {
			return recvAll(c.Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/v@s", Options: &v1.RollbackOptions{Keep: true, DestroyNewer: true}}))
		}, codes.InvalidArgument, "keep with destroy_newer", []string{"options.keep", "options.destroy_newer"}, ""},
		{"plan rollback keep with destroy_newer", func() error {
			_, err := c.PlanRollback(ctx, &v1.PlanRollbackRequest{Snapshot: "pool/v@s", Options: &v1.RollbackOptions{Keep: true, DestroyNewer: true}})
			return err
		}, codes.InvalidArgument, "keep with destroy_newer", []string{"options.keep", "options.destroy_newer"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			st := status.Convert(err)
			if st.Code() != tc.want || !strings.Contains(st.Message(), tc.message) {
				t.Fatalf("%v, want %s with %q", err, tc.want, tc.message)
			}
			var fields []string
			var consents []string
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.BadRequest:
					for _, v := range d.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				case *errdetails.PreconditionFailure:
					for _, v := range d.GetViolations() {
						consents = append(consents, v.GetSubject())
					}
				}
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("BadRequest fields %v, want %v", fields, tc.fields)
			}
			if tc.consent != "" {
				if !slices.Equal(consents, []string{tc.consent}) {
					t.Errorf("consents %v, want %s", consents, tc.consent)
				}
				if msg := client.Message(err); !strings.HasSuffix(msg, "; pass --destroy-kept to consent") {
					t.Errorf("client.Message = %q, want the flag that consents", msg)
				}
			}
		})
	}
	if ops, err := db.ListOperations(10, nil); err != nil || len(ops) != 0 {
		t.Errorf("journal: %d operations (%v), want none", len(ops), err)
	}
}

// TestForgetPlanWithoutConsent: a forget's dry run without destroy_kept is
// refused as a missing consent that carries the plan (what would be
// destroyed), so that volctl can show it first, as for a rollback's.
func TestForgetPlanWithoutConsent(t *testing.T) {
	op := &store.Operation{ID: 9, Kind: store.KindForget, Volume: "pool/v", Snapshot: "pool/v@s",
		Options: store.Options{Forget: 7, ForgetDatasets: []string{"pool/v.kept-7-20261207T152435Z"}},
		Steps:   []store.Step{{Name: "destroy-kept", Planned: [][]string{{"/usr/sbin/zfs", "destroy", "-r", "pool/v.kept-7-20261207T152435Z"}}}}}
	st := status.Convert(withPlan(needsDestroyKept(7), op))
	if st.Code() != codes.FailedPrecondition {
		t.Fatalf("%v, want FailedPrecondition", st.Err())
	}
	var plan *v1.Plan
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *v1.Plan:
			plan = d
		case *errdetails.ErrorInfo:
			info = d
		}
	}
	if plan.GetKind() != "forget" || plan.GetForgetOf() != 7 || !slices.Equal(plan.GetForgetDatasets(), op.Options.ForgetDatasets) ||
		len(plan.GetSteps()) != 1 || !slices.Equal(plan.GetSteps()[0].GetCommands()[0].GetArgv(), op.Steps[0].Planned[0]) {
		t.Errorf("plan detail %v", plan)
	}
	if info.GetReason() != wire.ReasonConsent || info.GetMetadata()[wire.MetaConsent] != wire.ConsentDestroyKept {
		t.Errorf("ErrorInfo %v", info)
	}
}

// TestKeptConversions: what the API says of kept datasets, in a listing
// and in an operation: a space is never a 0 that was not read.
func TestKeptConversions(t *testing.T) {
	at := time.Date(2026, 12, 7, 15, 24, 35, 0, time.UTC)
	rec := store.Kept{Op: 7, Kind: store.KindRollback, Volume: "pool/v", Snapshot: "pool/v@s", Dataset: "pool/v.kept-7-20261207T152435Z",
		Created: at, State: "kept"}
	tests := []struct {
		name      string
		in        engine.KeptData
		used      uint64
		usedError string
	}{
		{"read", engine.KeptData{Kept: rec, Used: 1 << 30}, 1 << 30, ""},
		{"read as 0", engine.KeptData{Kept: rec}, 0, ""},
		{"not read", engine.KeptData{Kept: rec, Used: 5, UsedErr: errors.New("zfs get used: no such dataset")}, 0, "zfs get used: no such dataset"},
		{"undone", engine.KeptData{Kept: func() store.Kept { k := rec; k.State, k.By = "undone", 9; return k }()}, 0, "no longer kept: undone by operation 9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := toKeptDataset(tc.in)
			if p.GetOperationId() != 7 || p.GetDataset() != rec.Dataset || p.GetVolume() != "pool/v" || p.GetSnapshot() != "pool/v@s" ||
				!p.GetCreated().AsTime().Equal(at) || p.GetState() != string(tc.in.State) || p.GetEndedBy() != tc.in.By || p.GetKind() != "rollback" {
				t.Errorf("record %v", p)
			}
			if p.GetUsedBytes() != tc.used || p.GetUsedError() != tc.usedError {
				t.Errorf("used %d %q, want %d %q", p.GetUsedBytes(), p.GetUsedError(), tc.used, tc.usedError)
			}
		})
	}

	undo := &store.Operation{ID: 9, Kind: store.KindUndo, Volume: "pool/v", Snapshot: "pool/v@s",
		Options:  store.Options{Keep: true, Undo: 7, Restore: map[string]string{"pool/v": rec.Dataset}},
		Identity: store.Identity{Volume: "pool/v", Snapshot: "pool/v@s", Kept: "pool/v.kept-9-20261207T160000Z", KeptUsed: 4096}}
	got := toOperation(undo, false)
	want := &v1.KeptVolume{Volume: "pool/v", Dataset: "pool/v.kept-9-20261207T160000Z", UsedBytes: 4096, Restore: rec.Dataset}
	if got.GetUndoOf() != 7 || len(got.GetKept()) != 1 || got.GetKept()[0].String() != want.String() || !got.GetOptions().GetKeep() {
		t.Errorf("undo operation: undo_of %d, kept %v, options %v; want 7, %v, keep", got.GetUndoOf(), got.GetKept(), got.GetOptions(), want)
	}
	if p := toPlan(undo); p.GetKind() != "undo" || p.GetUndoOf() != 7 || len(p.GetKept()) != 1 {
		t.Errorf("undo plan %v", p)
	}
	if o := fromOptions(&v1.RollbackOptions{Keep: true}); !o.Keep {
		t.Error("fromOptions drops keep")
	}
}
