package solaris_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/solaris"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/store"
)

// seedStorage is kz1's boot device in the seed.
const seedStorage = "iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550001"

// addZone configures a zone on the simulated host (as zonecfg create and
// zoneadm install would).
func addZone(t *testing.T, root, name, brand, state string, devs ...*sim.ZoneDevice) {
	t.Helper()
	if err := sim.Update(root, func(s *sim.State) error {
		s.Zones = append(s.Zones, &sim.Zone{Name: name, Brand: brand, IPType: "excl", State: state, Key: "key-" + name, Devices: devs})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func bootDev(id int, storage string) *sim.ZoneDevice {
	zero := 0
	return &sim.ZoneDevice{ID: id, BootPri: &zero, Storage: storage}
}

func rescueBackend(t *testing.T, root string) *solaris.Backend {
	t.Helper()
	b := newBackend(root)
	b.Paths.Zlogin = sim.CommandPath(root, "zlogin")
	if _, err := b.Probe(context.Background(), plainRun); err != nil {
		t.Fatal(err)
	}
	return b
}

func plainRun(ctx context.Context, argv []string) (*execx.Result, error) {
	r := execx.Runner{}
	return r.Run(ctx, argv)
}

// stubLabel is a LabelReader that answers one label (or error).
type stubLabel struct {
	l   solaris.BootLabel
	err error
}

func (s stubLabel) ReadBootLabel(context.Context, execx.RunFunc, string) (solaris.BootLabel, error) {
	return s.l, s.err
}

func TestRescueCapture(t *testing.T) {
	root := kzHost(t)
	addZone(t, root, "kzr", "solaris-kz", "installed", bootDev(1, "dev:/dev/zvol/dsk/pool/kzr0"))
	b := rescueBackend(t, root)
	b.Labels = stubLabel{l: solaris.BootLabel{Pool: "rpool", PoolGUID: 42, PhysPath: "/scsi_vhci/disk@g1:b", Says: "kz1 will not boot"}}
	id, warnings, err := b.CaptureRescue(context.Background(), plainRun, store.RescueOptions{Zone: sim.SeedZone, With: "kzr"})
	if err != nil {
		t.Fatal(err)
	}
	// The import names the pool by the GUID the label gives.
	want := store.Rescue{Zone: sim.SeedZone, With: "kzr", Storage: seedStorage, DeviceID: 0, WithState: "installed",
		Pool: "rpool", PoolGUID: 42, TempName: sim.SeedZone, Altroot: "/mnt/1", Zpool: "/usr/sbin/zpool"}
	if id.Volume != "pool/idisk0" || id.Rescue == nil || *id.Rescue != want {
		t.Errorf("capture: volume %q, rescue %+v; want pool/idisk0, %+v", id.Volume, id.Rescue, want)
	}
	var names []string
	for _, z := range id.Zones {
		names = append(names, z.Name+":"+z.State)
	}
	if !slices.Equal(names, []string{sim.SeedZone + ":installed", "kzr:installed"}) {
		t.Errorf("zones %q: want both, installed (the engine locks and holds them)", names)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %q", warnings)
	}
	// A label that cannot be read: imported by name, and the plan says so.
	b.Labels = stubLabel{err: errors.New("unreadable")}
	id, warnings, err = b.CaptureRescue(context.Background(), plainRun, store.RescueOptions{Zone: sim.SeedZone, With: "kzr"})
	if err != nil || id.Rescue.PoolGUID != 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "imported by its name, rpool") {
		t.Errorf("unreadable label: %+v %q %v", id.Rescue, warnings, err)
	}
	// A label that is right already: the rescue is harmless, and says so.
	b.Labels = stubLabel{l: solaris.BootLabel{Pool: "rpool", PoolGUID: 42, Boots: true, Says: "kz1 will boot"}}
	if _, warnings, err = b.CaptureRescue(context.Background(), plainRun, store.RescueOptions{Zone: sim.SeedZone, With: "kzr"}); err != nil ||
		len(warnings) != 1 || !strings.Contains(warnings[0], "kz1 will boot") {
		t.Errorf("right label: %q %v", warnings, err)
	}
}

func TestRescueCaptureRefusals(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, root string)
		zone  string
		with  string
		noZl  bool
		is    error
		want  string
	}{
		{name: "zone running", setup: func(t *testing.T, root string) {
			host(t, root, "zoneadm", "-z", sim.SeedZone, "boot")
			addZone(t, root, "kzr", "solaris-kz", "installed", bootDev(1, "dev:/dev/zvol/dsk/pool/kzr0"))
		}, is: engine.ErrPrecondition, want: "zone kz1 is running: its root pool is in use"},
		{name: "rescue zone's boot disk id 0", setup: func(t *testing.T, root string) {
			addZone(t, root, "kzr", "solaris-kz", "installed", bootDev(0, "dev:/dev/zvol/dsk/pool/kzr0"))
		}, is: engine.ErrPrecondition, want: "rescue zone kzr uses device id 0 for its own boot disk"},
		{name: "rescue zone has another device id 0", setup: func(t *testing.T, root string) {
			addZone(t, root, "kzr", "solaris-kz", "installed", bootDev(1, "dev:/dev/zvol/dsk/pool/kzr0"),
				&sim.ZoneDevice{ID: 0, Storage: "dev:/dev/zvol/dsk/pool/data0"})
		}, is: engine.ErrPrecondition, want: "rescue zone kzr uses device id 0 for a device"},
		{name: "rescue zone not a kernel zone", setup: func(t *testing.T, root string) {
			addZone(t, root, "kzr", "solaris", "installed")
		}, is: engine.ErrPrecondition, want: "zone kzr is a solaris zone, not a kernel zone"},
		{name: "rescue zone running", setup: func(t *testing.T, root string) {
			addZone(t, root, "kzr", "solaris-kz", "running", bootDev(1, "dev:/dev/zvol/dsk/pool/kzr0"))
		}, is: engine.ErrPrecondition, want: "rescue zone kzr is running"},
		{name: "rescue zone not there", is: engine.ErrNotFound, want: "zone kzr is not configured on this host"},
		{name: "bad name", with: "-x", is: engine.ErrInvalid, want: `zone "-x"`},
		{name: "zone name zpool refuses as a pool name", zone: "c0t0d0", with: "kzr", is: engine.ErrInvalid, want: "disk names"},
		{name: "no zlogin", noZl: true, setup: func(t *testing.T, root string) {
			addZone(t, root, "kzr", "solaris-kz", "installed", bootDev(1, "dev:/dev/zvol/dsk/pool/kzr0"))
		}, is: engine.ErrPrecondition, want: "no zlogin configured"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := kzHost(t)
			if c.setup != nil {
				c.setup(t, root)
			}
			b := rescueBackend(t, root)
			if c.noZl {
				b.Paths.Zlogin = ""
			}
			zone, with := sim.SeedZone, "kzr"
			if c.zone != "" {
				zone = c.zone
			}
			if c.with != "" {
				with = c.with
			}
			before := mutating(t, root)
			_, _, err := b.CaptureRescue(context.Background(), plainRun, store.RescueOptions{Zone: zone, With: with})
			if err == nil || !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v; want %v with %q", err, c.is, c.want)
			}
			if after := mutating(t, root); !slices.Equal(before, after) {
				t.Errorf("the refused capture changed the host: %q, then %q", before, after)
			}
		})
	}
}

