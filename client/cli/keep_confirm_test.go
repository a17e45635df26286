package cli

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/client"
	"github.com/volctl/volctl/internal/wire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// keepDaemon is volctld as far as undo and forget go: operation 7 kept
// pool/idisk0; a forget's plan without destroy_kept comes back in the
// consent refusal, as volctld sends it.
type keepDaemon struct {
	v1.UnimplementedRollbackServiceServer
	mu              sync.Mutex
	undos, forgets  []uint64
	forgetConsented []bool
}

var keepPlanned = &v1.Plan{Kind: "forget", ForgetOf: 7, Volume: "pool/idisk0",
	ForgetDatasets: []string{"pool/idisk0.kept-7-20261202T040506Z"},
	Steps:          []*v1.PlannedStep{{Name: "destroy-kept", Commands: []*v1.CommandLine{{Argv: []string{"/usr/sbin/zfs", "destroy", "-r", "pool/idisk0.kept-7-20261202T040506Z"}}}}}}

func (d *keepDaemon) PlanUndo(_ context.Context, r *v1.PlanUndoRequest) (*v1.PlanUndoResponse, error) {
	return &v1.PlanUndoResponse{Plan: &v1.Plan{Kind: "undo", UndoOf: r.GetOperationId(), Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1",
		Kept: []*v1.KeptVolume{{Volume: "pool/idisk0", Dataset: "pool/idisk0.kept-9-20261202T050506Z", Restore: "pool/idisk0.kept-7-20261202T040506Z"}}}}, nil
}

