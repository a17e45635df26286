package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

var (
	rootID     = &auth.Identity{Transport: "unix", UID: 0, User: "root"}
	viewerID   = &auth.Identity{Transport: "unix", UID: 1000, User: "alice"}
	strangerID = &auth.Identity{Transport: "unix", UID: 4242, User: "mallory"}
)

// testDaemon is the services over bufconn, each connection with the
// identity its dialer names (prefaceCreds), so one test can call as several
// users against one journal.
type testDaemon struct {
	lis   *bufconn.Listener
	db    *store.DB
	guard *Guard
}

// prefaceCreds reads the caller's identity from a JSON line the test's
// dialer writes before gRPC's own preface, as the kernel would tell it on
// the unix socket.
type prefaceCreds struct {
	credentials.TransportCredentials
}

func (prefaceCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	line, err := readLine(conn)
	if err != nil {
		return nil, nil, err
	}
	var id *auth.Identity
	if err := json.Unmarshal(line, &id); err != nil {
		return nil, nil, err
	}
	if id == nil {
		return conn, nil, nil
	}
	return conn, auth.PeerCred{Identity: *id}, nil
}
func (c prefaceCreds) Clone() credentials.TransportCredentials { return c }

// readLine reads up to '\n' a byte at a time, leaving the rest for gRPC.
func readLine(r io.Reader) ([]byte, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		if b[0] == '\n' {
			return line, nil
		}
		line = append(line, b[0])
	}
}

func startDaemon(t *testing.T, backend engine.Backend, opts ...grpc.ServerOption) *testDaemon {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "j.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	eng := engine.New(ctx, db, backend, engine.Config{}, nil)
	srv := New(eng, db, "test")
	guard := &Guard{Policy: auth.Policy{OperatorUIDs: []int{0}, ViewerUIDs: []int{1000}}, DB: db, Log: hclog.NewNullLogger()}
	opts = append([]grpc.ServerOption{grpc.Creds(prefaceCreds{insecure.NewCredentials()}),
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
	return &testDaemon{lis: lis, db: db, guard: guard}
}

func (d *testDaemon) dial(t *testing.T, id *auth.Identity, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	preface, _ := json.Marshal(id)
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			c, err := d.lis.DialContext(ctx)
			if err != nil {
				return nil, err
			}
			if _, err := c.Write(append(preface, '\n')); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		})}, opts...)
	conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// rawCodec sends a request as the bytes given, so a test can send what
// the Go proto encoder refuses to (invalid UTF-8); replies are decoded as
// usual.
type rawCodec struct{}

type rawRequest []byte

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(rawRequest))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}
func (rawCodec) Name() string { return "proto" }

// stringField encodes a message holding one string field, as it is.
func stringField(num protowire.Number, s string) rawRequest {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, []byte(s))
}

