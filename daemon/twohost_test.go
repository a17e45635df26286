package daemon_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/volctl/volctl/client"
	"github.com/volctl/volctl/internal/devpki"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

// twoHosts is the two-host seed (sim.SeedTwoHosts) with a volctld on each:
// the storage host's drives the zone host's over mutual TLS.
type twoHosts struct {
	t             *testing.T
	storage, zone string // sim roots
	pki           devpki.Files
	sCfg, sSock   string
	zCfg, zSock   string
	zAddr         string
	storageD      *daemon
	zoneDaemon    *daemon
}

// newTwoHosts seeds the hosts and writes both configurations; extraZone
// and extraStorage are added to the zone host's and the storage host's
// top-level keys.
func newTwoHosts(t *testing.T, extraZone, extraStorage string) *twoHosts {
	t.Helper()
	h := &twoHosts{t: t}
	h.storage, h.zone = simtest.TwoHosts(t)
	var err error
	if h.pki, err = devpki.Write(t.TempDir(), "storage1", "kz-host1"); err != nil {
		t.Fatal(err)
	}
	h.zAddr = freePort(t)
	h.zCfg, h.zSock = writeConfigWith(t, h.zone, fmt.Sprintf("initiators = [%q]\n", sim.ZoneHostInitiator)+extraZone, fmt.Sprintf(`[tcp]
listen = %q
cert = %q
key = %q
client_ca = %q
[roles]
operator_uids = [%d]
peer_subjects = ["storage1"]
`, h.zAddr, h.pki.Cert["kz-host1"], h.pki.Key["kz-host1"], h.pki.CA, os.Getuid()))
	h.sCfg, h.sSock = writeConfigWith(t, h.storage, "initiators = []\n"+extraStorage, fmt.Sprintf(`[[peers]]
name = "kz-host1"
address = %q
ca = %q
subject = "kz-host1"
cert = %q
key = %q
timeout = "3s"
`, h.zAddr, h.pki.CA, h.pki.Cert["storage1"], h.pki.Key["storage1"]))
	return h
}

// start starts both daemons, the zone host's first.
func (h *twoHosts) start() {
	h.t.Helper()
	h.startZone()
	h.storageD = startDaemon(h.t, h.sCfg, h.sSock)
}

func (h *twoHosts) startZone() { h.zoneDaemon = startDaemon(h.t, h.zCfg, h.zSock) }

func (h *twoHosts) check(want simtest.Outcome, zoneState string) {
	h.t.Helper()
	if bad := simtest.CheckTwoHosts(h.storage, h.zone, want, zoneState); len(bad) > 0 {
		h.t.Fatalf("hosts not consistent (%s):\n  %s\n%s", want, strings.Join(bad, "\n  "), h.logs())
	}
}

func (h *twoHosts) logs() string {
	s, _ := os.ReadFile(h.sCfg + ".log")
	z, _ := os.ReadFile(h.zCfg + ".log")
	return "storage host's volctld:\n" + string(s) + "\nzone host's volctld:\n" + string(z)
}

func zoneadm(t *testing.T, root string, args ...string) {
	t.Helper()
	if out, err := exec.Command(sim.CommandPath(root, "zoneadm"), args...).CombinedOutput(); err != nil {
		t.Fatalf("zoneadm %v: %v %s", args, err, out)
	}
}

func hostsOf(op *v1.Operation, step string) []string {
	var hosts []string
	for _, s := range op.GetSteps() {
		if s.GetName() != step {
			continue
		}
		for _, c := range append(s.GetCommands(), s.GetCompensationCommands()...) {
			hosts = append(hosts, c.GetHost()+" "+filepath.Base(c.GetArgv()[0])+" "+strings.Join(c.GetArgv()[1:], " "))
		}
	}
	return hosts
}

