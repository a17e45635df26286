package simtest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/volctl/volctl/sim"
)

func TestCheckKept(t *testing.T) {
	root := t.TempDir()
	if err := sim.Seed(root); err != nil {
		t.Fatal(err)
	}
	zfs := func(args ...string) {
		t.Helper()
		var o, e bytes.Buffer
		cmd := "zfs"
		switch args[0] {
		case "delete-lu", "create-lu":
			cmd = "stmfadm"
		case "-z":
			cmd = "zoneadm"
		}
		if code := sim.Main(append([]string{sim.CommandPath(root, cmd)}, args...), nil, &o, &e); code != 0 {
			t.Fatalf("%s %v: %d %s", cmd, args, code, e.String())
		}
	}
	if bad := CheckKept(root, Untouched); len(bad) != 0 {
		t.Fatalf("seed: %v", bad)
	}
	const kept = KeptPrefix + "7-20261207T152435Z"
	zfs("-z", sim.SeedZone, "detach")
	zfs("delete-lu", "-k", sim.SeedGUID0)
	zfs("rename", "pool/idisk0", kept)
	zfs("clone", kept+"@snap1", "pool/idisk0")
	// Not promoted yet: neither outcome holds.
	if bad := CheckKept(root, AtSnapshot); !strings.Contains(strings.Join(bad, "\n"), "not promoted") {
		t.Errorf("before promote, AtSnapshot: %v", bad)
	}
	if bad := CheckKept(root, Untouched); len(bad) == 0 {
		t.Error("before promote, Untouched passed")
	}
	zfs("promote", "pool/idisk0")
	zfs("create-lu", "-p", "guid="+sim.SeedGUID0, "/dev/zvol/rdsk/pool/idisk0")
	zfs("-z", sim.SeedZone, "attach", "-x", "initialize-hostdata")
	if bad := CheckKept(root, AtSnapshot); len(bad) != 0 {
		t.Errorf("after promote: %v", bad)
	}
}
