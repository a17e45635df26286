package zonehost

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

func goodRescue() zones.Rescue {
	return zones.Rescue{Zone: "kz1", Storage: "iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550001",
		Pool: "rpool", PoolGUID: 42, TempName: "kz1", Altroot: "/mnt/1"}
}

// TestCheckRescue: every argument of a rescue verb is checked here, not
// taken from the storage host.
func TestCheckRescue(t *testing.T) {
	if err := checkRescue("kzrescue", goodRescue()); err != nil {
		t.Fatalf("the capture's arguments: %v", err)
	}
	for _, tc := range []struct {
		name string
		with string
		edit func(*zones.Rescue)
	}{
		{"zone name", "kzrescue", func(r *zones.Rescue) { r.Zone = "kz 1" }},
		{"itself", "kz1", func(*zones.Rescue) {}},
		{"storage ;", "kzrescue", func(r *zones.Rescue) { r.Storage += ";remove device id=1" }},
		{"storage blank", "kzrescue", func(r *zones.Rescue) { r.Storage = "" }},
		{"device match", "kzrescue", func(r *zones.Rescue) { r.Storage = "/dev/zvol/dsk/pool/*" }},
		{"device id 1", "kzrescue", func(r *zones.Rescue) { r.DeviceID = 1 }},
		{"device id -1", "kzrescue", func(r *zones.Rescue) { r.DeviceID = -1 }},
		{"pool", "kzrescue", func(r *zones.Rescue) { r.Pool = "raidz2" }},
		{"temporary name", "kzrescue", func(r *zones.Rescue) { r.TempName = "1kz" }},
		{"temporary name :", "kzrescue", func(r *zones.Rescue) { r.TempName = "kz:1" }},
		{"altroot relative", "kzrescue", func(r *zones.Rescue) { r.Altroot = "mnt/1" }},
		{"altroot /", "kzrescue", func(r *zones.Rescue) { r.Altroot = "/" }},
		{"altroot unclean", "kzrescue", func(r *zones.Rescue) { r.Altroot = "/mnt/1/" }},
		{"altroot ..", "kzrescue", func(r *zones.Rescue) { r.Altroot = "/mnt/../etc" }},
		{"altroot blank", "kzrescue", func(r *zones.Rescue) { r.Altroot = "/mnt/a b" }},
		{"altroot $", "kzrescue", func(r *zones.Rescue) { r.Altroot = "/mnt/$x" }},
	} {
		r := goodRescue()
		tc.edit(&r)
		if err := checkRescue(tc.with, r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
}

// TestActRescue: a rescue verb goes to the backend's RescueAct with its
// arguments, which are journaled with the key: the key again with other
// arguments is refused, with the same ones replayed; a rescue verb
// without arguments and another verb with them are refused before
// anything runs.
func TestActRescue(t *testing.T) {
	f := &fakeZones{state: "installed"}
	s := newService(t, f)
	ctx := context.Background()
	r := goodRescue()
	c, replayed, err := s.Act(ctx, "cert:CN=storage1", "k", "kzrescue", zones.RescueAddDevice, &r)
	if err != nil || replayed || !c.Done || c.Args != r.String() {
		t.Fatalf("first call: %+v %v %v", c, replayed, err)
	}
	if len(f.rescues) != 1 || !strings.HasPrefix(f.rescues[0], "rescue-add-device kzrescue zone=kz1 ") {
		t.Fatalf("backend ran %q", f.rescues)
	}
	if _, replayed, err := s.Act(ctx, "", "k", "kzrescue", zones.RescueAddDevice, &r); err != nil || !replayed {
		t.Errorf("the same call again: replayed %v, %v", replayed, err)
	}
	other := r
	other.Storage = "iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550002"
	if _, _, err := s.Act(ctx, "", "k", "kzrescue", zones.RescueAddDevice, &other); !errors.Is(err, store.ErrKeyMismatch) {
		t.Errorf("the key with other arguments: %v, want a key mismatch", err)
	}
	if _, _, err := s.Act(ctx, "", "k2", "kzrescue", zones.RescueImport, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("a rescue verb without arguments: %v", err)
	}
	if _, _, err := s.Act(ctx, "", "k3", "kzrescue", zones.Boot, &r); !errors.Is(err, ErrInvalid) {
		t.Errorf("boot with rescue arguments: %v", err)
	}
	if f.runs != 1 {
		t.Errorf("the backend ran %d times, want once", f.runs)
	}
}
