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
			!strings.Contains(err.Error(), "--only-these-disks") {
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

// TestSnapshotZone: one zfs snapshot with an operand for each of kz1's
// disks (comstar-zfs.md §3.3: atomic).
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
	calls, _ := sim.Calls(root)
	n := 0
	for _, c := range calls {
		if len(c.Argv) > 1 && c.Argv[1] == "snapshot" {
			n++
			if strings.Join(c.Argv[1:], " ") != "snapshot pool/idisk0@before-upgrade pool/idisk1@before-upgrade" {
				t.Errorf("ran %v, want one zfs snapshot of both", c.Argv)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d zfs snapshot commands, want 1", n)
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
