package solaris_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/store"
)

// twoDiskZone gives the seed's kz1 a second disk, pool/idisk1 (LU
// SeedGUID1), as a data disk, or with bootpri as the other half of a
// mirrored root pool.
func twoDiskZone(t *testing.T, mirrored bool) string {
	root := kzHost(t)
	if err := sim.Update(root, func(s *sim.State) error {
		d := &sim.ZoneDevice{ID: 1, Storage: "iscsi://127.0.0.1:3260/luname.naa." + strings.ToLower(sim.SeedGUID1)}
		if mirrored {
			one := 1
			d.BootPri = &one
		}
		s.Zone("kz1").Devices = append(s.Zone("kz1").Devices, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestSingleDiskOfATwoDiskZone: rolling back one disk of kz1 alone is
// refused, naming the other; with both boot devices it says they look like
// a mirrored root pool; --only-these-disks goes on.
func TestSingleDiskOfATwoDiskZone(t *testing.T) {
	for _, mirrored := range []bool{false, true} {
		root := twoDiskZone(t, mirrored)
		e, _ := newEngine(t, root, engine.Config{})
		_, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{})
		if !errors.Is(err, engine.ErrNeedsConsent) || !strings.Contains(err.Error(), "zone kz1 has other disks that this rollback leaves out: pool/idisk1") ||
			!strings.Contains(err.Error(), "needs consent only_these_disks") {
			t.Fatalf("mirrored=%v: %v, want a consent naming pool/idisk1", mirrored, err)
		}
		if got := strings.Contains(err.Error(), "mirrored root pool"); got != mirrored {
			t.Errorf("mirrored=%v: message %q mentions a mirrored root pool: %v", mirrored, err, got)
		}
		if got := mutating(t, root); len(got) > 0 {
			t.Errorf("refused rollback changed the host: %v", got)
		}
		op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{OnlyTheseDisks: true})
		if err != nil || op.State != store.OpSucceeded {
			t.Fatalf("mirrored=%v, --only-these-disks: %v", mirrored, err)
		}
		if !slices.ContainsFunc(op.Warnings, func(w string) bool { return strings.Contains(w, "pool/idisk1") }) {
			t.Errorf("warnings %q: want the left-out disk named", op.Warnings)
		}
	}
}

// TestSnapshotZone: a snapshot of each of kz1's disks, as one moment:
// Solaris takes one snapshot per zfs snapshot (probed), so with kz1
// installed they are taken one by one (docs/platform/zfs-snapshot.md;
// TestGroupSnapshotPerFlavor has the one-command case).
func TestSnapshotZone(t *testing.T) {
	root := twoDiskZone(t, true)
	e, _ := newEngine(t, root, engine.Config{})
	snaps, err := e.SnapshotZone(context.Background(), "kz1", "before-upgrade")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range snaps {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"pool/idisk0@before-upgrade", "pool/idisk1@before-upgrade"}) {
		t.Errorf("snapshots %v", names)
	}
	if got, want := snapshotCommands(t, root), []string{"snapshot pool/idisk0@before-upgrade", "snapshot pool/idisk1@before-upgrade"}; !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
	if _, err := e.SnapshotZone(context.Background(), "kz1", "before-upgrade"); !errors.Is(err, engine.ErrAlreadyExists) {
		t.Errorf("again: %v, want AlreadyExists", err)
	}
	if _, err := e.SnapshotZone(context.Background(), "kz9", "x"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("no such zone: %v, want NotFound", err)
	}
	if _, err := e.CreateSnapshots(context.Background(), []string{"pool/idisk0@x", "pool/idisk0@y"}); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("one volume twice: %v, want InvalidArgument", err)
	}
}

// TestGroupRollback: both disks of kz1 named (or --zone kz1) go back as
// one operation: the zone detached once, both LUs away in one outage
// window, both volumes at their snapshots, the zone attached once.
func TestGroupRollback(t *testing.T) {
	for _, byZone := range []bool{false, true} {
		root := twoDiskZone(t, true)
		e, _ := newEngine(t, root, engine.Config{})
		snapZone(t, e, "g1")
		if err := sim.WriteData(root, "pool/idisk0", []byte("idisk0 after g1")); err != nil {
			t.Fatal(err)
		}
		if err := sim.WriteData(root, "pool/idisk1", []byte("idisk1 after g1")); err != nil {
			t.Fatal(err)
		}
		req := engine.Request{Snapshot: "pool/idisk0@g1", More: []string{"pool/idisk1@g1"}}
		if byZone {
			req = engine.Request{Snapshot: "g1", Zone: "kz1"}
		}
		op, err := e.Rollback(context.Background(), req, func(engine.Event) {})
		if err != nil || op.State != store.OpSucceeded {
			t.Fatalf("byZone=%v: %v", byZone, err)
		}
		if len(op.Members) != 1 || op.Members[0].Volume != "pool/idisk1" || len(op.Identity.Zones) != 1 {
			t.Errorf("members %+v zones %+v: want idisk1 and kz1 once", op.Members, op.Identity.Zones)
		}
		var names []string
		for _, s := range op.Steps {
			names = append(names, s.Name)
		}
		want := []string{"capture", "detach-zones", "delete-lu", "rollback", "finish-rollback", "import-lu", "restore-views", "resize-lu", "verify", "attach-zones"}
		if !slices.Equal(names, want) {
			t.Errorf("steps %v, want %v", names, want)
		}
		st, _ := sim.Load(root)
		for _, v := range []string{"pool/idisk0", "pool/idisk1"} {
			if d := st.Zvol(v); strings.Contains(string(d.Data), "after g1") {
				t.Errorf("%s: data %q, want the snapshot's", v, d.Data)
			}
		}
		if st.LU(sim.SeedGUID0) == nil || st.LU(sim.SeedGUID1) == nil || st.Zone("kz1").State != sim.ZoneInstalled {
			t.Errorf("after the group rollback: LUs %v %v, kz1 %s", st.LU(sim.SeedGUID0) != nil, st.LU(sim.SeedGUID1) != nil, st.Zone("kz1").State)
		}
		// One detach and one attach of kz1.
		calls, _ := sim.Calls(root)
		n := 0
		for _, c := range calls {
			if strings.HasSuffix(strings.Join(c.Argv, " "), "-z kz1 detach") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("kz1 detached %d times, want once", n)
		}
	}
}

