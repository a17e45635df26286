package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// fakeTerminal answers the questions from its lines, as a person at a
// terminal would (or not: interactive false is a pipe).
type fakeTerminal struct {
	interactive bool
	answers     []string
	asked       int
	block       chan struct{} // non-nil: ReadLine waits on it (no answer yet)
}

func (f *fakeTerminal) Interactive() bool { return f.interactive }

func (f *fakeTerminal) ReadLine() (string, error) {
	f.asked++
	if f.block != nil {
		<-f.block
	}
	if len(f.answers) == 0 {
		return "", io.EOF
	}
	s := f.answers[0]
	f.answers = f.answers[1:]
	return s, nil
}

// fakeDaemon is volctld as far as the destructive commands go: it lists
// one snapshot, plans a rollback that destroys two newer ones, and records
// what it was asked to do.
type fakeDaemon struct {
	v1.UnimplementedSnapshotServiceServer
	v1.UnimplementedRollbackServiceServer
	mu        sync.Mutex
	destroyed []string
	rollbacks []string
}

func (d *fakeDaemon) ListSnapshots(_ context.Context, r *v1.ListSnapshotsRequest) (*v1.ListSnapshotsResponse, error) {
	return &v1.ListSnapshotsResponse{Snapshots: []*v1.Snapshot{{Name: r.GetVolume() + "@snap1",
		Creation: timestamppb.New(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)), Used: 24 << 10}}}, nil
}

func (d *fakeDaemon) DestroySnapshot(_ context.Context, r *v1.DestroySnapshotRequest) (*v1.DestroySnapshotResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.destroyed = append(d.destroyed, r.GetName())
	return &v1.DestroySnapshotResponse{}, nil
}

func (d *fakeDaemon) PlanRollback(_ context.Context, r *v1.PlanRollbackRequest) (*v1.PlanRollbackResponse, error) {
	if !r.GetOptions().GetDestroyNewer() {
		return nil, status.Error(codes.FailedPrecondition, "needs consent destroy_newer")
	}
	return &v1.PlanRollbackResponse{Plan: &v1.Plan{Volume: "pool/idisk0", Snapshot: r.GetSnapshot(),
		NewerSnapshots: []string{"pool/idisk0@snap2", "pool/idisk0@snap3"}}}, nil
}

func (d *fakeDaemon) Rollback(r *v1.RollbackRequest, stream grpc.ServerStreamingServer[v1.RollbackResponse]) error {
	d.mu.Lock()
	d.rollbacks = append(d.rollbacks, r.GetSnapshot())
	d.mu.Unlock()
	return stream.Send(&v1.RollbackResponse{Event: &v1.RollbackResponse_Operation{Operation: &v1.Operation{Id: 1,
		State: v1.OperationState_OPERATION_STATE_SUCCEEDED, Snapshot: r.GetSnapshot()}}})
}

func startFakeDaemon(t *testing.T) (*fakeDaemon, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDaemon{}
	srv := grpc.NewServer()
	v1.RegisterSnapshotServiceServer(srv, d)
	v1.RegisterRollbackServiceServer(srv, d)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return d, sock
}

