package server

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeBackend answers inventory calls without a platform.
type fakeBackend struct{}

func (fakeBackend) Name() string { return "fake" }
func (fakeBackend) Capture(context.Context, execx.RunFunc, string, store.Options) (store.Identity, []string, error) {
	return store.Identity{}, nil, fmt.Errorf("fake: %w", engine.ErrPrecondition)
}
func (fakeBackend) Steps(*store.Operation) []engine.Step { return nil }
func (fakeBackend) Probe(context.Context, execx.RunFunc) (store.Capabilities, error) {
	return store.Capabilities{{Name: store.CapZfsListP, Supported: true, Detail: "fake"}}, nil
}
func (fakeBackend) ListVolumes(context.Context, execx.RunFunc) ([]engine.Volume, error) {
	return []engine.Volume{{Name: "pool/v", Type: "volume"}}, nil
}
func (fakeBackend) GetVolume(context.Context, execx.RunFunc, string) (engine.Volume, error) {
	return engine.Volume{}, fmt.Errorf("fake: %w", engine.ErrNotFound)
}
func (fakeBackend) Snapshots(context.Context, execx.RunFunc, string) ([]engine.Snapshot, error) {
	return nil, nil
}
func (fakeBackend) CreateSnapshots(context.Context, execx.RunFunc, []string) error { return nil }
func (fakeBackend) DestroySnapshot(context.Context, execx.RunFunc, string) error   { return nil }
func (fakeBackend) VolumeOf(name string) (string, error)                           { return name, nil }

// asIdentity is transport credentials that present a fixed caller, as the
// kernel would on the unix socket.
type asIdentity struct {
	insecureCreds credentials.TransportCredentials
	id            *auth.Identity
}

func (c asIdentity) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if c.id == nil {
		return conn, nil, nil
	}
	return conn, auth.PeerCred{Identity: *c.id}, nil
}
func (c asIdentity) ClientHandshake(ctx context.Context, a string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.insecureCreds.ClientHandshake(ctx, a, conn)
}
func (c asIdentity) Info() credentials.ProtocolInfo          { return c.insecureCreds.Info() }
func (c asIdentity) Clone() credentials.TransportCredentials { return c }
func (c asIdentity) OverrideServerName(string) error         { return nil }

// serve runs the services over bufconn for a caller id (nil: none).
func serve(t *testing.T, id *auth.Identity) (*grpc.ClientConn, *store.DB) {
	t.Helper()
	return serveWith(t, id, fakeBackend{})
}

// serveWith is serve over a backend of the test's.
func serveWith(t *testing.T, id *auth.Identity, backend engine.Backend) (*grpc.ClientConn, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "j.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	eng := engine.New(ctx, db, backend, engine.Config{}, nil)
	srv := New(eng, db, "test")
	guard := &Guard{Policy: auth.Policy{OperatorUIDs: []int{0}, ViewerUIDs: []int{1000}}, DB: db, Log: hclog.NewNullLogger()}
	g := grpc.NewServer(grpc.Creds(asIdentity{insecure.NewCredentials(), id}),
		grpc.ChainUnaryInterceptor(guard.Unary()), grpc.ChainStreamInterceptor(guard.Stream()))
	srv.Register(g)
	srv.SetServing(true)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = g.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		g.Stop()
		cancel()
		eng.Wait()
		db.Close()
	})
	return conn, db
}