func callRollback(ctx context.Context, c *grpc.ClientConn, req *v1.RollbackRequest) error {
	s, err := v1.NewRollbackServiceClient(c).Rollback(ctx, req)
	if err != nil {
		return err
	}
	for {
		if _, err := s.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// TestRequestValidation: what the platform would refuse is refused before
// the engine sees it, as InvalidArgument, with a message that says why and
// does not echo a megabyte back.
func TestRequestValidation(t *testing.T) {
	long := "pool/" + strings.Repeat("v", 300)
	huge := "pool/v@" + strings.Repeat("s", 1<<20)
	ctx := context.Background()
	tests := []struct {
		name string
		call func(c *grpc.ClientConn) error
		want string // in the message
	}{
		{"GetVolume name", func(c *grpc.ClientConn) error {
			_, err := v1.NewVolumeServiceClient(c).GetVolume(ctx, &v1.GetVolumeRequest{Name: long})
			return err
		}, "name: invalid name"},
		{"CreateSnapshot name", func(c *grpc.ClientConn) error {
			_, err := v1.NewSnapshotServiceClient(c).CreateSnapshot(ctx, &v1.CreateSnapshotRequest{Name: huge})
			return err
		}, "name is too long (1048583 bytes, at most 255)"},
		{"DestroySnapshot name", func(c *grpc.ClientConn) error {
			_, err := v1.NewSnapshotServiceClient(c).DestroySnapshot(ctx, &v1.DestroySnapshotRequest{Name: huge})
			return err
		}, "name is too long"},
		{"ListSnapshots volume", func(c *grpc.ClientConn) error {
			_, err := v1.NewSnapshotServiceClient(c).ListSnapshots(ctx, &v1.ListSnapshotsRequest{Volume: long})
			return err
		}, "volume: invalid name"},
		{"PlanRollback snapshot", func(c *grpc.ClientConn) error {
			_, err := v1.NewRollbackServiceClient(c).PlanRollback(ctx, &v1.PlanRollbackRequest{Snapshot: huge})
			return err
		}, "snapshot: invalid name"},
		{"ListOperations volume", func(c *grpc.ClientConn) error {
			_, err := v1.NewOperationServiceClient(c).ListOperations(ctx, &v1.ListOperationsRequest{Volume: long})
			return err
		}, "volume: invalid name"},
		{"Rollback snapshot", func(c *grpc.ClientConn) error {
			return callRollback(ctx, c, &v1.RollbackRequest{Snapshot: huge})
		}, "snapshot: invalid name"},
		{"Rollback request id too long", func(c *grpc.ClientConn) error {
			return callRollback(ctx, c, &v1.RollbackRequest{Snapshot: "pool/v@s", RequestId: strings.Repeat("r", 33<<10)})
		}, "request_id: 33792 bytes, at most 128"},
		{"Rollback request id not printable", func(c *grpc.ClientConn) error {
			return callRollback(ctx, c, &v1.RollbackRequest{Snapshot: "pool/v@s", RequestId: "id\n2"})
		}, "request_id: byte 2 is 0x0a, not printable ASCII"},
		{"GetVolume invalid UTF-8", func(c *grpc.ClientConn) error {
			var resp v1.GetVolumeResponse
			return c.Invoke(ctx, "/volctl.v1.VolumeService/GetVolume", stringField(1, "pool/v\xff"), &resp,
				grpc.ForceCodecV2(rawCodec{}))
		}, "request field name: invalid UTF-8"},
		{"Rollback invalid UTF-8", func(c *grpc.ClientConn) error {
			return rawRollback(ctx, c, stringField(1, "pool/v@\xc3("))
		}, "request field snapshot: invalid UTF-8"},
	}
	d := startDaemon(t, fakeBackend{}, grpc.ForceServerCodecV2(Codec()))
	conn := d.dial(t, rootID)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(conn)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.want) {
				t.Fatalf("got %s %q, want InvalidArgument with %q", st.Code(), st.Message(), tc.want)
			}
			if len(st.Message()) > 1024 {
				t.Errorf("message is %d bytes", len(st.Message()))
			}
		})
	}
	// The refused mutating calls are audited, capped.
	recs, err := d.db.ListAudit(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Result != codes.InvalidArgument.String() || len(r.Target) > store.MaxAuditText || !utf8.ValidString(r.Target) {
			t.Errorf("audit record %+v", r)
		}
	}
	if len(recs) != 6 { // CreateSnapshot, DestroySnapshot, four Rollbacks
		t.Errorf("%d audit records, want 6", len(recs))
	}
}

