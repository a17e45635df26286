package solaris_test

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/solaris"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/store"
)

// simLabels reads a zone's boot disk label from the simulated host's
// state: a stand-in for check-boot's reader of the raw device (the
// simulator's disk images were pending when this was written) that
// reads the same facts.
type simLabels struct {
	root string
	vols map[string]string // zone -> boot volume
}

func (l simLabels) ReadBootLabel(_ context.Context, _ execx.RunFunc, zone string) (solaris.BootLabel, error) {
	s, err := sim.Load(l.root)
	if err != nil {
		return solaris.BootLabel{}, err
	}
	d := s.Dataset(l.vols[zone])
	if d == nil || d.Label == nil {
		return solaris.BootLabel{}, fmt.Errorf("no label on %q", l.vols[zone])
	}
	lb := solaris.BootLabel{Pool: d.Label.Pool, PoolGUID: d.Label.PoolGUID, PhysPath: d.Label.Vdev.PhysPath}
	lb.Boots = lb.PhysPath == sim.KZPhysPath(0)
	lb.Says = fmt.Sprintf("%s's root pool label says phys_path %s", zone, lb.PhysPath)
	return lb, nil
}

// rescueHost is the seed's Solaris host with kzrescue, and kz1's boot path
// broken as the admin's import in the global zone broke it.
func rescueHost(t *testing.T) string {
	t.Helper()
	root := kzHost(t)
	if err := sim.AddRescueZone(root); err != nil {
		t.Fatal(err)
	}
	if err := sim.BreakBoot(root, sim.SeedZone, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	return root
}

func rescueBackendAt(root string) *solaris.Backend {
	b := newBackend(root)
	b.Paths.Zlogin = sim.CommandPath(root, "zlogin")
	b.Labels = simLabels{root: root, vols: map[string]string{sim.SeedZone: "pool/idisk0"}}
	return b
}

// newRescueEngine is newEngine with zlogin and the label reader.
func newRescueEngine(t *testing.T, root string, dbPath string, cfg engine.Config) (*engine.Engine, *store.DB, context.CancelFunc) {
	t.Helper()
	db, err := store.Open(dbPath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 10 * time.Millisecond
	}
	if cfg.DefaultTimeout == 0 {
		cfg.DefaultTimeout = 10 * time.Second
	}
	e := engine.New(ctx, db, rescueBackendAt(root), cfg, nil)
	stop := func() { cancel(); e.Wait(); db.Close() }
	return e, db, stop
}

// physPath is the phys_path of kz1's boot disk label on the host.
func physPath(t *testing.T, root string) string {
	t.Helper()
	s, err := sim.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return s.Dataset("pool/idisk0").Label.Vdev.PhysPath
}

// rescueConsistent checks what every rescue leaves, whichever way it
// ended: kzrescue installed without kz1's disk, kz1's pool not imported
// anywhere, kz1 installed.
func rescueConsistent(t *testing.T, root string) {
	t.Helper()
	s, err := sim.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	r, z := s.Zone(sim.RescueZone), s.Zone(sim.SeedZone)
	if r.State != sim.ZoneInstalled || z.State != sim.ZoneInstalled {
		t.Errorf("kzrescue %s, kz1 %s: want both installed", r.State, z.State)
	}
	for _, d := range r.Devices {
		if d.ID == 0 || !strings.Contains(d.Storage, "kzrescue0") {
			t.Errorf("kzrescue still has device id %d (%s)", d.ID, d.Storage)
		}
	}
	if im := s.Dataset("pool/idisk0").Imported; im != nil {
		t.Errorf("kz1's pool is still imported by %s as %s", im.By, im.Name)
	}
}

func TestRescueRepairsTheBootPath(t *testing.T) {
	root := rescueHost(t)
	if p := physPath(t, root); p == sim.KZPhysPath(0) {
		t.Fatalf("break-boot left phys_path %s", p)
	}
	if out, err := exec.Command(sim.CommandPath(root, "zoneadm"), "-z", sim.SeedZone, "boot").CombinedOutput(); err == nil {
		t.Fatalf("kz1 booted with a broken path: %s", out)
	}
	e, _, stop := newRescueEngine(t, root, filepath.Join(t.TempDir(), "j.db"), engine.Config{})
	defer stop()
	plan, err := e.PlanRescue(context.Background(), engine.RescueRequest{Zone: sim.SeedZone, With: sim.RescueZone})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Identity.Rescue.PoolGUID == 0 {
		t.Errorf("the plan imports by name: the label reader's GUID is more precise")
	}
	op, err := e.Rescue(context.Background(), engine.RescueRequest{Zone: sim.SeedZone, With: sim.RescueZone}, func(engine.Event) {})
	if err != nil {
		t.Fatalf("rescue: %v (%s)", err, op.Error)
	}
	if op.State != store.OpSucceeded || op.Kind != store.KindRescue {
		t.Fatalf("rescue %s %s: %s", op.Kind, op.State, op.Error)
	}
	if p := physPath(t, root); p != sim.KZPhysPath(0) {
		t.Errorf("after the rescue phys_path %s", p)
	}
	rescueConsistent(t, root)
	host(t, root, "zoneadm", "-z", sim.SeedZone, "boot")
}
