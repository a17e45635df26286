package solaris_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/bootcheck/bootchecktest"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/solaris"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// breakBootDisk writes kz1's boot disk (pool/idisk0's device image) as a
// global zone's import leaves it: the snapshot the rollback goes back to
// was taken while the pool was imported on the storage host. Without
// label, the image is gone: the check cannot read it.
func breakBootDisk(t *testing.T, dir string, label bool) {
	t.Helper()
	p := filepath.Join(dir, "pool", "idisk0")
	if !label {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		return
	}
	bad := bootchecktest.KZ1(bootchecktest.GlobalPath)
	bad.Hostname, bad.HostID = "storage1", 0x2e7d2173
	if err := bootchecktest.Write(p, bootchecktest.Image{Size: 1 << 30, Pools: []bootchecktest.Pool{bad}}); err != nil {
		t.Fatal(err)
	}
}

func stepNames(op *store.Operation) []string {
	var n []string
	for _, s := range op.Steps {
		n = append(n, s.Name)
	}
	return n
}

// TestRollbackChecksBootDisk: a rollback that attaches kz1 and boots it
// reads its boot disk's label first (check-boot, between attach-zones
// and boot-zones). A label with a global zone's phys_path, or one that
// cannot be read, leaves kz1 attached and not booted: the operation needs
// attention, and the text names the zone, the path and the rescue. Once
// the disk is repaired, recover checks again and boots it.
func TestRollbackChecksBootDisk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		label bool
		want  []string
	}{
		{"global zone path", true, []string{"zone kz1 is attached but not booted: kz1 will not boot: its root pool's label says phys_path " +
			bootchecktest.GlobalPath + " (written by an import on host storage1 (hostid 2e7d2173)); a kernel zone imports its root pool by /zvnex/zvblk@0:b",
			"volctl rescue kz1 --with RESCUE_ZONE"}},
		{"unreadable", false, []string{"zone kz1 is not booted: its boot disk pool/idisk0 (device 0) cannot be checked", "no such file or directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := kzHost(t)
			host(t, root, "zoneadm", "-z", "kz1", "boot")
			// The check reads a device directory of the test's own: the
			// simulator writes its images from its own labels after every
			// command (a rollback would write snap1's good label back over
			// a broken image), and this test is about what the check does
			// with what it reads.
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "pool"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := bootchecktest.Write(filepath.Join(dir, "pool", "idisk0"),
				bootchecktest.Image{Size: 1 << 30, Pools: []bootchecktest.Pool{bootchecktest.KZ1("/zvnex/zvblk@0:b")}}); err != nil {
				t.Fatal(err)
			}
			e, _ := newEngineLU(t, root, engine.Config{}, func(b *solaris.Backend) { b.ZvolDeviceDir = dir })
			breakBootDisk(t, dir, tc.label)
			before := len(mutating(t, root))
			op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
			if !errors.Is(err, engine.ErrNeedsAttention) || op == nil || op.State != store.OpNeedsAttention {
				t.Fatalf("rollback: %v, want needs attention", err)
			}
			names := stepNames(op)
			i := slices.Index(names, "check-boot")
			if i < 0 || names[i-1] != "attach-zones" || names[i+1] != "boot-zones" {
				t.Fatalf("steps %v: want check-boot between attach-zones and boot-zones", names)
			}
			if op.Steps[i].State != store.StepFailed || op.Steps[i+1].State != store.StepPending {
				t.Errorf("check-boot %s, boot-zones %s: want failed, pending", op.Steps[i].State, op.Steps[i+1].State)
			}
			for _, w := range append(tc.want, "volctl recover") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			st, _ := sim.Load(root)
			if z := st.Zone("kz1"); z.State != sim.ZoneInstalled {
				t.Errorf("kz1 is %s, want installed (attached, not booted)", z.State)
			}
			if slices.Contains(mutating(t, root)[before:], "zoneadm -z kz1 boot") {
				t.Error("kz1 was booted")
			}

			// The repair (the rescue's job): the zone's own path again.
			if err := bootchecktest.Write(filepath.Join(dir, "pool", "idisk0"),
				bootchecktest.Image{Size: 1 << 30, Pools: []bootchecktest.Pool{bootchecktest.KZ1("/zvnex/zvblk@0:b")}}); err != nil {
				t.Fatal(err)
			}
			op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{}, func(engine.Event) {})
			if err != nil || op.State != store.OpSucceeded {
				t.Fatalf("recover after the repair: %v", err)
			}
			st, _ = sim.Load(root)
			if z := st.Zone("kz1"); z.State != sim.ZoneRunning {
				t.Errorf("kz1 is %s after recover, want running", z.State)
			}
		})
	}
}

