package sim

import (
	"fmt"
	"strings"
	"testing"
)

const kz1URI = "iscsi://127.0.0.1:3260/luname.naa." + lc0

// rescueSeeded is a Solaris seed with kzrescue.
func rescueSeeded(t *testing.T) string {
	t.Helper()
	root := seeded(t)
	if err := AddRescueZone(root); err != nil {
		t.Fatal(err)
	}
	return root
}

// kzStep is one command and what it must give: its exit status and, when
// set, its exact stdout and stderr ("*" = anything).
type kzStep struct {
	argv   string
	code   int
	stdout string
	stderr string
}

func kzSteps(t *testing.T, root string, steps []kzStep) {
	t.Helper()
	for _, st := range steps {
		argv := splitArgv(st.argv)
		r := run(t, root, argv...)
		if r.code != st.code || (st.stderr != "*" && r.stderr != st.stderr) || (st.stdout != "" && st.stdout != "*" && r.stdout != st.stdout) {
			t.Fatalf("%s:\n%v\nwant exit %d, stdout %q, stderr %q", st.argv, r, st.code, st.stdout, st.stderr)
		}
	}
}

// splitArgv splits on blanks, keeping a '...' quoted word whole.
func splitArgv(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '\'' {
			end := strings.IndexByte(s[1:], '\'')
			out = append(out, s[1:end+1])
			s = s[end+2:]
			continue
		}
		w, rest, _ := strings.Cut(s, " ")
		out = append(out, w)
		s = rest
	}
	return out
}

func label(t *testing.T, root, vol string) BootLabel {
	t.Helper()
	d := load(t, root).Zvol(vol)
	if d == nil || d.Label == nil {
		t.Fatalf("%s: no label", vol)
	}
	return *d.Label
}

const brokenBoot = "zone 'kz1': error: boot device id 0: root pool 'rpool' has phys_path '/scsi_vhci/disk@g" + lc0 + ":b' in its label; the zone boots it from '/zvnex/zvblk@0:b'\n" +
	"zone 'kz1': error: the pool was last imported by 'sim-host1' (hostid 0x8f3a21c4): the zone's kernel cannot open its root pool (a real kernel zone panics and reboots in a loop)\n" +
	"zone 'kz1': error: import and export the pool in a kernel zone that has this disk as device id 0 to repair it\n"

// TestGlobalImportBreaksBoot: the admin's import and export in the global
// zone rewrite the label as the global zone sees the disk, and kz1 no
// longer boots from it (kz-boot.md §3, §4).
func TestGlobalImportBreaksBoot(t *testing.T) {
	root := seeded(t)
	seed := label(t, root, "pool/idisk0")
	if seed.Vdev.PhysPath != "/zvnex/zvblk@0:b" || seed.Hostname != "kz1" || seed.HostID != 0x2e7d2173 || seed.State != PoolActive {
		t.Fatalf("seed label %+v", seed)
	}
	inUse := fmt.Sprintf("cannot import 'rpool': pool may be in use from other system, it was last accessed by kz1 (hostid: 0x2e7d2173) on %suse '-f' to import anyway\n", asctime(seed.Time))
	list := "  pool: rpool\n    id: 6853210471893427233\n state: ONLINE\n" +
		"status: The pool was last accessed by another system.\n" +
		"action: The pool can be imported using its name or numeric identifier and\n\tthe '-f' flag.\n" +
		"   see: http://www.sun.com/msg/ZFS-8000-EY\nconfig:\n\n" +
		"\trpool                                      ONLINE\n" +
		"\t  c0t600144F0A613C900000054521D550001d0s1  ONLINE\n"
	kzSteps(t, root, []kzStep{
		{"zpool import", 0, list, ""},
		{"zpool import rpool", 1, "", inUse},
		{"zpool import 6853210471893427233", 1, "", strings.Replace(inUse, "'rpool'", "'rpool'", 1)},
		{"zpool import nosuch", 1, "", "cannot import 'nosuch': no such pool available\n"},
		{"zpool import -x rpool", 2, "", "*"},
		{"zpool import -f -R /a -t kz1boot rpool", 0, "", ""},
		{"zpool list -H -o name,altroot", 0, "kz1boot\t/a\npool\t-\n", ""},
		{"zpool import", 0, "", "no pools available to import\n"},
		{"zoneadm -z kz1 boot", 1, "", "zone 'kz1': error: boot device id 0: root pool 'rpool' is imported by the global zone (as 'kz1boot'); export it first\n"},
		{"zpool export nosuch", 1, "", "cannot open 'nosuch': no such pool\n"},
		{"zpool export kz1boot", 0, "", ""},
		{"zpool list -H -o name", 0, "pool\n", ""},
		{"zoneadm -z kz1 boot", 1, "", brokenBoot},
	})
	l := label(t, root, "pool/idisk0")
	want := seed
	want.TXG, want.Time = seed.TXG+2, l.Time
	want.HostID, want.Hostname, want.State = 0x8f3a21c4, "sim-host1", PoolExported
	want.Vdev.Path, want.Vdev.PhysPath, want.Vdev.DevID = "/dev/dsk/c0t"+guid0+"d0s1", "/scsi_vhci/disk@g"+lc0+":b", "id1,sd@n"+lc0+"/b"
	if l != want {
		t.Errorf("label after import+export\n got %+v\nwant %+v", l, want)
	}
	if z := load(t, root).Zone("kz1"); z.State != ZoneInstalled {
		t.Errorf("kz1 is %s after the refused boot, want installed", z.State)
	}
	// Exported: listed without the hostid status, imported without -f.
	kzSteps(t, root, []kzStep{
		{"zpool import", 0, "  pool: rpool\n    id: 6853210471893427233\n state: ONLINE\naction: The pool can be imported using its name or numeric identifier.\nconfig:\n\n" +
			"\trpool                                      ONLINE\n\t  c0t600144F0A613C900000054521D550001d0s1  ONLINE\n", ""},
	})
}

