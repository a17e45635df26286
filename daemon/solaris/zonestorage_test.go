package solaris_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/solaris"
	"github.com/volctl/volctl/daemon/zonehost"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// Zones on every form of storage a zone can name a volume by
// (docs/platform/zone-storage.md): each is found at capture and stopped
// (or the rollback refused), and a reference volctl cannot read is a
// refusal naming the zone.

// setStorage points kz1's boot device at ref.
func setStorage(t *testing.T, root, ref string) {
	t.Helper()
	if err := sim.SetDeviceStorage(root, "kz1", 0, ref); err != nil {
		t.Fatal(err)
	}
}

// wantRunningRefused rolls back snap with opts and wants the consent for
// the running zone.
func wantRunningRefused(t *testing.T, e *engine.Engine, root, snap, zone string, opts store.Options) {
	t.Helper()
	before := len(mutating(t, root))
	_, _, err := rollback(t, e, snap, opts)
	if !errors.Is(err, engine.ErrNeedsConsent) || !strings.Contains(err.Error(), "zone "+zone+" is running") ||
		!strings.Contains(err.Error(), "needs consent halt_zones") {
		t.Fatalf("rollback %s: %v, want a consent (halt_zones) for the running %s", snap, err, zone)
	}
	if got := mutating(t, root); len(got) > before {
		t.Errorf("refused rollback changed the host: %v", got[before:])
	}
}

// TestTargetLUNZoneRunning is the repro: kz1 boots from LU
// SeedGUID0 named by target and LUN (view 1: tg-b, LUN 7) and runs; a
// rollback with only accept_sessions is refused for the running zone
// (before: "succeeded", kz1 still running on the rolled-back disk).
func TestTargetLUNZoneRunning(t *testing.T) {
	root := kzHost(t)
	setStorage(t, root, "iscsi://127.0.0.1:3260/target."+sim.SeedTargetB+",lun.7")
	host(t, root, "zoneadm", "-z", "kz1", "boot")
	e, _ := newEngine(t, root, engine.Config{})
	wantRunningRefused(t, e, root, "pool/idisk0@snap1", "kz1", store.Options{AcceptSessions: true})
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{AcceptSessions: true, HaltZones: true})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("with halt_zones: %v", err)
	}
	if len(op.Identity.Zones) != 1 || op.Identity.Zones[0].Storage[0] != "iscsi://127.0.0.1:3260/target."+sim.SeedTargetB+",lun.7" {
		t.Errorf("zones %+v", op.Identity.Zones)
	}
	simtest.MustZone(t, root, simtest.AtSnapshot, sim.ZoneRunning)
}