// TestConfirm: on a terminal destroy-snapshot and rollback --destroy-newer
// say what goes and ask; only yes acts; --yes and no terminal do not ask
// (and act, as before).
func TestConfirm(t *testing.T) {
	for _, tc := range []struct {
		name        string
		args        []string
		interactive bool
		answers     []string
		wantAsked   bool
		wantActed   bool
		wantPrompt  []string
	}{
		{"destroy: no", []string{"destroy-snapshot", "pool/idisk0@snap1"}, true, []string{"n\n"}, true, false,
			[]string{"This destroys snapshot pool/idisk0@snap1 (created 2026-12-01 10:00:00 UTC, used 24K); it cannot be undone.\nDestroy it? [y/N] "}},
		{"destroy: enter", []string{"destroy-snapshot", "pool/idisk0@snap1"}, true, []string{"\n"}, true, false, nil},
		{"destroy: end of input", []string{"destroy-snapshot", "pool/idisk0@snap1"}, true, nil, true, false, nil},
		{"destroy: yes", []string{"destroy-snapshot", "pool/idisk0@snap1"}, true, []string{"yes\n"}, true, true, nil},
		{"destroy: Y", []string{"destroy-snapshot", "pool/idisk0@snap1"}, true, []string{"Y\n"}, true, true, nil},
		{"destroy: --yes", []string{"destroy-snapshot", "--yes", "pool/idisk0@snap1"}, true, nil, false, true, nil},
		{"destroy: -y", []string{"destroy-snapshot", "-y", "pool/idisk0@snap1"}, true, nil, false, true, nil},
		{"destroy: no terminal", []string{"destroy-snapshot", "pool/idisk0@snap1"}, false, nil, false, true, nil},
		{"destroy-newer: no", []string{"rollback", "--destroy-newer", "pool/idisk0@snap1"}, true, []string{"no\n"}, true, false,
			[]string{"This rollback destroys 2 newer snapshot(s); they cannot be brought back:\n  pool/idisk0@snap2\n  pool/idisk0@snap3\nRoll back and destroy them? [y/N] "}},
		{"destroy-newer: y", []string{"rollback", "--destroy-newer", "pool/idisk0@snap1"}, true, []string{"y\n"}, true, true, nil},
		{"destroy-newer: --yes", []string{"rollback", "--destroy-newer", "--yes", "pool/idisk0@snap1"}, true, nil, false, true, nil},
		{"destroy-newer: no terminal", []string{"rollback", "--destroy-newer", "pool/idisk0@snap1"}, false, nil, false, true, nil},
		// Without --destroy-newer nothing is destroyed: nothing to ask.
		{"rollback", []string{"rollback", "pool/idisk0@snap1"}, true, nil, false, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, sock := startFakeDaemon(t)
			term := &fakeTerminal{interactive: tc.interactive, answers: tc.answers}
			var stdout, stderr bytes.Buffer
			root := newCommand(&stdout, &stderr, term)
			root.SetArgs(append([]string{"--socket", sock, "--utc"}, tc.args...))
			err := root.ExecuteContext(context.Background())
			if asked := term.asked > 0; asked != tc.wantAsked {
				t.Errorf("asked %v, want %v (stderr %q)", asked, tc.wantAsked, stderr.String())
			}
			acted := len(d.destroyed)+len(d.rollbacks) > 0
			if acted != tc.wantActed {
				t.Errorf("acted %v (destroyed %q, rolled back %q), want %v", acted, d.destroyed, d.rollbacks, tc.wantActed)
			}
			if tc.wantActed && err != nil {
				t.Errorf("error %v", err)
			}
			if !tc.wantActed && status.Code(err) != codes.Canceled {
				t.Errorf("error %v, want Canceled", err)
			}
			// Declined by a person exits 1; 130 says a signal stopped volctl.
			if !tc.wantActed && exitStatus(context.Background(), err) != exitDeclined {
				t.Errorf("exit status %d for %v, want %d", exitStatus(context.Background(), err), err, exitDeclined)
			}
			if !tc.wantAsked && strings.Contains(stderr.String(), "[y/N]") {
				t.Errorf("stderr has a question: %q", stderr.String())
			}
			for _, want := range tc.wantPrompt {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr %q lacks %q", stderr.String(), want)
				}
			}
			if !tc.wantActed && err != nil && !strings.Contains(err.Error(), "nothing was done") {
				t.Errorf("error %q does not say nothing was done", err)
			}
		})
	}
}

// TestConfirmInterrupted: an interrupt while the question waits cancels,
// and nothing is destroyed.
func TestConfirmInterrupted(t *testing.T) {
	d, sock := startFakeDaemon(t)
	term := &fakeTerminal{interactive: true, block: make(chan struct{})}
	defer close(term.block)
	var stdout bytes.Buffer
	stderr := &lockedBuffer{}
	root := newCommand(&stdout, stderr, term)
	root.SetArgs([]string{"--socket", sock, "destroy-snapshot", "pool/idisk0@snap1"})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for !strings.Contains(stderr.String(), "[y/N]") {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	err := root.ExecuteContext(ctx)
	if status.Code(err) != codes.Canceled || len(d.destroyed) > 0 {
		t.Fatalf("error %v, destroyed %q; want Canceled and nothing destroyed", err, d.destroyed)
	}
}

// lockedBuffer is a buffer written by the command and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