// TestGroupPartialFailure: the second volume's rollback fails after the
// first took effect: the group is finished forward (finish-rollback), not
// undone; a failure before any took effect compensates everything.
func TestGroupPartialFailure(t *testing.T) {
	t.Run("after one took effect", func(t *testing.T) {
		root := twoDiskZone(t, false)
		e, _ := newEngine(t, root, engine.Config{})
		snapZone(t, e, "g1")
		if err := sim.AddFault(root, sim.Fault{Command: "zfs", Match: "rollback pool/idisk1@g1", Nth: 1, Times: 1, Action: sim.ActionFail,
			Stderr: "internal error: injected"}); err != nil {
			t.Fatal(err)
		}
		op, err := e.Rollback(context.Background(), engine.Request{Snapshot: "g1", Zone: "kz1"}, func(engine.Event) {})
		if err != nil || op.State != store.OpSucceeded {
			t.Fatalf("%v", err)
		}
		finished := false
		for _, st := range op.Steps {
			for _, c := range st.Commands {
				if st.Name == "finish-rollback" && strings.HasSuffix(strings.Join(c.Argv, " "), "rollback pool/idisk1@g1") && c.Exit == 0 {
					finished = true
				}
			}
		}
		if !finished {
			t.Errorf("finish-rollback did not roll pool/idisk1 back: %+v", op.Steps)
		}
	})
	t.Run("before any took effect", func(t *testing.T) {
		root := twoDiskZone(t, false)
		e, _ := newEngine(t, root, engine.Config{})
		snapZone(t, e, "g1")
		// Every volume refused: none took effect.
		if err := sim.AddFault(root, sim.Fault{Command: "zfs", Match: "zfs rollback", Action: sim.ActionFail,
			Stderr: "cannot rollback 'pool/idisk0': dataset is busy"}); err != nil {
			t.Fatal(err)
		}
		op, _ := e.Rollback(context.Background(), engine.Request{Snapshot: "g1", Zone: "kz1"}, func(engine.Event) {})
		if op == nil || op.State != store.OpRolledBack {
			t.Fatalf("op %+v: want rolled back", op)
		}
		st, _ := sim.Load(root)
		if st.LU(sim.SeedGUID0) == nil || st.LU(sim.SeedGUID1) == nil || st.Zone("kz1").State != sim.ZoneInstalled {
			t.Errorf("not restored")
		}
	})
	t.Run("a volume that cannot be finished", func(t *testing.T) {
		root := twoDiskZone(t, false)
		e, _ := newEngine(t, root, engine.Config{Retries: 1})
		snapZone(t, e, "g1")
		if err := sim.AddFault(root, sim.Fault{Command: "zfs", Match: "rollback pool/idisk1@g1", Action: sim.ActionFail,
			Stderr: "cannot rollback 'pool/idisk1': dataset is busy"}); err != nil {
			t.Fatal(err)
		}
		op, err := e.Rollback(context.Background(), engine.Request{Snapshot: "g1", Zone: "kz1"}, func(engine.Event) {})
		if op == nil || op.State != store.OpNeedsAttention {
			t.Fatalf("op %v err %v: want needs attention", op, err)
		}
		if !strings.Contains(op.Error+op.Attention, "pool/idisk0: at pool/idisk0@g1") || !strings.Contains(op.Error+op.Attention, "pool/idisk1: NOT rolled back") {
			t.Errorf("error %q / attention %q: want each volume's state", op.Error, op.Attention)
		}
	})
}

func snapZone(t *testing.T, e *engine.Engine, name string) {
	t.Helper()
	if _, err := e.SnapshotZone(context.Background(), "kz1", name); err != nil {
		t.Fatal(err)
	}
}