func (d *keepDaemon) Undo(r *v1.UndoRequest, stream grpc.ServerStreamingServer[v1.UndoResponse]) error {
	d.mu.Lock()
	d.undos = append(d.undos, r.GetOperationId())
	d.mu.Unlock()
	return stream.Send(&v1.UndoResponse{Event: &v1.UndoResponse_Operation{Operation: &v1.Operation{Id: 9, Kind: "undo", UndoOf: r.GetOperationId(),
		State: v1.OperationState_OPERATION_STATE_SUCCEEDED, Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1"}}})
}

func (d *keepDaemon) PlanForget(_ context.Context, r *v1.PlanForgetRequest) (*v1.PlanForgetResponse, error) {
	if !r.GetDestroyKept() {
		st, _ := status.New(codes.FailedPrecondition, "forget destroys the kept datasets of operation 7, their data and snapshots, for good: needs consent destroy_kept").WithDetails(
			&errdetails.ErrorInfo{Reason: wire.ReasonConsent, Domain: wire.ErrorDomain, Metadata: map[string]string{wire.MetaConsent: wire.ConsentDestroyKept}},
			&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{Type: wire.ConsentViolation, Subject: wire.ConsentDestroyKept}}},
			keepPlanned)
		return nil, st.Err()
	}
	return &v1.PlanForgetResponse{Plan: keepPlanned}, nil
}

func (d *keepDaemon) Forget(r *v1.ForgetRequest, stream grpc.ServerStreamingServer[v1.ForgetResponse]) error {
	d.mu.Lock()
	d.forgets = append(d.forgets, r.GetOperationId())
	d.forgetConsented = append(d.forgetConsented, r.GetDestroyKept())
	d.mu.Unlock()
	return stream.Send(&v1.ForgetResponse{Event: &v1.ForgetResponse_Operation{Operation: &v1.Operation{Id: 10, Kind: "forget", ForgetOf: r.GetOperationId(),
		State: v1.OperationState_OPERATION_STATE_SUCCEEDED, Volume: "pool/idisk0"}}})
}

func startKeepDaemon(t *testing.T) (*keepDaemon, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	d := &keepDaemon{}
	srv := grpc.NewServer()
	v1.RegisterRollbackServiceServer(srv, d)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return d, sock
}

// TestKeepCommands: undo and forget ask on a terminal as rollback
// --destroy-newer does (only yes acts; --yes and no terminal do not ask);
// forget without --destroy-kept shows the plan and names the flag that
// consents, exit 9, sending no forget.
func TestKeepCommands(t *testing.T) {
	for _, tc := range []struct {
		name        string
		args        []string
		interactive bool
		answers     []string
		wantAsked   bool
		wantUndo    bool
		wantForget  bool
		wantCode    codes.Code
		wantStdout  []string
		wantStderr  []string
	}{
		{"undo: no", []string{"undo", "7"}, true, []string{"n\n"}, true, false, false, codes.Canceled, nil,
			[]string{"This undoes operation 7", "  brings back pool/idisk0.kept-7-20261202T040506Z as pool/idisk0; keeps pool/idisk0 as pool/idisk0.kept-9-20261202T050506Z\n", "Undo it? [y/N] "}},
		{"undo: yes", []string{"undo", "7"}, true, []string{"y\n"}, true, true, false, codes.OK, []string{"Operation 9 succeeded"}, nil},
		{"undo: --yes", []string{"undo", "--yes", "7"}, true, nil, false, true, false, codes.OK, nil, nil},
		{"undo: no terminal", []string{"undo", "7"}, false, nil, false, true, false, codes.OK, nil, nil},
		{"undo: dry run", []string{"undo", "--dry-run", "7"}, true, nil, false, false, false, codes.OK,
			[]string{"Undo operation 7: pool/idisk0 back to what it held before it went back to pool/idisk0@snap1\n", "Dry run: nothing was changed.\n"}, nil},
		{"forget: no consent", []string{"forget", "7"}, true, nil, false, false, false, codes.FailedPrecondition,
			[]string{"Forget operation 7: destroy what it kept\n", "  destroys kept dataset pool/idisk0.kept-7-20261202T040506Z, with its snapshots\n",
				"       /usr/sbin/zfs destroy -r pool/idisk0.kept-7-20261202T040506Z\n"}, nil},
		{"forget: dry run", []string{"forget", "--destroy-kept", "--dry-run", "7"}, true, nil, false, false, false, codes.OK,
			[]string{"Forget operation 7: destroy what it kept\n", "Dry run: nothing was changed.\n"}, nil},
		{"forget: no", []string{"forget", "--destroy-kept", "7"}, true, []string{"no\n"}, true, false, false, codes.Canceled, nil,
			[]string{"This destroys what operation 7 kept, with its snapshots; it cannot be brought back:\n  pool/idisk0.kept-7-20261202T040506Z\nDestroy it? [y/N] "}},
		{"forget: yes", []string{"forget", "--destroy-kept", "7"}, true, []string{"yes\n"}, true, false, true, codes.OK, []string{"Operation 10 succeeded"}, nil},
		{"forget: -y", []string{"forget", "--destroy-kept", "-y", "7"}, true, nil, false, false, true, codes.OK, nil, nil},
		{"forget: no terminal", []string{"forget", "--destroy-kept", "7"}, false, nil, false, false, true, codes.OK, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, sock := startKeepDaemon(t)
			term := &fakeTerminal{interactive: tc.interactive, answers: tc.answers}
			var stdout, stderr bytes.Buffer
			root := newCommand(&stdout, &stderr, term)
			root.SetArgs(append([]string{"--socket", sock, "--utc"}, tc.args...))
			err := root.ExecuteContext(context.Background())
			if asked := term.asked > 0; asked != tc.wantAsked {
				t.Errorf("asked %v, want %v (stderr %q)", asked, tc.wantAsked, stderr.String())
			}
			if got := len(d.undos) > 0; got != tc.wantUndo {
				t.Errorf("undo sent %v, want %v", got, tc.wantUndo)
			}
			if got := len(d.forgets) > 0; got != tc.wantForget {
				t.Errorf("forget sent %v, want %v", got, tc.wantForget)
			}
			for _, c := range d.forgetConsented {
				if !c {
					t.Error("a forget was sent without destroy_kept")
				}
			}
			if status.Code(err) != tc.wantCode {
				t.Errorf("error %v, want %s", err, tc.wantCode)
			}
			if tc.wantCode == codes.FailedPrecondition {
				if msg := client.Message(err); !strings.HasSuffix(msg, "; pass --destroy-kept to consent") {
					t.Errorf("message %q does not name the flag that consents", msg)
				}
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout\n%s\nlacks %q", stdout.String(), w)
				}
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q lacks %q", stderr.String(), w)
				}
			}
		})
	}
}