// TestPlanShowsCheckBoot: the dry run shows the check before the boot,
// naming the disk and the path it must carry.
func TestPlanShowsCheckBoot(t *testing.T) {
	root := kzHost(t)
	host(t, root, "zoneadm", "-z", "kz1", "boot")
	e, _ := newEngine(t, root, engine.Config{})
	plan, err := e.Plan(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1", Options: store.Options{HaltZones: true}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	desc := ""
	for _, s := range plan.Steps {
		names = append(names, s.Name)
		if s.Name == "check-boot" {
			desc = s.Description
		}
	}
	i := slices.Index(names, "check-boot")
	if i < 0 || names[i+1] != "boot-zones" || !strings.Contains(desc, "kz1 ("+filepath.Join(root, "dev/zvol/rdsk/pool/idisk0")+", device 0: phys_path must be /zvnex/zvblk@0:<slice>)") {
		t.Fatalf("plan steps %v, check-boot %q", names, desc)
	}
}

// TestCheckBootAnswers: check-boot's answers on the seed's host: kz1
// boots from its own label; a global zone's label is a verdict; a disk
// it cannot read, or no such zone, is an error (never "boots").
func TestCheckBootAnswers(t *testing.T) {
	root := kzHost(t)
	e, _ := newEngine(t, root, engine.Config{})
	ctx := context.Background()
	rep, err := e.CheckBoot(ctx, "kz1")
	if err != nil || !rep.Boots() || rep.State != "installed" || len(rep.Disks) != 1 || rep.Disks[0].Volume != "pool/idisk0" ||
		rep.Disks[0].Device.ID != 0 || rep.Disks[0].Result.PhysPath != "/zvnex/zvblk@0:b" {
		t.Fatalf("seed: %+v, %v", rep, err)
	}
	breakBootDisk(t, bootchecktest.SimDir(root), true)
	rep, err = e.CheckBoot(ctx, "kz1")
	if err != nil || rep.Boots() || !strings.Contains(rep.Verdict(), "kz1 will not boot: its root pool's label says phys_path "+bootchecktest.GlobalPath) ||
		!strings.Contains(rep.Advice(), "volctl rescue kz1 --with") {
		t.Fatalf("global zone's label: %+v, %v", rep, err)
	}
	breakBootDisk(t, bootchecktest.SimDir(root), false)
	rep, err = e.CheckBoot(ctx, "kz1")
	if !errors.Is(err, engine.ErrPrecondition) || rep.Boots() || !strings.Contains(err.Error(), "zone kz1 (on this host, installed): boot device 0") ||
		!strings.Contains(err.Error(), "no such file or directory") {
		t.Fatalf("no device: %+v, %v", rep, err)
	}
	if _, err := e.CheckBoot(ctx, "nosuch"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("no such zone: %v", err)
	}
}

// TestCheckBootOnPeer: kz1 runs on the zone host; the storage host finds
// its boot device through the peer (FindZones' devices), reads the label
// of its own volume behind the LU, and says where the zone is and that it
// runs (the answer is then uncertain).
func TestCheckBootOnPeer(t *testing.T) {
	storage, zone := simtest.TwoHosts(t)
	e := twoHostEngine(t, storage, zone)
	host(t, zone, "zoneadm", "-z", "kz1", "boot")
	breakBootDisk(t, bootchecktest.SimDir(storage), true)
	rep, err := e.CheckBoot(context.Background(), "kz1")
	if err != nil || rep.Host != sim.ZoneHostname || rep.State != "running" || rep.Boots() || len(rep.Disks) != 1 ||
		rep.Disks[0].Volume != "pool/idisk0" || rep.Disks[0].Result.Hostname != "storage1" {
		t.Fatalf("%+v, %v", rep, err)
	}
}
