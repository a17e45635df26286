package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/proto"

	"github.com/volctl/volctl/daemon/auth"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/store"
)

// endedOp is a succeeded operation whose replay is about 50 KB in 20
// messages: three steps of two commands with 4 KB of output each (in the
// plan and in the commands' ends). It fits gRPC's 64 KiB write quota, so
// a watch's handler ends even when its client does not read.
func endedOp(id uint64) *store.Operation {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	op := &store.Operation{ID: id, Kind: "rollback", Platform: "fake", Volume: "pool/v", Snapshot: "pool/v@s", State: store.OpSucceeded,
		Created: t0, Updated: t0.Add(time.Minute), Steps: []store.Step{{Name: "capture", State: store.StepDone}}}
	for i := 0; i < 3; i++ {
		st := store.Step{Name: fmt.Sprintf("step%d", i), State: store.StepDone, Started: t0, Finished: t0.Add(time.Second)}
		for j := 0; j < 2; j++ {
			st.Commands = append(st.Commands, store.Command{Argv: []string{"/usr/sbin/zfs", "list", fmt.Sprint(j)}, Started: t0,
				Duration: time.Millisecond, Stdout: strings.Repeat(fmt.Sprint(j), 4000)})
		}
		op.Steps = append(op.Steps, st)
	}
	return op
}

// watchAll reads a whole watch: the encoded messages and the status.
func watchAll(t *testing.T, conn *grpc.ClientConn, id uint64) ([][]byte, error) {
	t.Helper()
	s, err := v1.NewOperationServiceClient(conn).WatchOperation(context.Background(), &v1.WatchOperationRequest{Id: id})
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		out = append(out, b)
	}
}

// TestWatchEndedShared: watchers of an ended operation get the same
// stream from one encoded copy as the engine's replay makes it; once the
// operation is journaled again (a recovery), watchers get the new record,
// not the copy.
func TestWatchEndedShared(t *testing.T) {
	d, srv := watchDaemon(t, fakeBackend{})
	op := endedOp(1)
	if err := d.db.PutOperation(op); err != nil {
		t.Fatal(err)
	}
	a, err := watchAll(t, d.dial(t, viewerID), 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := watchAll(t, d.dial(t, rootID), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2+3*(2+2*2)+1 || len(a) != len(b) { // capture, plan, 3 steps, the operation
		t.Fatalf("%d and %d messages, want %d", len(a), len(b), 2+3*6+1)
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			t.Fatalf("message %d differs between two watchers", i)
		}
	}
	srv.replays.mu.Lock()
	n := len(srv.replays.entries)
	srv.replays.mu.Unlock()
	if n != 1 {
		t.Errorf("%d cached replays, want 1", n)
	}
	// Recovered meanwhile: rolled back now.
	op.State, op.Updated = store.OpRolledBack, op.Updated.Add(time.Hour)
	op.Steps[3].State = store.StepCompensated
	if err := d.db.PutOperation(op); err != nil {
		t.Fatal(err)
	}
	c, err := watchAll(t, d.dial(t, viewerID), 1)
	var last v1.WatchOperationResponse
	if len(c) > 0 {
		_ = proto.Unmarshal(c[len(c)-1], &last)
	}
	if err == nil || last.GetOperation().GetState() != v1.OperationState_OPERATION_STATE_ROLLED_BACK {
		t.Errorf("after the operation changed: %v, last %v; want the rolled back record and its error", err, last.GetOperation().GetState())
	}
}

// endCounter counts the WatchOperation calls whose handler has returned.
type endCounter struct{ n atomic.Int64 }

func (c *endCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (c *endCounter) HandleConn(context.Context, stats.ConnStats)                       {}
func (c *endCounter) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if strings.HasSuffix(info.FullMethodName, "/WatchOperation") {
		ctx = context.WithValue(ctx, endCounter{}, true)
	}
	return ctx
}
func (c *endCounter) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if _, ok := s.(*stats.End); ok && ctx.Value(endCounter{}) != nil {
		c.n.Add(1)
	}
}