// TestGlobalImportRefusals: what zpool import in the global zone refuses.
func TestGlobalImportRefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(s *State)
		steps []kzStep
	}{
		{"LU offline: no disk", func(s *State) { s.LU(guid0).State = "Offline" }, []kzStep{
			{"zpool import", 0, "", "no pools available to import\n"},
			{"zpool import -f rpool", 1, "", "cannot import 'rpool': no such pool available\n"},
		}},
		{"no view: no disk", func(s *State) { delete(s.ViewTable, guid0) }, []kzStep{
			{"zpool import -f rpool", 1, "", "cannot import 'rpool': no such pool available\n"},
		}},
		{"kz1 running from it", nil, []kzStep{
			{"zoneadm -z kz1 boot", 0, "", ""},
			{"zpool import -f -t x rpool", 1, "", "cannot import 'rpool': pool is in use by kernel zone kz1 (simulator: a second import of an active pool is refused)\n"},
			{"zoneadm -z kz1 halt", 0, "", ""},
			{"zpool import -f -t x rpool", 0, "", ""},
		}},
		{"the name of an imported pool", nil, []kzStep{
			{"zpool import -f rpool pool", 1, "", "cannot import 'rpool' as 'pool': pool already exists\n"},
			{"zpool import -f -t pool rpool", 1, "", "cannot import 'rpool' as 'pool': pool already exists\n"},
			{"zpool import -f -t c1 rpool", 1, "", "cannot import 'rpool' as 'c1': pool name is reserved\n"},
		}},
		{"a new name is persistent, a temporary one is not", nil, []kzStep{
			{"zpool import -f rpool kzroot", 0, "", ""},
			{"zpool export kzroot", 0, "", ""},
			{"zpool import", 0, "*", ""},
			{"zpool import -t x rpool", 1, "", "cannot import 'rpool': no such pool available\n"},
			{"zpool import -t x kzroot", 0, "", ""},
		}},
		{"the illumos form of -t is not Solaris's", nil, []kzStep{
			// -t takes kz1 as its argument: rpool and kz1boot are
			// a pool and a new name as well: refused.
			{"zpool import -f -t rpool kz1boot", 1, "", "cannot import 'kz1boot': no such pool available\n"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			if c.setup != nil {
				if err := Update(root, func(s *State) error { c.setup(s); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			kzSteps(t, root, c.steps)
		})
	}
}

// TestRescue is the procedure: kz1's disk as device id 0 of
// kzrescue, import and export inside it, and kz1 boots again.
func TestRescue(t *testing.T) {
	root := rescueSeeded(t)
	if err := BreakBoot(root, "kz1", &strings.Builder{}, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	broken := label(t, root, "pool/idisk0")
	add := "zonecfg -z kzrescue 'add device; set storage=" + kz1URI + "; set id=0; end'"
	kzSteps(t, root, []kzStep{
		{"zoneadm -z kz1 boot", 1, "", brokenBoot},
		{"zlogin kzrescue zpool list -H -o name", 1, "", "zlogin: login allowed only to running zones (kzrescue is 'installed').\n"},
		{add, 0, "", ""},
		{add, 1, "", "add device: id 0 is already in use\n"},
		{"zoneadm -z kzrescue boot", 0, "", ""},
		{"zonecfg -z kzrescue 'remove device id=0'", 1, "", "zonecfg: simulator: zone 'kzrescue' is running: its device resources are not changed while it runs (zonecfg -r is not simulated)\n"},
		{"zoneadm -z kz1 boot", 1, "", "zone 'kz1': error: device id 0: its volume is in use by kernel zone kzrescue\n"},
		{"zlogin kzrescue zpool list -H -o name", 0, "rpool\n", ""},
		{"zlogin kzrescue zpool import", 0, "  pool: rpool\n    id: 6853210471893427233\n state: ONLINE\n" +
			"action: The pool can be imported using its name or numeric identifier.\nconfig:\n\n\trpool       ONLINE\n\t  c1d0s1    ONLINE\n", ""},
		{"zlogin kzrescue zpool import -f rpool", 1, "", "cannot import 'rpool': a pool with that name already exists\nuse the form 'zpool import <pool | id> <newpool>' to give it a new name\n"},
		{"zlogin kzrescue zpool import -R /mnt/1 -Nf -t kz1 rpool", 0, "", ""},
		{"zlogin kzrescue zpool list -H -o name", 0, "kz1\nrpool\n", ""},
		{"zlogin kzrescue zpool export rpool", 1, "", "zpool: simulator does not export pool 'rpool'\n"},
		{"zlogin kzrescue zpool export kz1", 0, "", ""},
		{"zlogin kzrescue zpool list -H -o name", 0, "rpool\n", ""},
		{"zoneadm -z kzrescue halt", 0, "", ""},
		{"zonecfg -z kzrescue 'remove device id=0'", 0, "", ""},
		{"zonecfg -z kzrescue 'remove device id=0'", 1, "", "remove device: No such resource with that id\n"},
	})
	fixed := label(t, root, "pool/idisk0")
	want := broken
	want.TXG, want.Time = broken.TXG+2, fixed.Time
	want.HostID, want.Hostname, want.State = 0x1b6c4e02, "kzrescue", PoolExported
	want.Vdev.Path, want.Vdev.PhysPath, want.Vdev.DevID = "/dev/dsk/c1d0s1", "/zvnex/zvblk@0:b", "id1,kdev@A000/b"
	if fixed != want {
		t.Errorf("label after the rescue\n got %+v\nwant %+v", fixed, want)
	}
	kzSteps(t, root, []kzStep{
		{"zoneadm -z kz1 boot", 0, "", ""},
		{"zlogin kz1 zpool list -H -o name", 0, "rpool\n", ""},
	})
	if l := label(t, root, "pool/idisk0"); l.Hostname != "kz1" || l.State != PoolActive || l.TXG != want.TXG+1 {
		t.Errorf("label after kz1's boot %+v", l)
	}
	if got := load(t, root).Zone("kzrescue").Devices; len(got) != 1 || got[0].ID != 1 {
		t.Errorf("kzrescue devices after the rescue %+v", got)
	}
}

// TestZoneImportNeedsForce: a label ACTIVE from another hostid needs -f
// inside a zone too; one a zone halted with stays ACTIVE.
func TestZoneImportNeedsForce(t *testing.T) {
	root := rescueSeeded(t)
	l := label(t, root, "pool/idisk0")
	kzSteps(t, root, []kzStep{
		{"zonecfg -z kzrescue 'add device; set storage=" + kz1URI + "; set id=0; end'", 0, "", ""},
		{"zoneadm -z kzrescue boot", 0, "", ""},
		{"zlogin kzrescue zpool import -N -t kz1 rpool", 1, "", fmt.Sprintf("cannot import 'rpool': pool may be in use from other system, it was last accessed by kz1 (hostid: 0x2e7d2173) on %suse '-f' to import anyway\n", asctime(l.Time))},
		{"zlogin kzrescue zpool import -N -f -t kz1 rpool", 0, "", ""},
		// Halted without an export: nothing imported, the label ACTIVE.
		{"zoneadm -z kzrescue halt", 0, "", ""},
		{"zlogin kzrescue zpool list -H -o name", 1, "", "*"},
	})
	if d := load(t, root).Zvol("pool/idisk0"); d.Imported != nil || d.Label.State != PoolActive || d.Label.Vdev.PhysPath != "/zvnex/zvblk@0:b" {
		t.Errorf("after kzrescue's halt: imported %+v label %+v", d.Imported, d.Label)
	}
	// Its phys_path is right for kz1: it boots.
	kzSteps(t, root, []kzStep{{"zoneadm -z kz1 boot", 0, "", ""}})
}

// TestZloginRefusals: zlogin's own refusals (zlogin.c main) and the
// commands the simulator does not run inside a zone.
func TestZloginRefusals(t *testing.T) {
	root := rescueSeeded(t)
	must(t, root, "zoneadm", "-z", "kzrescue", "boot")
	kzSteps(t, root, []kzStep{
		{"zlogin nosuch zpool list", 1, "", "zlogin: zone 'nosuch' unknown\n"},
		{"zlogin global zpool list", 1, "", "zlogin: 'zlogin' not applicable to the global zone\n"},
		{"zlogin kz1 zpool list -H -o name", 1, "", "zlogin: login allowed only to running zones (kz1 is 'installed').\n"},
		{"zlogin kzrescue ls /", 1, "", "zlogin: simulator: only zpool import, export and list run inside kernel zones: ls /\n"},
		{"zlogin kzrescue zpool status", 1, "", "zlogin: simulator: only zpool import, export and list run inside kernel zones\n"},
		{"zlogin kzrescue", 1, "", "zlogin: simulator: interactive login is not simulated\n"},
		{"zlogin kzrescue 'zpool list -H -o name'", 0, "rpool\n", ""},
		{"zlogin kzrescue /usr/sbin/zpool list -H -o name", 0, "rpool\n", ""},
	})
}

// TestZonecfgDevice: add device ... end and remove device (kz-boot.md §5).
func TestZonecfgDevice(t *testing.T) {
	cases := []struct {
		name   string
		flavor string
		steps  []kzStep
	}{
		{"add, info, remove", FlavorSolaris, []kzStep{
			{"zonecfg -z kz1 'add device; set storage=dev:/dev/zvol/dsk/pool/idisk1; set id=3; set bootpri=2; end'", 0, "", ""},
			{"zonecfg -z kz1 info device", 0, "device:\n\tmatch not specified\n\tstorage: " + kz1URI + "\n\tid: 0\n\tbootpri: 0\n" +
				"device:\n\tmatch not specified\n\tstorage: dev:/dev/zvol/dsk/pool/idisk1\n\tid: 3\n\tbootpri: 2\n", ""},
			{"zonecfg -z kz1 'remove device storage=dev:/dev/zvol/dsk/pool/idisk1'", 0, "", ""},
			{"zonecfg -z kz1 'add device; set storage=dev:/dev/zvol/dsk/pool/idisk1; end'", 0, "", ""},
			{"zonecfg -z kz1 'remove device id=1'", 0, "", ""},
			{"zonecfg -z kz1 info device", 0, "device:\n\tmatch not specified\n\tstorage: " + kz1URI + "\n\tid: 0\n\tbootpri: 0\n", ""},
		}},
		{"refusals", FlavorSolaris, []kzStep{
			{"zonecfg -z kz1 'add device; set id=1; end'", 1, "", "storage not specified\n"},
			{"zonecfg -z kz1 'add device; set storage=" + kz1URI + "; set id=1; end'", 1, "", "add device: a device with that storage already exists\n"},
			{"zonecfg -z kz1 'add device; set storage=http://x; end'", 1, "", "storage: invalid storage URI 'http://x'\n"},
			{"zonecfg -z kz1 'add device; set storage=dev:/dev/zvol/dsk/pool/idisk1; set id=-1; end'", 1, "", "id: invalid value '-1'\n"},
			{"zonecfg -z kz1 'add device; set storage=dev:/dev/zvol/dsk/pool/idisk1'", 1, "", "zonecfg: simulator: 'add device' without 'end' is not simulated\n"},
			{"zonecfg -z kz1 'remove device id=7'", 1, "", "remove device: No such resource with that id\n"},
			{"zoneadm -z kz1 boot", 0, "", ""},
			{"zonecfg -z kz1 'add device; set storage=dev:/dev/zvol/dsk/pool/idisk1; set id=1; end'", 1, "", "zonecfg: simulator: zone 'kz1' is running: its device resources are not changed while it runs (zonecfg -r is not simulated)\n"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kzSteps(t, seededFlavor(t, c.flavor), c.steps)
		})
	}
}

// TestIllumosHasNoKernelZonePools: on illumos the seed has no labelled
// disk and no kernel zone (kz-boot.md §1).
func TestIllumosHasNoKernelZonePools(t *testing.T) {
	root := seededFlavor(t, FlavorIllumos)
	kzSteps(t, root, []kzStep{
		{"zpool import", 0, "", "no pools available to import\n"},
		{"zpool import -f -t rpool kz1", 1, "", "cannot import 'rpool': no such pool available\n"},
		{"zlogin kz1 zpool list", 1, "", "zlogin: zone 'kz1' unknown\n"},
	})
	if err := AddRescueZone(root); err == nil {
		t.Error("AddRescueZone on illumos: no error")
	}
}

// TestSnapshotKeepsLabel: the trap: a snapshot taken while the
// label was broken brings the broken label back on rollback, and a clone
// of it has it too (kz-boot.md §4).
func TestSnapshotKeepsLabel(t *testing.T) {
	root := rescueSeeded(t)
	if err := BreakBoot(root, "kz1", &strings.Builder{}, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	broken := label(t, root, "pool/idisk0")
	must(t, root, "zfs", "snapshot", "pool/idisk0@broken")
	must(t, root, "zfs", "clone", "pool/idisk0@broken", "pool/idisk0c")
	if l := label(t, root, "pool/idisk0c"); l != broken {
		t.Errorf("clone's label %+v, want %+v", l, broken)
	}
	// Repair it (the rescue), kz1 boots, then roll back to @broken as a
	// rollback of kz1's disk does.
	add := "zonecfg -z kzrescue 'add device; set storage=" + kz1URI + "; set id=0; end'"
	kzSteps(t, root, []kzStep{
		{add, 0, "", ""},
		{"zoneadm -z kzrescue boot", 0, "", ""},
		{"zlogin kzrescue zpool import -Nf -t kz1 rpool", 0, "", ""},
		{"zlogin kzrescue zpool export kz1", 0, "", ""},
		{"zoneadm -z kzrescue halt", 0, "", ""},
		{"zonecfg -z kzrescue 'remove device id=0'", 0, "", ""},
		{"zoneadm -z kz1 boot", 0, "", ""},
		{"zoneadm -z kz1 halt", 0, "", ""},
		{"stmfadm delete-lu -k " + guid0, 0, "", ""},
		{"zfs rollback pool/idisk0@broken", 0, "", ""},
		{"stmfadm import-lu /dev/zvol/rdsk/pool/idisk0", 0, "*", ""},
		{"zoneadm -z kz1 boot", 1, "", brokenBoot},
	})
	if l := label(t, root, "pool/idisk0"); l != broken {
		t.Errorf("label after rollback to @broken %+v, want %+v", l, broken)
	}
	// @snap1 (before the admin's import) has the zone's own label.
	if sn := load(t, root).Zvol("pool/idisk0").Snapshot("snap1"); sn.Label == nil || sn.Label.Vdev.PhysPath != "/zvnex/zvblk@0:b" {
		t.Errorf("@snap1 label %+v", sn.Label)
	}
}

// TestZloginFaults: fault rules match zlogin and zonecfg invocations by
// substring, like the other commands.
func TestZloginFaults(t *testing.T) {
	root := rescueSeeded(t)
	for _, f := range []Fault{
		{Command: "zlogin", Match: "zpool export", Action: ActionFail, Stderr: "boom"},
		{Command: "zonecfg", Match: "remove device", Action: ActionFail, Stderr: "bang", Exit: 3},
	} {
		if err := AddFault(root, f); err != nil {
			t.Fatal(err)
		}
	}
	kzSteps(t, root, []kzStep{
		{"zonecfg -z kzrescue 'add device; set storage=" + kz1URI + "; set id=0; end'", 0, "", ""},
		{"zoneadm -z kzrescue boot", 0, "", ""},
		{"zlogin kzrescue zpool import -Nf -t kz1 rpool", 0, "", ""},
		{"zlogin kzrescue zpool export kz1", 1, "", "boom\n"},
		{"zlogin kzrescue zpool list -H -o name", 0, "kz1\nrpool\n", ""},
		{"zoneadm -z kzrescue halt", 0, "", ""},
		{"zonecfg -z kzrescue 'remove device id=0'", 3, "", "bang\n"},
	})
	if got := len(load(t, root).Zone("kzrescue").Devices); got != 2 {
		t.Errorf("kzrescue has %d devices after the failed remove, want 2", got)
	}
}

// TestManageRescue: the management commands of the rescue scenario.
func TestManageRescue(t *testing.T) {
	root := t.TempDir()
	var o, e strings.Builder
	if c := Main([]string{"volctl-sim", "seed", root, "--rescue-zone", "--flavor", FlavorSolaris}, nil, &o, &e); c != 0 {
		t.Fatalf("seed --rescue-zone: %d %s", c, e.String())
	}
	s := load(t, root)
	z := s.Zone(RescueZone)
	if z == nil || len(z.Devices) != 1 || z.Devices[0].ID != 1 || s.Zvol(RescueZvol) == nil || s.Zvol(RescueZvol).Label.Vdev.PhysPath != "/zvnex/zvblk@1:b" {
		t.Fatalf("kzrescue not seeded: %+v", z)
	}
	kzSteps(t, root, []kzStep{{"zoneadm -z kzrescue boot", 0, "", ""}, {"zoneadm -z kzrescue halt", 0, "", ""}})
	o.Reset()
	if c := Main([]string{"volctl-sim", "break-boot", root, "kz1"}, nil, &o, &e); c != 0 {
		t.Fatalf("break-boot: %d %s", c, e.String())
	}
	if want := "# zpool import -N -f -t kz1boot 6853210471893427233\n# zpool export kz1boot\n"; o.String() != want {
		t.Errorf("break-boot printed %q, want %q", o.String(), want)
	}
	kzSteps(t, root, []kzStep{{"zoneadm -z kz1 boot", 1, "", brokenBoot}})
	e.Reset()
	if c := Main([]string{"volctl-sim", "break-boot", root, "nosuch"}, nil, &o, &e); c != 1 || !strings.Contains(e.String(), "zone nosuch: not configured") {
		t.Errorf("break-boot nosuch: %d %q", c, e.String())
	}
	if c := Main([]string{"volctl-sim", "rescue-zone", root}, nil, &o, &e); c != 1 {
		t.Errorf("a second rescue-zone: exit %d", c)
	}
}

// TestRescueTwoHosts: kz1 on the zone host, its disk on the storage host;
// kzrescue on the zone host reaches kz1's disk over the fabric, and the
// label it rewrites is the storage host's.
func TestRescueTwoHosts(t *testing.T) {
	dir := t.TempDir()
	storage, zone := dir+"/s", dir+"/z"
	if err := SeedTwoHosts(storage, zone); err != nil {
		t.Fatal(err)
	}
	if err := AddRescueZone(zone); err != nil {
		t.Fatal(err)
	}
	if z := load(t, zone); z.Zvol(RescueZoneHostZvol) == nil || z.Zone(RescueZone).Devices[0].Storage != "dev:/dev/zvol/dsk/"+RescueZoneHostZvol {
		t.Fatalf("kzrescue on the zone host: %+v", z.Zone(RescueZone))
	}
	// The storage host's global zone imports and exports kz1's pool.
	kzSteps(t, storage, []kzStep{
		{"zpool import -f -t x rpool", 0, "", ""},
		{"zpool export x", 0, "", ""},
	})
	kzSteps(t, zone, []kzStep{
		{"zoneadm -z kz1 boot", 1, "", brokenBoot},
		{"zonecfg -z kzrescue 'add device; set storage=" + kz1URI + "; set id=0; end'", 0, "", ""},
		{"zoneadm -z kzrescue boot", 0, "", ""},
		{"zlogin kzrescue zpool import -R /mnt/1 -Nf -t kz1 rpool", 0, "", ""},
		{"zlogin kzrescue zpool export kz1", 0, "", ""},
		{"zoneadm -z kzrescue halt", 0, "", ""},
		{"zonecfg -z kzrescue 'remove device id=0'", 0, "", ""},
		{"zoneadm -z kz1 boot", 0, "", ""},
	})
	if l := label(t, storage, "pool/idisk0"); l.Hostname != "kz1" || l.Vdev.PhysPath != "/zvnex/zvblk@0:b" {
		t.Errorf("storage host's label after the rescue %+v", l)
	}
	if d := load(t, storage).Zvol("pool/idisk0"); d.Imported == nil || d.Imported.By != "kz1" || d.Imported.HostID != ZoneHostID {
		t.Errorf("kz1's root pool imported: %+v", d.Imported)
	}
}
