package solaris_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// snapshotCommands are the zfs snapshot and destroy commands the daemon
// ran after the probes (the probe's own zfs snapshot names
// volctl-probe-nopool), without the command's path.
func snapshotCommands(t *testing.T, root string) []string {
	t.Helper()
	calls, err := sim.Calls(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range calls {
		if len(c.Argv) > 1 && (c.Argv[1] == "snapshot" || c.Argv[1] == "destroy") && !strings.Contains(strings.Join(c.Argv, " "), "volctl-probe-nopool") {
			out = append(out, strings.Join(c.Argv[1:], " "))
		}
	}
	return out
}

// snapshotsNamed are the snapshots called name on the host, by dataset.
func snapshotsNamed(t *testing.T, root, name string) []string {
	t.Helper()
	st, err := sim.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range st.Datasets {
		if d.Snapshot(name) != nil {
			out = append(out, d.Name+"@"+name)
		}
	}
	return out
}

// TestGroupSnapshotPerFlavor: both disks named. illumos takes them with
// one zfs snapshot (atomic); Solaris refuses a second operand, so the
// daemon probed that at start and, kz1 being installed (not running),
// takes them one by one and says so. Both end with the two snapshots, and
// nothing the daemon ran after the probes was refused.
func TestGroupSnapshotPerFlavor(t *testing.T) {
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		root := simtest.HostFlavor(t, flavor)
		names := []string{"pool/idisk0@g", "pool/idisk1@g"}
		if simtest.KernelZones(flavor) {
			// kz1 on both disks: the host's own initiator is then expected
			// on both LUs (it is kz1's).
			root = twoDiskZone(t, false)
		}
		e, _, afterProbes := probed(t, root, engine.Config{})
		caps := e.Capabilities()
		wantMany := flavor != sim.FlavorSolaris
		if caps.Has(store.CapSnapshotMany) != wantMany {
			t.Fatalf("capabilities %+v: want %s %v", caps, store.CapSnapshotMany, wantMany)
		}
		g, err := e.TakeSnapshots(context.Background(), names)
		if err != nil {
			t.Fatal(err)
		}
		if got := snapshotsNamed(t, root, "g"); !slices.Equal(got, names) {
			t.Errorf("snapshots %v, want %v", got, names)
		}
		want := []string{"snapshot pool/idisk0@g pool/idisk1@g"}
		wantMethod := "taken atomically by one zfs snapshot"
		if !wantMany {
			want = []string{"snapshot pool/idisk0@g", "snapshot pool/idisk1@g"}
			wantMethod = "taken one by one, as nothing could write to them meanwhile (zone kz1 is installed on this host; no other initiator can see their LUs)"
		}
		if got := snapshotCommands(t, root); !slices.Equal(got, want) {
			t.Errorf("ran %q, want %q", got, want)
		}
		if !strings.HasPrefix(g.Method, wantMethod) || len(g.Also) != 0 {
			t.Errorf("method %q also %v, want %q", g.Method, g.Also, wantMethod)
		}
		mustAccept(t, root, afterProbes)
	})
}

// TestGroupSnapshotRunningZone: Solaris, kz1 running on both disks: one
// after the other would not be one moment, and zfs snapshot -r of pool
// would take pool/data too: refused (FailedPrecondition), naming the zone
// and what to do; nothing taken.
func TestGroupSnapshotRunningZone(t *testing.T) {
	root := twoDiskZone(t, false)
	host(t, root, "zoneadm", "-z", "kz1", "boot")
	e, _ := newEngine(t, root, engine.Config{})
	_, err := e.TakeZoneSnapshots(context.Background(), "kz1", "g")
	if !errors.Is(err, engine.ErrPrecondition) || errors.Is(err, engine.ErrNeedsConsent) {
		t.Fatalf("err %v, want a failed precondition", err)
	}
	for _, s := range []string{"none of pool/idisk0@g, pool/idisk1@g was taken", "too many arguments", "has other datasets below it too (pool/data)",
		"zone kz1 is running on this host (on pool/idisk0, pool/idisk1): shut it down first (zoneadm -z kz1 shutdown)"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not say %q", err, s)
		}
	}
	if got := snapshotCommands(t, root); len(got) != 0 {
		t.Errorf("ran %q", got)
	}
	if got := snapshotsNamed(t, root, "g"); len(got) != 0 {
		t.Errorf("left %v", got)
	}
}

