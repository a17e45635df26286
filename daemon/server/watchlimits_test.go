package server

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/internal/wire"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// errorInfo is the ErrorInfo detail of a status error (nil: none).
func watchErrorInfo(t *testing.T, err error) *errdetails.ErrorInfo {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// blockingBackend's rollback has one step, which waits for release.
type blockingBackend struct {
	fakeBackend
	release chan struct{}
}

func (blockingBackend) Capture(context.Context, execx.RunFunc, string, store.Options) (store.Identity, []string, error) {
	return store.Identity{Volume: "pool/v", Snapshot: "pool/v@s"}, nil, nil
}

func (b blockingBackend) Steps(*store.Operation) []engine.Step {
	return []engine.Step{{Name: "wait", Description: "waits for the test", Do: func(ctx context.Context, _ *engine.Exec) error {
		select {
		case <-b.release:
		case <-ctx.Done():
		}
		return nil
	}}}
}

// watchDaemon is startDaemon (limits_test.go) as volctld configures its
// gRPC server for watches: the server codec and the connection tags, and
// more options (opts).
func watchDaemon(t *testing.T, backend engine.Backend, opts ...grpc.ServerOption) (*testDaemon, *Server) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "j.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	eng := engine.New(ctx, db, backend, engine.Config{}, nil)
	srv := New(eng, db, "test")
	guard := &Guard{Policy: auth.Policy{OperatorUIDs: []int{0}, ViewerUIDs: []int{1000, 1001}}, DB: db, Log: hclog.NewNullLogger()}
	opts = append([]grpc.ServerOption{grpc.Creds(prefaceCreds{insecure.NewCredentials()}), grpc.ForceServerCodecV2(Codec()),
		grpc.StatsHandler(srv.ConnTags()),
		grpc.ChainUnaryInterceptor(guard.Unary()), grpc.ChainStreamInterceptor(guard.Stream())}, opts...)
	g := grpc.NewServer(opts...)
	srv.Register(g)
	srv.SetServing(true)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(func() {
		g.Stop()
		guard.Flush()
		cancel()
		eng.Wait()
		db.Close()
	})
	return &testDaemon{lis: lis, db: db, guard: guard}, srv
}

// openWatch starts watching operation id and reads its first message: nil
// when the watch is running, else the error that ended it.
func openWatch(ctx context.Context, conn *grpc.ClientConn, id uint64) (v1.OperationService_WatchOperationClient, error) {
	s, err := v1.NewOperationServiceClient(conn).WatchOperation(ctx, &v1.WatchOperationRequest{Id: id})
	if err != nil {
		return nil, err
	}
	// The operation's id first (its capture starting), then the plan.
	m, err := s.Recv()
	if err != nil {
		return nil, err
	}
	if m.GetStep().GetOperationId() != id || m.GetStep().GetName() != "capture" {
		return nil, errors.New("first message is not the capture's start")
	}
	if m, err = s.Recv(); err != nil {
		return nil, err
	}
	if m.GetPlan() == nil {
		return nil, errors.New("second message is not the plan")
	}
	return s, nil
}

// TestWatchLimits: while an operation runs, one connection watches it at
// most max_watches_per_connection times at once and one caller at most
// max_watches_per_caller times, over all its connections; the next is
// refused with ResourceExhausted (TOO_MANY_WATCHES), saying which limit;
// another caller is not affected; a watch that ends frees its place
// (issue 19: 30 connections x 500 streams were all served).
func TestWatchLimits(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	done := func() { releaseOnce.Do(func() { close(release) }) }
	d, _ := watchDaemon(t, blockingBackend{release: release})
	t.Cleanup(done) // before the daemon's: its engine waits for the step
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rs, err := v1.NewRollbackServiceClient(d.dial(t, rootID)).Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/v@s"})
	if err != nil {
		t.Fatal(err)
	}
	// The operation's id first (its capture starting), then the plan.
	if m, err := rs.Recv(); err != nil || m.GetStep().GetOperationId() == 0 {
		t.Fatalf("rollback's first message: %v %v", m, err)
	}
	if m, err := rs.Recv(); err != nil || m.GetPlan() == nil {
		t.Fatalf("rollback's second message: %v %v", m, err)
	}
	refused := func(err error, limit string) {
		t.Helper()
		st := status.Convert(err)
		if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), limit) {
			t.Fatalf("got %v, want ResourceExhausted naming %s", err, limit)
		}
		if info := watchErrorInfo(t, err); info.GetReason() != wire.ReasonTooManyWatches {
			t.Errorf("reason %q, want %s", info.GetReason(), wire.ReasonTooManyWatches)
		}
	}
	var watches []context.CancelFunc
	watch := func(conn *grpc.ClientConn) error {
		wctx, wcancel := context.WithCancel(ctx)
		_, err := openWatch(wctx, conn, 1)
		if err != nil {
			wcancel()
			return err
		}
		watches = append(watches, wcancel)
		return nil
	}
	alice := []*grpc.ClientConn{d.dial(t, viewerID), d.dial(t, viewerID), d.dial(t, viewerID), d.dial(t, viewerID), d.dial(t, viewerID)}
	for i := 0; i < DefaultWatchesPerConnection; i++ {
		if err := watch(alice[0]); err != nil {
			t.Fatalf("watch %d on one connection: %v", i+1, err)
		}
	}
	refused(watch(alice[0]), "max_watches_per_connection")
	for _, conn := range alice[1:4] {
		for i := 0; i < DefaultWatchesPerConnection; i++ {
			if err := watch(conn); err != nil {
				t.Fatalf("watch %d of alice: %v", len(watches)+1, err)
			}
		}
	}
	refused(watch(alice[4]), "max_watches_per_caller")
	bob := &auth.Identity{Transport: "unix", UID: 1001, User: "bob"}
	if err := watch(d.dial(t, bob)); err != nil {
		t.Fatalf("another viewer, with alice at her limit: %v", err)
	}
	// One of alice's watches ends: she may watch again.
	watches[0]()
	deadline := time.Now().Add(10 * time.Second)
	for err = watch(alice[4]); err != nil && time.Now().Before(deadline); err = watch(alice[4]) {
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("alice, after one of her watches ended: %v", err)
	}
	done()
	for {
		m, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rollback: %v", err)
		}
		if op := m.GetOperation(); op != nil && op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
			t.Errorf("rollback ended %v", op.GetState())
		}
	}
	for _, c := range watches {
		c()
	}
}