// kdisk adds pool/kdisk0, a volume no LU holds, with kz1's host data and
// a snapshot @s1, and boots kz1 from it through ref.
func kdisk(t *testing.T, root, ref string) {
	t.Helper()
	if err := sim.Update(root, func(s *sim.State) error {
		d := *s.Zvol("pool/idisk0")
		d.Name, d.Props, d.Snapshots = "pool/kdisk0", nil, nil
		s.Datasets = append(s.Datasets, &d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	host(t, root, "zfs", "snapshot", "pool/kdisk0@s1")
	setStorage(t, root, ref)
	host(t, root, "zoneadm", "-z", "kz1", "boot")
}

// TestDevPathZoneRunning: kz1 on a zvol named by a dev: path with "//"
// (and the other dev: forms) is found: its running is refused without
// halt_zones.
func TestDevPathZoneRunning(t *testing.T) {
	for _, ref := range []string{"dev:/dev/zvol/dsk/pool//kdisk0", "dev:zvol/rdsk/pool/./kdisk0", "dev:///dev/zvol/dsk/pool/kdisk0",
		"match=/dev/zvol/rdsk/pool//kdisk0"} {
		root := kzHost(t)
		kdisk(t, root, ref)
		e, _ := newEngine(t, root, engine.Config{})
		wantRunningRefused(t, e, root, "pool/kdisk0@s1", "kz1", store.Options{})
	}
}

// TestGUIDDiskZoneRunning: kz1's device named by the multipath disk name
// that carries the LU's GUID (a dev: URI, or a kernel zone's match=).
func TestGUIDDiskZoneRunning(t *testing.T) {
	for _, ref := range []string{"dev:/dev/dsk/c0t" + sim.SeedGUID0 + "d0", "match=/dev/rdsk/c0t" + strings.ToLower(sim.SeedGUID0) + "d0"} {
		root := kzHost(t)
		setStorage(t, root, ref)
		host(t, root, "zoneadm", "-z", "kz1", "boot")
		e, _ := newEngine(t, root, engine.Config{})
		wantRunningRefused(t, e, root, "pool/idisk0@snap1", "kz1", store.Options{AcceptSessions: true})
	}
}

// TestZOSSZones: solaris-brand zones on shared storage, a rootzpool on
// LU SeedGUID0 (named by GUID) and a zpool on LU SeedGUID1 (named by
// target and LUN), are consumers: refused while running, stopped,
// detached, attached (plain attach: no host data) and booted with
// halt_zones; installed ones are detached and attached.
func TestZOSSZones(t *testing.T) {
	root := kzHost(t)
	lu0 := "iscsi://127.0.0.1:3260/luname.naa." + strings.ToLower(sim.SeedGUID0)
	if err := sim.AddZone(root, sim.ZoneSpec{Name: "zoss1", Brand: "solaris", State: sim.ZoneRunning, RootZpool: []string{lu0}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddZone(root, sim.ZoneSpec{Name: "zoss2", Brand: "solaris",
		Zpools: []*sim.ZonePool{{Name: "data", Storage: []string{"iscsi:///target." + sim.SeedTargetA + ",lun.1"}}}}); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{})
	wantRunningRefused(t, e, root, "pool/idisk0@snap1", "zoss1", store.Options{AcceptSessions: true})
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("with halt_zones: %v", err)
	}
	var names []string
	for _, z := range op.Identity.Zones {
		names = append(names, z.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"kz1", "zoss1"}) {
		t.Errorf("zones %v, want kz1 and zoss1", names)
	}
	calls := mutating(t, root)
	for _, want := range []string{"zoneadm -z zoss1 shutdown", "zoneadm -z zoss1 detach", "zoneadm -z zoss1 attach", "zoneadm -z zoss1 boot",
		"zoneadm -z kz1 attach -x initialize-hostdata"} {
		if !slices.Contains(calls, want) {
			t.Errorf("calls %q: want %q", calls, want)
		}
	}
	st, err := sim.Load(root)
	if err != nil || st.Zone("zoss1").State != sim.ZoneRunning {
		t.Errorf("zoss1 after the rollback: %v", err)
	}
	op, _, err = rollback(t, e, "pool/idisk1@base", store.Options{})
	if err != nil || op.State != store.OpSucceeded || len(op.Identity.Zones) != 1 || op.Identity.Zones[0].Name != "zoss2" {
		t.Fatalf("pool/idisk1 (zoss2's zpool by target and LUN): %v %+v", err, op)
	}
}

// TestIllumosDeviceMatch: an illumos zone with a device match of the
// volume (the path cleaned) is found: refused while running, stopped,
// detached, attached and booted with halt_zones; zoneadm list -p prints 7
// fields there.
func TestIllumosDeviceMatch(t *testing.T) {
	root := simtest.HostFlavor(t, sim.FlavorIllumos)
	if err := sim.AddZone(root, sim.ZoneSpec{Name: "web1", Brand: "ipkg", State: sim.ZoneRunning,
		Devices: []string{"match=/dev/zvol/rdsk/pool//idisk0"}}); err != nil {
		t.Fatal(err)
	}
	if out := host(t, root, "zoneadm", "list", "-cp"); strings.Count(strings.Split(out, "\n")[1], ":") != 6 {
		t.Fatalf("illumos zoneadm list -cp: %q, want 7 fields", out)
	}
	e, _ := newEngine(t, root, engine.Config{})
	wantRunningRefused(t, e, root, "pool/idisk0@snap1", "web1", store.Options{})
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("with halt_zones: %v", err)
	}
	calls := mutating(t, root)
	for _, want := range []string{"zoneadm -z web1 shutdown", "zoneadm -z web1 detach", "zoneadm -z web1 attach", "zoneadm -z web1 boot"} {
		if !slices.Contains(calls, want) {
			t.Errorf("calls %q: want %q", calls, want)
		}
	}
}

// TestUnmappableStorageRefused: a zone whose storage volctl cannot read
// stops the rollback, naming the zone and the reference, on every flavor.
func TestUnmappableStorageRefused(t *testing.T) { simtest.ForFlavors(t, testUnmappableStorageRefused) }

func testUnmappableStorageRefused(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	spec := sim.ZoneSpec{Name: "zbad", Brand: "ipkg", Devices: []string{"match=/dev/zvol/rdsk/pool/../idisk0"}}
	bad := "match=/dev/zvol/rdsk/pool/../idisk0"
	if simtest.KernelZones(flavor) {
		spec = sim.ZoneSpec{Name: "zbad", Brand: "solaris", RootZpool: []string{"file:///export/zbad.img"}}
		bad = "file:///export/zbad.img"
	}
	if err := sim.AddZone(root, spec); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{})
	_, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true, AcceptSessions: true})
	if !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), "zone zbad") || !strings.Contains(err.Error(), bad) {
		t.Fatalf("rollback: %v, want a refusal naming zbad and %s", err, bad)
	}
	if got := mutating(t, root); len(got) > 0 {
		t.Errorf("refused rollback changed the host: %v", got)
	}
}

