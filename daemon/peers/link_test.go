package peers

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"

	"github.com/volctl/volctl/daemon/auth"
	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/internal/devpki"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// zoneHost answers the zone service as a zone host's volctld would, with
// nothing on it.
type zoneHost struct {
	v1.UnimplementedZoneServiceServer
}

func (zoneHost) FindZones(context.Context, *v1.FindZonesRequest) (*v1.FindZonesResponse, error) {
	return &v1.FindZonesResponse{Hostname: "kz-host1"}, nil
}

func (zoneHost) ZoneAction(context.Context, *v1.ZoneActionRequest) (*v1.ZoneActionResponse, error) {
	return &v1.ZoneActionResponse{State: "installed"}, nil
}

// rig is a zone host's zone service over mutual TLS on loopback and the
// storage host's Set configured for it.
type rig struct {
	t    *testing.T
	pki  devpki.Files
	addr string
	srv  *grpc.Server
	set  *Set
}

func newRig(t *testing.T) *rig {
	t.Helper()
	pki, err := devpki.Write(t.TempDir(), "storage1", "kz-host1")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, pki: pki}
	r.serve("127.0.0.1:0")
	r.set, err = New([]config.Peer{{Name: "kz-host1", Address: r.addr, CA: pki.CA, Subject: "kz-host1",
		Cert: pki.Cert["storage1"], Key: pki.Key["storage1"], Timeout: config.Duration{Duration: 3 * time.Second}}}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.set.Close(); r.srv.Stop() })
	return r
}

// serve starts the zone service at addr (the same port again after a stop).
func (r *rig) serve(addr string) {
	r.t.Helper()
	tc, err := auth.ServerTLS(r.pki.Cert["kz-host1"], r.pki.Key["kz-host1"], r.pki.CA)
	if err != nil {
		r.t.Fatal(err)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.addr = lis.Addr().String()
	r.srv = grpc.NewServer(grpc.Creds(credentials.NewTLS(tc)))
	v1.RegisterZoneServiceServer(r.srv, zoneHost{})
	go func() { _ = r.srv.Serve(lis) }()
}

// notReady waits until the storage host's channel has seen the zone host
// go (a call made before that fails on the closing connection instead).
func (r *rig) notReady() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := r.set.peers[0].link.cur.conn
	for conn.GetState() == connectivity.Ready {
		if !conn.WaitForStateChange(ctx, connectivity.Ready) {
			r.t.Fatal("the channel is still READY 10 s after the zone host stopped")
		}
	}
}

func (r *rig) find() zones.Report {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.set.Find(ctx, zones.Query{Zone: "kz1"})[0]
}

// TestRestartedPeerIsUsed: a zone host's volctld stops (the storage host's
// call is refused, at once, saying the connection was refused), starts
// again on the same address, and the very next call uses it, 20 times in
// a row. Before, the channel stayed in TRANSIENT_FAILURE until its
// reconnect backoff ran out, and the call was refused with the old error.
func TestRestartedPeerIsUsed(t *testing.T) {
	r := newRig(t)
	if rep := r.find(); rep.Err != nil || rep.Hostname != "kz-host1" {
		t.Fatalf("first call: %+v", rep)
	}
	for i := range 20 {
		if i%2 == 0 {
			r.srv.GracefulStop()
		} else {
			r.srv.Stop()
		}
		r.notReady()
		// Down, it is refused, and again: a peer that is down is not hidden
		// and not waited for until the deadline.
		for range 2 {
			rep := r.find()
			if rep.Err == nil || !strings.Contains(rep.Err.Error(), "did not answer: Unavailable: connection refused") {
				t.Fatalf("restart %d: with the peer down: %v, want Unavailable: connection refused", i, rep.Err)
			}
		}
		r.serve(r.addr)
		if rep := r.find(); rep.Err != nil || rep.Hostname != "kz-host1" {
			t.Fatalf("restart %d: the peer serves again, the next call: %v", i, rep.Err)
		}
		if _, err := r.set.Act(context.Background(), "kz-host1", "key", "kz1", zones.Detach, time.Second); err != nil {
			t.Fatalf("restart %d: zone action: %v", i, err)
		}
	}
}

// TestReplacedChannelOutlivesItsCalls: a channel replaced because it failed
// is closed when the last call that took it ends, not under it; closing the
// Set closes every channel at once.
func TestReplacedChannelOutlivesItsCalls(t *testing.T) {
	r := newRig(t)
	r.srv.Stop()
	l := r.set.peers[0].link
	zs, done := l.use()
	first := l.cur.conn
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := zs.FindZones(ctx, &v1.FindZonesRequest{}); err == nil {
		t.Fatal("the peer is down, the call succeeded")
	}
	for st := first.GetState(); st != connectivity.TransientFailure; st = first.GetState() {
		if !first.WaitForStateChange(ctx, st) {
			t.Fatalf("after a refused connection the channel is %s, want TRANSIENT_FAILURE", st)
		}
	}
	_, done2 := l.use()
	if l.cur.conn == first {
		t.Fatal("a channel in TRANSIENT_FAILURE was not replaced")
	}
	if st := first.GetState(); st == connectivity.Shutdown {
		t.Fatal("the replaced channel was closed while a call held it")
	}
	done()
	done() // twice is once
	if st := first.GetState(); st != connectivity.Shutdown {
		t.Fatalf("the replaced channel is %s after its last call, want SHUTDOWN", st)
	}
	second := l.cur.conn
	r.set.Close()
	if st := second.GetState(); st != connectivity.Shutdown {
		t.Fatalf("after Close the channel in use is %s, want SHUTDOWN", st)
	}
	done2()
}