func TestGuard(t *testing.T) {
	viewer := &auth.Identity{Transport: "unix", UID: 1000, User: "alice"}
	root := &auth.Identity{Transport: "unix", UID: 0, User: "root"}
	stranger := &auth.Identity{Transport: "unix", UID: 4242}
	tests := []struct {
		name   string
		id     *auth.Identity
		call   func(*grpc.ClientConn) error
		want   codes.Code
		audits int    // records written
		msg    string // what the caller is told, when set
	}{
		{"viewer lists", viewer, func(c *grpc.ClientConn) error {
			_, err := v1.NewVolumeServiceClient(c).ListVolumes(context.Background(), &v1.ListVolumesRequest{})
			return err
		}, codes.OK, 0, ""},
		{"viewer may not snapshot", viewer, func(c *grpc.ClientConn) error {
			_, err := v1.NewSnapshotServiceClient(c).CreateSnapshot(context.Background(), &v1.CreateSnapshotRequest{Name: "pool/v@s"})
			return err
		}, codes.PermissionDenied, 1, "permission denied: uid=1000(alice) gid=0 has role viewer; SnapshotService/CreateSnapshot needs operator"},
		{"viewer may not roll back (stream)", viewer, func(c *grpc.ClientConn) error {
			s, err := v1.NewRollbackServiceClient(c).Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/v@s"})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}, codes.PermissionDenied, 1, "permission denied: uid=1000(alice) gid=0 has role viewer; RollbackService/Rollback needs operator"},
		{"stranger may not list", stranger, func(c *grpc.ClientConn) error {
			_, err := v1.NewVolumeServiceClient(c).ListVolumes(context.Background(), &v1.ListVolumesRequest{})
			return err
		}, codes.PermissionDenied, 1, ""},
		{"no identity", nil, func(c *grpc.ClientConn) error {
			_, err := v1.NewVolumeServiceClient(c).ListVolumes(context.Background(), &v1.ListVolumesRequest{})
			return err
		}, codes.Unauthenticated, 1, "volctld cannot tell who is calling: caller has no identity"},
		{"health needs no identity", nil, func(c *grpc.ClientConn) error {
			r, err := healthpb.NewHealthClient(c).Check(context.Background(), &healthpb.HealthCheckRequest{})
			if err == nil && r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				return fmt.Errorf("health %v", r.GetStatus())
			}
			return err
		}, codes.OK, 0, ""},
		{"operator snapshots, audited", root, func(c *grpc.ClientConn) error {
			_, err := v1.NewSnapshotServiceClient(c).CreateSnapshot(context.Background(), &v1.CreateSnapshotRequest{Name: "pool/v@s"})
			return err
		}, codes.Internal, 1, ""}, // the fake lists no snapshot after creating one: an error, audited
		{"operator rollback refused by the backend, audited", root, func(c *grpc.ClientConn) error {
			s, err := v1.NewRollbackServiceClient(c).Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/v@s"})
			if err != nil {
				return err
			}
			// The operation's id first (its capture starting), then the
			// refusal (issue 21 item 2).
			for err == nil {
				_, err = s.Recv()
			}
			return err
		}, codes.FailedPrecondition, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, db := serve(t, tc.id)
			err := tc.call(conn)
			if got := status.Code(err); got != tc.want {
				t.Fatalf("code %s (%v), want %s", got, err, tc.want)
			}
			if got := status.Convert(err).Message(); tc.msg != "" && got != tc.msg {
				t.Errorf("message %q, want %q", got, tc.msg)
			}
			recs, _ := db.ListAudit(0, 0)
			if len(recs) != tc.audits {
				t.Fatalf("%d audit records, want %d: %+v", len(recs), tc.audits, recs)
			}
			if tc.audits > 0 && recs[0].Allowed != (tc.want != codes.PermissionDenied && tc.want != codes.Unauthenticated) {
				t.Errorf("audit allowed=%v for %s", recs[0].Allowed, tc.want)
			}
			if tc.audits > 0 && !recs[0].Allowed && recs[0].Result != tc.want.String() {
				t.Errorf("audit result %q, want %s", recs[0].Result, tc.want)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	conn, _ := serve(t, &auth.Identity{Transport: "unix", UID: 1000, User: "alice"})
	st, err := v1.NewStatusServiceClient(conn).GetStatus(context.Background(), &v1.GetStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetVersion() != "test" || st.GetPlatform() != "fake" || st.GetCallerRole() != "viewer" ||
		st.GetSchemaVersion() != store.SchemaVersion() || st.GetUptime() == nil {
		t.Errorf("status %+v", st)
	}
}