func rawRollback(ctx context.Context, c *grpc.ClientConn, req rawRequest) error {
	s, err := c.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/volctl.v1.RollbackService/Rollback",
		grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		return err
	}
	if err := s.SendMsg(req); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	for {
		var m v1.RollbackResponse
		if err := s.RecvMsg(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// TestDeniedAuditCapped: a denied call's record keeps at most
// store.MaxAuditText of the target, valid UTF-8, controls escaped, with a
// marker of what was cut.
func TestDeniedAuditCapped(t *testing.T) {
	d := startDaemon(t, fakeBackend{})
	name := "pool/v@\x1b[31mred\n" + strings.Repeat("\u202eé", 1<<18)
	_, err := v1.NewSnapshotServiceClient(d.dial(t, viewerID)).CreateSnapshot(context.Background(),
		&v1.CreateSnapshotRequest{Name: name})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("CreateSnapshot = %v", err)
	}
	recs, _ := d.db.ListAudit(0, 0)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	tg := recs[0].Target
	if len(tg) > store.MaxAuditText || !utf8.ValidString(tg) || strings.ContainsAny(tg, "\x1b\n\u202e") ||
		!strings.HasPrefix(tg, `pool/v@\x1b[31mred\n\u202eé`) || !strings.Contains(tg, fmt.Sprintf("…[cut: %d bytes, sha256 ", len(name))) {
		t.Errorf("target %q", tg)
	}
}

// TestDeniedCallsRateLimited: the first deniedBurst denials of a caller in
// a window are recorded one by one, the rest in one summary when the
// window ends; other callers have windows of their own.
func TestDeniedCallsRateLimited(t *testing.T) {
	d := startDaemon(t, fakeBackend{})
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d.guard.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(dt time.Duration) { mu.Lock(); now = now.Add(dt); mu.Unlock() }
	stranger := v1.NewSnapshotServiceClient(d.dial(t, strangerID))
	viewer := v1.NewSnapshotServiceClient(d.dial(t, viewerID))
	deny := func(c v1.SnapshotServiceClient, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if _, err := c.CreateSnapshot(context.Background(), &v1.CreateSnapshotRequest{Name: "pool/v@s"}); status.Code(err) != codes.PermissionDenied {
				t.Fatalf("CreateSnapshot = %v", err)
			}
		}
	}
	count := func() (one, summaries int, last store.AuditRecord) {
		recs, _ := d.db.ListAudit(0, 0)
		for _, r := range recs {
			if strings.Contains(r.Detail, "more denied calls") {
				summaries++
				last = r
			} else {
				one++
			}
		}
		return
	}
	deny(stranger, 25)
	deny(viewer, 3)
	if one, sums, _ := count(); one != deniedBurst+3 || sums != 0 {
		t.Fatalf("after 25+3 denials: %d records, %d summaries; want %d, 0", one, sums, deniedBurst+3)
	}
	advance(deniedWindow + time.Second)
	deny(stranger, 1) // a new window: the last one's summary, then this one
	one, sums, last := count()
	if one != deniedBurst+4 || sums != 1 {
		t.Fatalf("next window: %d records, %d summaries", one, sums)
	}
	want := "15 more denied calls from uid=4242(mallory) gid=0 in the last minute (since 2026-01-02T03:04:05Z), not recorded one by one: SnapshotService/CreateSnapshot×15"
	if last.Detail != want || last.Allowed || last.Who != "uid=4242(mallory) gid=0" || last.Result != "PermissionDenied" {
		t.Errorf("summary %+v\nwant detail %q", last, want)
	}
	deny(stranger, deniedBurst+5)
	d.guard.Flush() // the daemon stopping: nothing counted is lost
	if _, sums, last = count(); sums != 2 || !strings.HasPrefix(last.Detail, "6 more denied calls") {
		t.Errorf("after Flush: %d summaries, last %q", sums, last.Detail)
	}
}