// inProcPeer is a zone host answered in-process: the zone service of a
// solaris backend on another sim root (what volctld serves to peers).
type inProcPeer struct{ svc *zonehost.Service }

func (p inProcPeer) Names() []string { return []string{sim.ZoneHostname} }

func (p inProcPeer) Find(ctx context.Context, q zones.Query) []zones.Report {
	r, err := p.svc.Find(ctx, q)
	r.Peer, r.Err = sim.ZoneHostname, err
	return []zones.Report{r}
}

func (p inProcPeer) Act(context.Context, string, string, string, zones.Verb, time.Duration) (zones.Result, error) {
	return zones.Result{}, errors.New("no actions in this test")
}

func (p inProcPeer) ActRescue(context.Context, string, string, string, zones.Verb, zones.Rescue, time.Duration) (zones.Result, error) {
	return zones.Result{}, errors.New("no actions in this test")
}

// twoHostEngine is the storage host's engine with the zone host as its
// peer, over the zone service in-process.
func twoHostEngine(t *testing.T, storage, zone string) *engine.Engine {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "zh.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := &zonehost.Service{Backend: solaris.New(paths(zone)), DB: db, Initiators: []string{sim.ZoneHostInitiator}, Log: hclog.NewNullLogger()}
	b := solaris.New(paths(storage))
	simDisks(storage, b)
	b.Peers = inProcPeer{svc}
	sdb, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := engine.New(ctx, sdb, b, engine.Config{RetryDelay: 10 * time.Millisecond, DefaultTimeout: 10 * time.Second}, nil)
	t.Cleanup(func() { cancel(); e.Wait(); sdb.Close() })
	return e
}

// TestPeerZoneStorageForms: the zone host's kz1 on the storage host's LU,
// named each way a zone host can: its report is mapped on the storage
// host, so the running zone is refused even with accept_sessions.
func TestPeerZoneStorageForms(t *testing.T) {
	for _, ref := range []string{
		"iscsi://127.0.0.1:3260/target." + sim.SeedTargetB + ",lun.7",
		"dev:/dev/dsk/c0t" + sim.SeedGUID0 + "d0s0",
		"match=/dev/rdsk/c0t" + sim.SeedGUID0 + "d0",
	} {
		storage, zone := simtest.TwoHosts(t)
		setStorage(t, zone, ref)
		host(t, zone, "zoneadm", "-z", "kz1", "boot")
		e := twoHostEngine(t, storage, zone)
		before := len(mutating(t, storage))
		_, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{AcceptSessions: true})
		if !errors.Is(err, engine.ErrNeedsConsent) || !strings.Contains(err.Error(), "zone kz1 is running on peer "+sim.ZoneHostname) {
			t.Errorf("%s: %v, want a consent for kz1 running on the peer", ref, err)
		}
		if got := mutating(t, storage); len(got) > before {
			t.Errorf("%s: refused rollback changed the storage host: %v", ref, got[before:])
		}
	}
}

// TestPeerUnmappableStorage: a zone host reports a zone whose storage it
// cannot read; the storage host refuses, naming the zone, the peer and
// the reference.
func TestPeerUnmappableStorage(t *testing.T) {
	storage, zone := simtest.TwoHosts(t)
	if err := sim.AddZone(zone, sim.ZoneSpec{Name: "zbad", Brand: "solaris", RootZpool: []string{"iscsi://h/luname.naa.600144F0"}}); err != nil {
		t.Fatal(err)
	}
	e := twoHostEngine(t, storage, zone)
	_, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{AcceptSessions: true, HaltZones: true})
	if !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), "zone zbad on peer "+sim.ZoneHostname) ||
		!strings.Contains(err.Error(), "iscsi://h/luname.naa.600144F0") {
		t.Fatalf("rollback: %v, want a refusal naming zbad on the peer", err)
	}
}