// rawWatches opens a connection as id that starts n WatchOperation calls
// of operation op and never reads: no flow-control window is granted, so
// whatever the server sends stays with it (a client that asked and does
// not read, at its worst).
func rawWatches(t *testing.T, sock string, id *auth.Identity, op uint64, n int) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	who, _ := json.Marshal(id)
	buf := append(who, '\n') // prefaceCreds
	buf = append(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"...)
	buf = h2frame(buf, 0x4, 0, 0, nil) // SETTINGS
	req, _ := proto.Marshal(&v1.WatchOperationRequest{Id: op})
	msg := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(req))), req...)
	var hdrs []byte
	for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/volctl.v1.OperationService/WatchOperation"},
		{":authority", "localhost"}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
		// HPACK: a literal field without indexing, plain strings.
		hdrs = append(append(append(append(hdrs, 0, byte(len(kv[0]))), kv[0]...), byte(len(kv[1]))), kv[1]...)
	}
	for i := 0; i < n; i++ {
		sid := uint32(2*i + 1)
		buf = h2frame(buf, 0x1, 0x4, sid, hdrs) // HEADERS, END_HEADERS
		buf = h2frame(buf, 0x0, 0x1, sid, msg)  // DATA, END_STREAM
	}
	if _, err := c.Write(buf); err != nil {
		t.Fatal(err)
	}
	return c
}

func h2frame(b []byte, typ, flags byte, sid uint32, payload []byte) []byte {
	n := len(payload)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags)
	return append(binary.BigEndian.AppendUint32(b, sid), payload...)
}

// inUse is the heap and stack the process holds after a collection.
func inUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}

// TestWatchEndedMemoryPerStream: 400 watches of an ended operation whose
// replay is about 40 KB, from clients that never read, hold at most
// maxPerStream each: the replay is encoded once and shared; what a stream
// holds is gRPC's bookkeeping of its frames (issue 19: about 97 KB a
// stream, 2.9 GB for 30 connections x 500 streams).
func TestWatchEndedMemoryPerStream(t *testing.T) {
	const (
		conns, perConn = 4, 100
		maxPerStream   = 12 << 10
	)
	ends := &endCounter{}
	d, srv := watchDaemon(t, fakeBackend{}, grpc.StatsHandler(ends))
	srv.SetWatchLimits(0, 0) // measured here, bounded in TestWatchLimits
	if err := d.db.PutOperation(endedOp(1)); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "w")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	// The same services on a unix socket (watchDaemon's gRPC server
	// serves bufconn; a second server shares the engine).
	g := grpc.NewServer(grpc.Creds(prefaceCreds{insecure.NewCredentials()}), grpc.ForceServerCodecV2(Codec()), grpc.StatsHandler(srv.ConnTags()),
		grpc.StatsHandler(ends), grpc.ChainStreamInterceptor(d.guard.Stream()))
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	// One watch first, read whole: what is built once is not per stream.
	first, err := grpc.NewClient("passthrough:///unix", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, "unix", sock)
			if err == nil {
				who, _ := json.Marshal(viewerID)
				_, err = c.Write(append(who, '\n'))
			}
			return c, err
		}))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := watchAll(t, first, 1)
	first.Close()
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	ends.n.Store(0)
	before := inUse()
	for i := 0; i < conns; i++ {
		rawWatches(t, sock, viewerID, 1, perConn)
	}
	deadline := time.Now().Add(60 * time.Second)
	for ends.n.Load() < conns*perConn && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := ends.n.Load(); got < conns*perConn {
		t.Fatalf("%d of %d watches ended their handler", got, conns*perConn)
	}
	per := (inUse() - before) / (conns * perConn)

	t.Logf("%d watches of a %d-byte replay that nobody reads: %d bytes each", conns*perConn, size, per)
	if per > maxPerStream {
		t.Errorf("each watch holds %d bytes, bound %d (the replay is %d bytes)", per, maxPerStream, size)
	}
}
