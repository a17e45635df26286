package daemon_test

import (
	"context"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

// TestPeerRestartedIsUsed: the zone host's volctld stops (SIGTERM as the
// demo's "it is back" step, then SIGKILL), the storage host is asked to
// plan (refused: the peer is down, named, skip_peers advised), the zone
// host stays down until the storage host's reconnect backoff is at its
// longest (as after a reboot), its volctld starts again and the storage
// host is asked at once: it must use it. A rollback through it ends the
// test. Before, the storage host's connection stayed in TRANSIENT_FAILURE
// until its next reconnect attempt, up to 2 s later, and the call right
// after the restart was refused as if the peer were still down (make
// demo-two-hosts failed so in 2 to 8 runs of 10, issue 21).
//
// Twenty restarts in a row run in one process in daemon/peers
// (TestRestartedPeerIsUsed, against a zone service on loopback, 2 s):
// twenty runs of scripts/demo-two-hosts.sh would add minutes to make test,
// and twenty restarts of volctld here take 35 to 85 s, most of it starting
// volctld, and without the wait for the backoff they pass before the fix
// too.
func TestPeerRestartedIsUsed(t *testing.T) {
	h := newTwoHosts(t, "", "")
	h.start()
	c := h.storageD.client()
	ctx := context.Background()
	plan := func() error {
		_, err := c.Rollbacks.PlanRollback(ctx, &v1.PlanRollbackRequest{Snapshot: "pool/idisk0@snap1"})
		return err
	}
	if err := plan(); err != nil {
		t.Fatalf("plan with both hosts up: %v\n%s", err, h.logs())
	}
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		signalAndWait(h.zoneDaemon, sig)
		err := plan()
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "peer kz-host1 at "+h.zAddr+" did not answer: Unavailable: connection refused") ||
			!strings.Contains(err.Error(), "skip_peers") {
			t.Fatalf("the zone host's volctld is down (%s): %v, want it refused, named, skip_peers advised", sig, err)
		}
		waitLongBackoff(t, h.zAddr)
		h.startZone()
		if err := plan(); err != nil {
			t.Fatalf("the zone host's volctld serves again (after %s), the storage host's plan right after: %v\n%s", sig, err, h.logs())
		}
	}
	op, err := c.Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1"}, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("rollback right after the zone host's volctld restarted: %v (%s)\n%s", err, op.GetState(), h.logs())
	}
	h.check(simtest.AtSnapshot, sim.ZoneInstalled)
}

// waitLongBackoff holds the zone host's address while its volctld is down
// and drops the storage host's reconnection attempts until two come 1 s
// apart or more: its backoff (200 ms, x1.6, jitter 0.2, at most 2 s,
// daemon/peers) is then at its longest, and its next attempt at least
// 1.6 s away, longer than the zone host's volctld takes to start here.
func waitLongBackoff(t *testing.T, addr string) {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	if err := lis.(*net.TCPListener).SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for {
		conn, err := lis.Accept()
		if err != nil {
			t.Fatalf("the storage host's reconnection attempts: %v", err)
		}
		conn.Close()
		now := time.Now()
		if !last.IsZero() && now.Sub(last) >= time.Second {
			return
		}
		last = now
	}
}

// signalAndWait stops a daemon with sig and waits for it to exit.
func signalAndWait(d *daemon, sig os.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
	_ = d.cmd.Wait()
}