// TestTwoHostsRollback: the seed's rollback with kz1 on the zone host. The
// zone is detached there before the LU goes and attached with fresh host
// data after; the storage host's journal names the zone host for every
// command it ran, and both audits show the calls. Running, kz1 is shut
// down and booted again there.
func TestTwoHostsRollback(t *testing.T) {
	for _, running := range []bool{false, true} {
		t.Run(fmt.Sprintf("running=%v", running), func(t *testing.T) {
			h := newTwoHosts(t, "", "")
			want := sim.ZoneInstalled
			if running {
				zoneadm(t, h.zone, "-z", "kz1", "boot")
				want = sim.ZoneRunning
			}
			h.start()
			c := h.storageD.client()
			ctx := context.Background()
			if running {
				_, err := c.Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1"}, nil)
				if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "running on peer kz-host1") {
					t.Fatalf("without --halt-zones: %v, want FailedPrecondition naming the peer", err)
				}
			}
			op, err := c.Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1", Options: &v1.RollbackOptions{HaltZones: true}}, nil)
			if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
				t.Fatalf("rollback: %v (%s)\n%s", err, op.GetState(), h.logs())
			}
			h.check(simtest.AtSnapshot, want)
			full, err := c.Operations.GetOperation(ctx, &v1.GetOperationRequest{Id: op.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			if capture := hostsOf(full.GetOperation(), "capture"); !slices.Contains(capture, "kz-host1 zoneadm list -cp") {
				t.Errorf("capture ran %q, want the zone host's zoneadm list -cp named", capture)
			}
			detach := hostsOf(full.GetOperation(), "detach-zones")
			if !slices.Contains(detach, "kz-host1 zoneadm -z kz1 detach") {
				t.Errorf("detach-zones ran %q, want zoneadm -z kz1 detach on kz-host1", detach)
			}
			attach := hostsOf(full.GetOperation(), "attach-zones")
			if !slices.Contains(attach, "kz-host1 zoneadm -z kz1 attach -x initialize-hostdata") {
				t.Errorf("attach-zones ran %q, want attach -x initialize-hostdata on kz-host1", attach)
			}
			// The plan named the zone host for those commands too.
			var planned []string
			for _, s := range full.GetOperation().GetPlan().GetSteps() {
				for _, pc := range s.GetCommands() {
					if pc.GetHost() != "" {
						planned = append(planned, pc.GetHost()+" "+strings.Join(pc.GetArgv()[1:], " "))
					}
				}
			}
			if !slices.Contains(planned, "kz-host1 -z kz1 detach") {
				t.Errorf("plan's remote commands %q, want the detach on kz-host1", planned)
			}
			// Both audits.
			za, err := h.zoneDaemon.client().Audit.ListAudit(ctx, &v1.ListAuditRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var zoneCalls []string
			for _, r := range za.GetRecords() {
				if strings.Contains(r.GetMethod(), "ZoneService/ZoneAction") {
					zoneCalls = append(zoneCalls, r.GetWho()+" "+r.GetTarget()+" "+r.GetResult())
				}
			}
			// Newest first: the first zone call is the last.
			if len(zoneCalls) < 2 || zoneCalls[len(zoneCalls)-1] != "cert:CN=storage1 zone kz1 done" {
				t.Errorf("zone host's audit of zone calls: %q", zoneCalls)
			}
			sa, err := c.Audit.ListAudit(ctx, &v1.ListAuditRequest{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range sa.GetRecords() {
				if strings.HasPrefix(r.GetMethod(), "peer kz-host1: ") {
					n++
				}
			}
			if n < 3 {
				t.Errorf("storage host's audit has %d peer calls, want the find and every zone action", n)
			}
			// And the zone boots from the rolled-back disk with its new key.
			if !running {
				zoneadm(t, h.zone, "-z", "kz1", "boot")
			}
		})
	}
}

// TestTwoHostsPeerDown: a zone host whose volctld does not answer stops
// the rollback, naming it, before anything changes; --skip-peer NAME goes
// on (the plan says so), and an unknown name is refused as bad input.
func TestTwoHostsPeerDown(t *testing.T) {
	h := newTwoHosts(t, "", "")
	h.storageD = startDaemon(t, h.sCfg, h.sSock)
	c := h.storageD.client()
	ctx := context.Background()
	_, err := c.Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1"}, nil)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "peer kz-host1 at "+h.zAddr+" did not answer: Unavailable: connection refused") {
		t.Fatalf("with the zone host's volctld down: %v, want FailedPrecondition naming kz-host1", err)
	}
	h.check(simtest.Untouched, sim.ZoneInstalled)
	_, err = c.Rollbacks.PlanRollback(ctx, &v1.PlanRollbackRequest{Snapshot: "pool/idisk0@snap1",
		Options: &v1.RollbackOptions{SkipPeers: []string{"kz-host9"}}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "kz-host9") {
		t.Errorf("--skip-peer kz-host9: %v, want InvalidArgument", err)
	}
	// Skipped, its initiator's sessions are those of an unknown consumer.
	_, err = c.Rollbacks.PlanRollback(ctx, &v1.PlanRollbackRequest{Snapshot: "pool/idisk0@snap1",
		Options: &v1.RollbackOptions{SkipPeers: []string{"kz-host1"}}})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "peer kz-host1 did not answer, so its initiators are not known") {
		t.Errorf("--skip-peer alone: %v, want the sessions refused, saying why", err)
	}
	plan, err := c.Rollbacks.PlanRollback(ctx, &v1.PlanRollbackRequest{Snapshot: "pool/idisk0@snap1",
		Options: &v1.RollbackOptions{SkipPeers: []string{"kz-host1"}, AcceptSessions: true}})
	if err != nil {
		t.Fatalf("plan skipping kz-host1: %v", err)
	}
	if !slices.ContainsFunc(plan.GetPlan().GetWarnings(), func(w string) bool {
		return strings.Contains(w, "did not answer") && strings.Contains(w, "skipped (skip_peers)")
	}) {
		t.Errorf("plan warnings %q: want the skipped peer named", plan.GetPlan().GetWarnings())
	}
}

// TestTwoHostsUnexpectedSession: an initiator that is not the zone host's
// logged in to a target that exposes the LU is listed and refuses the
// rollback until --accept-sessions. Logged in to tgt-a it sees nothing
// (the view there is for host group hg-kz); on tgt-b it sees the LU
// (the view there is for all hosts).
func TestTwoHostsUnexpectedSession(t *testing.T) {
	h := newTwoHosts(t, "", "")
	if err := sim.AddSession(h.storage, sim.SeedTargetA, "iqn.1991-05.com.microsoft:win0", "win0"); err != nil {
		t.Fatal(err)
	}
	h.start()
	c := h.storageD.client()
	ctx := context.Background()
	plan, err := c.Rollbacks.PlanRollback(ctx, &v1.PlanRollbackRequest{Snapshot: "pool/idisk0@snap1"})
	if err != nil {
		t.Fatalf("with win0 on tgt-a, outside hg-kz: %v, want a plan", err)
	}
	if slices.ContainsFunc(plan.GetPlan().GetWarnings(), func(w string) bool { return strings.Contains(w, "win0") }) {
		t.Errorf("plan warnings %q: win0 cannot see the LU", plan.GetPlan().GetWarnings())
	}
	if err := sim.AddSession(h.storage, sim.SeedTargetB, "iqn.1991-05.com.microsoft:win1", "win1"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1"}, nil)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "iqn.1991-05.com.microsoft:win1") ||
		!strings.Contains(err.Error(), "needs consent accept_sessions") {
		t.Fatalf("with win1 logged in: %v, want FailedPrecondition naming it and consent accept_sessions", err)
	}
	h.check(simtest.Untouched, sim.ZoneInstalled)
	op, err := c.Rollback(ctx, &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1", Options: &v1.RollbackOptions{AcceptSessions: true}}, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("with --accept-sessions: %v\n%s", err, h.logs())
	}
	if !slices.ContainsFunc(op.GetPlan().GetWarnings(), func(w string) bool { return strings.Contains(w, "win1") }) {
		t.Errorf("plan warnings %q: want win1 listed", op.GetPlan().GetWarnings())
	}
	h.check(simtest.AtSnapshot, sim.ZoneInstalled)
}

// TestPeerRoleIsTheZoneServiceOnly: the storage host's certificate may
// call the zone service and nothing else; an operator may not call the
// zone service.
func TestPeerRoleIsTheZoneServiceOnly(t *testing.T) {
	h := newTwoHosts(t, "", "")
	h.startZone()
	tc, err := client.TLSConfig(h.pki.Cert["storage1"], h.pki.Key["storage1"], h.pki.CA, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(h.zAddr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	found, err := v1.NewZoneServiceClient(conn).FindZones(ctx, &v1.FindZonesRequest{Zone: "kz1"})
	if err != nil {
		t.Errorf("peer FindZones: %v", err)
	}
	// The zone host's global zone's hostid (hostid(1)), and kz1 with its
	// state and devices.
	if found.GetHostid() != sim.ZoneHostID || len(found.GetZones()) != 1 || found.GetZones()[0].GetState() != "installed" ||
		len(found.GetZones()[0].GetDevices()) != 1 || found.GetInitiators()[0] != sim.ZoneHostInitiator {
		t.Errorf("FindZones = %v", found)
	}
	_, err = v1.NewOperationServiceClient(conn).ListOperations(ctx, &v1.ListOperationsRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("peer ListOperations: %v, want PermissionDenied", err)
	}
	_, err = v1.NewZoneServiceClient(h.zoneDaemon.client().Conn()).FindZones(ctx, &v1.FindZonesRequest{Zone: "kz1"})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("operator FindZones over the socket: %v, want PermissionDenied", err)
	}
}

// TestTwoHostsForceTakeover: with --keep-hostdata the rolled-back disk
// keeps the snapshot's host data, here claimed by another host (the zone
// ran on the storage host when the snapshot was taken). The plain attach
// on the zone host is refused "in use by host"; no other host has the
// zone configured, so volctl takes it over (attach -x force-takeover).
func TestTwoHostsForceTakeover(t *testing.T) {
	h := newTwoHosts(t, "", "")
	if err := sim.Update(h.storage, func(s *sim.State) error {
		d := s.Zvol("pool/idisk0")
		d.HostData = &sim.HostData{KeyID: sim.SeedZoneKey, Owner: s.HostID, Hostname: s.Hostname, State: sim.ZoneInstalled}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"snapshot", "pool/idisk0@moved"}} {
		if out, err := exec.Command(sim.CommandPath(h.storage, "zfs"), args...).CombinedOutput(); err != nil {
			t.Fatalf("zfs %v: %v %s", args, err, out)
		}
	}
	if err := sim.Update(h.storage, func(s *sim.State) error {
		s.Zvol("pool/idisk0").HostData = &sim.HostData{KeyID: sim.SeedZoneKey, Owner: sim.ZoneHostID, Hostname: sim.ZoneHostname, State: sim.ZoneInstalled}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.start()
	op, err := h.storageD.client().Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@moved",
		Options: &v1.RollbackOptions{KeepHostdata: true}}, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("rollback: %v\n%s", err, h.logs())
	}
	full, err := h.storageD.client().Operations.GetOperation(context.Background(), &v1.GetOperationRequest{Id: op.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	attach := hostsOf(full.GetOperation(), "attach-zones")
	if !slices.Contains(attach, "kz-host1 zoneadm -z kz1 attach") || !slices.Contains(attach, "kz-host1 zoneadm -z kz1 attach -x force-takeover") {
		t.Errorf("attach-zones ran %q, want a plain attach refused, then force-takeover, on kz-host1", attach)
	}
	zst, _ := sim.Load(h.zone)
	st, _ := sim.Load(h.storage)
	if z := zst.Zone("kz1"); z.State != sim.ZoneInstalled || st.Zvol("pool/idisk0").HostData.Owner != sim.ZoneHostID {
		t.Errorf("kz1 %s, host data %+v: want installed and claimed by the zone host", z.State, st.Zvol("pool/idisk0").HostData)
	}
}

// TestTwoHostsSnapshotZone: a zone on the zone host is snapshotted by
// name from the storage host: its devices come from the peer, its volumes
// from the storage host's LUs.
func TestTwoHostsSnapshotZone(t *testing.T) {
	h := newTwoHosts(t, "", "")
	h.start()
	resp, err := h.storageD.client().Snapshots.CreateSnapshot(context.Background(), &v1.CreateSnapshotRequest{Zone: "kz1", Name: "before-upgrade"})
	if err != nil {
		t.Fatalf("snapshot --zone kz1: %v\n%s", err, h.logs())
	}
	var names []string
	for _, s := range resp.GetSnapshots() {
		names = append(names, s.GetName())
	}
	if !slices.Equal(names, []string{"pool/idisk0@before-upgrade"}) {
		t.Errorf("snapshots %v, want kz1's one disk", names)
	}
	op, err := h.storageD.client().Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "before-upgrade", Zone: "kz1"}, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("rollback --zone kz1: %v\n%s", err, h.logs())
	}
}