// TestRescuePlan: the steps and their exact commands, from the journaled
// capture alone.
func TestRescuePlan(t *testing.T) {
	b := solaris.New(solaris.Paths{Zoneadm: "/usr/sbin/zoneadm", Zonecfg: "/usr/sbin/zonecfg", Zlogin: "/usr/sbin/zlogin"})
	op := &store.Operation{ID: 3, Kind: store.KindRescue, Volume: "pool/idisk0", Identity: store.Identity{Volume: "pool/idisk0",
		Rescue: &store.Rescue{Zone: "kz1", With: "kzrescue", Storage: seedStorage, WithState: "installed",
			Pool: "rpool", PoolGUID: 42, TempName: "kz1", Altroot: "/mnt/1", Zpool: "/usr/sbin/zpool"}}}
	var got []string
	commit := ""
	for _, s := range b.Steps(op) {
		got = append(got, "step "+s.Name)
		for _, argv := range s.Planned {
			got = append(got, "  "+strings.Join(argv, " | "))
		}
		if s.Commit {
			commit = s.Name
		}
	}
	want := []string{
		"step check",
		"  /usr/sbin/zoneadm | -z | kz1 | list | -p",
		"  /usr/sbin/zoneadm | -z | kzrescue | list | -p",
		"step add-device",
		"  /usr/sbin/zonecfg | -z | kzrescue | info",
		"  /usr/sbin/zonecfg | -z | kzrescue | add device; set storage=" + seedStorage + "; set id=0; end",
		"  /usr/sbin/zonecfg | -z | kzrescue | info",
		"step boot-rescue",
		"  /usr/sbin/zoneadm | -z | kzrescue | list | -p",
		"  /usr/sbin/zoneadm | -z | kzrescue | boot",
		"  /usr/sbin/zoneadm | -z | kzrescue | list | -p",
		"step import",
		"  /usr/sbin/zoneadm | -z | kzrescue | list | -p",
		"  /usr/sbin/zlogin | kzrescue | /usr/sbin/zpool | list | -H | -o | name",
		"  /usr/sbin/zlogin | kzrescue | /usr/sbin/zpool | import | -R | /mnt/1 | -N | -f | -t | kz1 | 42",
		"  /usr/sbin/zoneadm | -z | kzrescue | list | -p",
		"  /usr/sbin/zlogin | kzrescue | /usr/sbin/zpool | list | -H | -o | name",
		"step export",
		"  /usr/sbin/zoneadm | -z | kzrescue | list | -p",
		"  /usr/sbin/zlogin | kzrescue | /usr/sbin/zpool | list | -H | -o | name",
		"  /usr/sbin/zlogin | kzrescue | /usr/sbin/zpool | export | kz1",
		"  /usr/sbin/zoneadm | -z | kzrescue | list | -p",
		"  /usr/sbin/zlogin | kzrescue | /usr/sbin/zpool | list | -H | -o | name",
		"step halt-rescue",
		"  /usr/sbin/zoneadm | -z | kzrescue | list | -p",
		"  /usr/sbin/zoneadm | -z | kzrescue | shutdown",
		"  /usr/sbin/zoneadm | -z | kzrescue | list | -p",
		"step remove-device",
		"  /usr/sbin/zonecfg | -z | kzrescue | info",
		"  /usr/sbin/zonecfg | -z | kzrescue | remove device id=0",
		"  /usr/sbin/zonecfg | -z | kzrescue | info",
		"step check-label",
	}
	if !slices.Equal(got, want) {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if commit != "export" {
		t.Errorf("commit step %q, want export", commit)
	}
}

// TestRescueEngineRefusals: the engine refuses before anything runs, and
// a refused rescue journals nothing.
func TestRescueEngineRefusals(t *testing.T) {
	root := kzHost(t)
	addZone(t, root, "kzr", "solaris-kz", "installed", bootDev(1, "dev:/dev/zvol/dsk/pool/kzr0"))
	host(t, root, "zoneadm", "-z", sim.SeedZone, "boot")
	e, db := newEngine(t, root, engine.Config{})
	ctx := context.Background()
	if _, err := e.Rescue(ctx, engine.RescueRequest{Zone: "kzr", With: "kzr"}, func(engine.Event) {}); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("a zone rescuing itself: %v, want invalid", err)
	}
	before := mutating(t, root)
	// newEngine's backend has no zlogin: refused as a precondition.
	if _, err := e.PlanRescue(ctx, engine.RescueRequest{Zone: sim.SeedZone, With: "kzr"}); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("plan without zlogin: %v, want a failed precondition", err)
	}
	if _, err := e.Rescue(ctx, engine.RescueRequest{Zone: sim.SeedZone, With: "kzr"}, func(engine.Event) {}); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("rescue without zlogin: %v, want a failed precondition", err)
	}
	if after := mutating(t, root); !slices.Equal(before, after) {
		t.Errorf("refused rescues changed the host: %q, then %q", before, after)
	}
	if id, err := db.LastOperationID(); err != nil || id != 0 {
		t.Errorf("a refused rescue was journaled: last id %d, %v", id, err)
	}
}