// TestGroupSnapshotForeignInitiator: Solaris, no zone on pool/idisk1, but
// the host's initiator is logged in to tgt-a, which exposes its LU to all
// hosts: something may write to it, so one by one is refused.
func TestGroupSnapshotForeignInitiator(t *testing.T) {
	root := kzHost(t)
	e, _ := newEngine(t, root, engine.Config{})
	_, err := e.TakeSnapshots(context.Background(), []string{"pool/idisk0@g", "pool/idisk1@g"})
	if !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(),
		"initiator iqn.1986-03.com.sun:01:sim-host1 (sim-host1) is logged in to iqn.1986-03.com.sun:02:tgt-a, through which LU 600144F0A613C900000054521D550002 of pool/idisk1 is exposed") {
		t.Fatalf("err %v, want the initiator named", err)
	}
	if got := snapshotsNamed(t, root, "g"); len(got) != 0 {
		t.Errorf("left %v", got)
	}
}

// TestGroupSnapshotRecursive: Solaris, two volumes that are all there is
// below pool/kz2: zfs snapshot -r pool/kz2@g takes them at once (and
// pool/kz2@g, which the answer names), whatever the zones do.
func TestGroupSnapshotRecursive(t *testing.T) {
	root := kzHost(t)
	if err := sim.Update(root, func(s *sim.State) error {
		s.Datasets = append(s.Datasets, &sim.Dataset{Name: "pool/kz2", Type: "filesystem"},
			&sim.Dataset{Name: "pool/kz2/d0", Type: "volume", Volsize: 1 << 30, Data: []byte("d0")},
			&sim.Dataset{Name: "pool/kz2/d1", Type: "volume", Volsize: 1 << 30, Data: []byte("d1")})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	host(t, root, "zoneadm", "-z", "kz1", "boot") // not on these volumes; running makes no difference to -r
	e, _ := newEngine(t, root, engine.Config{})
	names := []string{"pool/kz2/d0@g", "pool/kz2/d1@g"}
	g, err := e.TakeSnapshots(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	if got := snapshotCommands(t, root); !slices.Equal(got, []string{"snapshot -r pool/kz2@g"}) {
		t.Errorf("ran %q", got)
	}
	if got := snapshotsNamed(t, root, "g"); !slices.Equal(got, []string{"pool/kz2@g", "pool/kz2/d0@g", "pool/kz2/d1@g"}) {
		t.Errorf("snapshots %v", got)
	}
	if !slices.Equal(g.Also, []string{"pool/kz2@g"}) || !strings.Contains(g.Method, "zfs snapshot -r pool/kz2@g, which also took pool/kz2@g") ||
		len(g.Snapshots) != 2 || g.Snapshots[1].Name != "pool/kz2/d1@g" {
		t.Errorf("%+v", g)
	}
}

// TestGroupSnapshotPartialFailure: Solaris, one by one, the second
// snapshot fails: the first is destroyed and the error says so (no
// partial set); when that destroy fails too, the error names what is left.
func TestGroupSnapshotPartialFailure(t *testing.T) {
	for _, destroyFails := range []bool{false, true} {
		root := twoDiskZone(t, false)
		faults := []sim.Fault{{Command: "zfs", Match: "snapshot pool/idisk1@g", Action: sim.ActionFail, Stderr: "cannot create snapshot 'pool/idisk1@g': out of space"}}
		if destroyFails {
			faults = append(faults, sim.Fault{Command: "zfs", Match: "destroy pool/idisk0@g", Action: sim.ActionFail, Stderr: "cannot destroy 'pool/idisk0@g': dataset is busy"})
		}
		for _, f := range faults {
			if err := sim.AddFault(root, f); err != nil {
				t.Fatal(err)
			}
		}
		e, _ := newEngine(t, root, engine.Config{})
		_, err := e.TakeZoneSnapshots(context.Background(), "kz1", "g")
		left := snapshotsNamed(t, root, "g")
		if !destroyFails {
			if !errors.Is(err, engine.ErrStepFailed) || !strings.Contains(err.Error(), "out of space") ||
				!strings.Contains(err.Error(), "destroyed pool/idisk0@g, which this request had taken, so none of the group is left") {
				t.Errorf("err %v", err)
			}
			if len(left) != 0 {
				t.Errorf("left %v", left)
			}
			continue
		}
		if !errors.Is(err, engine.ErrNeedsAttention) || !strings.Contains(err.Error(), "pool/idisk0@g may still exist") {
			t.Errorf("destroy failing too: err %v", err)
		}
		if !slices.Equal(left, []string{"pool/idisk0@g"}) {
			t.Errorf("left %v, want pool/idisk0@g (its destroy failed)", left)
		}
	}
}