// TestDeniedFloodBoundsJournal is the load test: an unprivileged client
// makes deniedFlood denied calls with 1 MB names. The journal grows by at
// most floodGrowth, and the audit trail still answers.
func TestDeniedFloodBoundsJournal(t *testing.T) {
	const (
		deniedFlood = 200
		floodGrowth = 1 << 20 // 1 MiB: deniedBurst records of ~1 KB, a summary, and bbolt's page churn
	)
	d := startDaemon(t, fakeBackend{})
	before := fileSize(t, d.db.Path())
	c := v1.NewSnapshotServiceClient(d.dial(t, strangerID))
	name := "pool/v@" + strings.Repeat("x", 1<<20)
	start := time.Now()
	for i := 0; i < deniedFlood; i++ {
		_, err := c.CreateSnapshot(context.Background(), &v1.CreateSnapshotRequest{Name: name})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	d.guard.Flush()
	grew := fileSize(t, d.db.Path()) - before
	t.Logf("%d denied calls of 1 MB in %v: journal grew %d bytes", deniedFlood, time.Since(start), grew)
	if grew > floodGrowth {
		t.Errorf("journal grew %d bytes, bound %d", grew, floodGrowth)
	}
	resp, err := v1.NewAuditServiceClient(d.dial(t, rootID)).ListAudit(context.Background(), &v1.ListAuditRequest{})
	if err != nil {
		t.Fatalf("ListAudit after the flood: %v", err)
	}
	recs := resp.GetRecords() // newest first: the summary
	if len(recs) != deniedBurst+1 || !strings.HasPrefix(recs[0].GetDetail(), fmt.Sprintf("%d more denied calls", deniedFlood-deniedBurst)) {
		t.Errorf("%d records, newest %q", len(recs), recs[0].GetDetail())
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestListAuditReplyBounded: however big the records, a reply stays under
// the client's 4 MiB limit, and paging reaches every record: newest first
// by page_token, and oldest first by after.
func TestListAuditReplyBounded(t *testing.T) {
	d := startDaemon(t, fakeBackend{})
	const n = 120 // 120 details of 64 KiB: 7.5 MiB
	for i := 0; i < n; i++ {
		if _, err := d.db.AppendAudit(store.AuditRecord{Who: "uid=0(root) gid=0", Method: "/volctl.v1.RollbackService/Rollback",
			Allowed: true, Detail: strings.Repeat("d", store.MaxAuditDetail)}); err != nil {
			t.Fatal(err)
		}
	}
	c := v1.NewAuditServiceClient(d.dial(t, viewerID))
	list := func(req *v1.ListAuditRequest) *v1.ListAuditResponse {
		t.Helper()
		resp, err := c.ListAudit(context.Background(), req)
		if err != nil {
			t.Fatalf("ListAudit(%v): %v", req, err)
		}
		if size := proto.Size(resp); size > 4<<20 {
			t.Fatalf("reply of %d bytes", size)
		}
		return resp
	}
	var seqs []uint64
	pages := 0
	for token := ""; ; {
		resp := list(&v1.ListAuditRequest{PageToken: token})
		pages++
		for _, r := range resp.GetRecords() {
			seqs = append(seqs, r.GetSeq())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seqs) != n || pages < 3 || seqs[0] != n || seqs[n-1] != 1 || !slices.IsSortedFunc(seqs, func(a, b uint64) int { return cmp.Compare(b, a) }) {
		t.Errorf("by page_token: %d records in %d pages (seq %v), want %d newest first in 3 or more", len(seqs), pages, seqs, n)
	}
	after, got := uint64(1), 1
	pages = 0
	for {
		resp := list(&v1.ListAuditRequest{After: after})
		if resp.GetNextPageToken() != "" {
			t.Errorf("after=%d: next_page_token %q; following by after has none", after, resp.GetNextPageToken())
		}
		if len(resp.GetRecords()) == 0 {
			break
		}
		pages++
		got += len(resp.GetRecords())
		after = resp.GetRecords()[len(resp.GetRecords())-1].GetSeq()
	}
	if got != n || pages < 3 {
		t.Errorf("by after: %d records in %d pages, want %d in 3 or more", got, pages, n)
	}
	// --after 2^64-1 is past every record, not a wrap to the start.
	if resp := list(&v1.ListAuditRequest{After: ^uint64(0)}); len(resp.GetRecords()) != 0 {
		t.Errorf("ListAudit(after=2^64-1) = %d records", len(resp.GetRecords()))
	}
}

// bigPlanBackend plans a rollback with nothing to do, but an identity
// large enough (a property of planBytes) that a client that does not read
// holds up the stream.
type bigPlanBackend struct{ fakeBackend }

const planBytes = 1 << 20

func (bigPlanBackend) Capture(context.Context, execx.RunFunc, string, store.Options) (store.Identity, []string, error) {
	return store.Identity{Volume: "pool/v", Snapshot: "pool/v@s", LUs: []store.LU{{GUID: "600144F0A613C900000054521D550001",
		Properties: map[string]string{"big": strings.Repeat("p", planBytes)}}}}, nil, nil
}

// TestSlowClientAuditedWhenDecided: a rollback is audited when it is
// decided, not when a client that reads slowly (here: not at all) has read
// its stream.
func TestSlowClientAuditedWhenDecided(t *testing.T) {
	d := startDaemon(t, bigPlanBackend{})
	conn := d.dial(t, rootID, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := v1.NewRollbackServiceClient(conn).Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/v@s"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var rec *store.AuditRecord
	for rec == nil && time.Now().Before(deadline) {
		recs, _ := d.db.ListAudit(0, 0)
		for i := range recs {
			if recs[i].Method == "/volctl.v1.RollbackService/Rollback" {
				rec = &recs[i]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rec == nil {
		t.Fatal("no audit record while the client has not read its stream")
	}
	if !rec.Allowed || rec.Result != string(store.OpSucceeded) || rec.Operation == 0 || len(rec.Detail) > store.MaxAuditDetail {
		t.Errorf("audit record %+v", *rec)
	}
	// The client, reading at last, gets the whole stream.
	var final *v1.Operation
	for {
		m, err := s.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("Recv: %v", err)
			}
			break
		}
		if op := m.GetOperation(); op != nil {
			final = op
		}
	}
	if final == nil || final.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Errorf("final %v", final)
	}
}
