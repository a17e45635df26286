package sim

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const (
	guid0 = SeedGUID0
	guid1 = SeedGUID1
	lc0   = "600144f0a613c900000054521d550001"
)

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit: %d\n-- stdout --\n%s-- stderr --\n%s", r.code, r.stdout, r.stderr)
}

func seeded(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := Seed(root); err != nil {
		t.Fatal(err)
	}
	return root
}

func seededFlavor(t *testing.T, flavor string) string {
	t.Helper()
	root := t.TempDir()
	if err := SeedFlavor(root, flavor); err != nil {
		t.Fatal(err)
	}
	return root
}

// run invokes a platform command in-process as ROOT/usr/sbin/<argv[0]>.
func run(t *testing.T, root string, argv ...string) result {
	t.Helper()
	var o, e bytes.Buffer
	full := append([]string{CommandPath(root, argv[0])}, argv[1:]...)
	code := Main(full, nil, &o, &e)
	return result{o.String(), e.String(), code}
}

// must runs a command that has to succeed.
func must(t *testing.T, root string, argv ...string) result {
	t.Helper()
	r := run(t, root, argv...)
	if r.code != 0 {
		t.Fatalf("%s: %v", strings.Join(argv, " "), r)
	}
	return r
}

func load(t *testing.T, root string) *State {
	t.Helper()
	s, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Errorf("%s mismatch\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// TestGolden runs each case on a fresh seed host (FlavorSolaris unless the
// case names a flavor; knobs set through edit): setup commands, then the
// command whose exit code, stdout and stderr are compared with a golden file.
func TestGolden(t *testing.T) {
	cases := []struct {
		name   string
		setup  [][]string
		argv   []string
		flavor string
		edit   func(*State)
	}{
		{"list-lu-v", nil, []string{"stmfadm", "list-lu", "-v", guid0}, "", nil},
		{"list-lu", nil, []string{"stmfadm", "list-lu"}, "", nil},
		{"list-lu-unregistered", [][]string{{"stmfadm", "delete-lu", "-k", guid0}}, []string{"stmfadm", "list-lu", "-v"}, "", nil},
		{"list-view", nil, []string{"stmfadm", "list-view", "-l", guid0}, "", nil},
		{"list-view-entry-missing", nil, []string{"stmfadm", "list-view", "-l", guid0, "1", "5"}, "", nil},
		{"list-view-none", nil, []string{"stmfadm", "list-view", "-l", "600144F0000000000000000000000009"}, "", nil},
		{"list-hg-v", nil, []string{"stmfadm", "list-hg", "-v"}, "", nil},
		{"list-tg", nil, []string{"stmfadm", "list-tg"}, "", nil},
		{"list-state", nil, []string{"stmfadm", "list-state"}, "", nil},
		{"stmfadm-invalid-subcommand", nil, []string{"stmfadm", "frob"}, "", nil},
		{"stmfadm-missing-operand", nil, []string{"stmfadm", "delete-lu"}, "", nil},
		{"stmfadm-required-option", nil, []string{"stmfadm", "list-view"}, "", nil},
		{"stmfadm-invalid-option", nil, []string{"stmfadm", "delete-lu", "-v", guid0}, "", nil},
		{"stmfadm-no-options", nil, []string{"stmfadm", "import-lu", "-k", "/dev/zvol/rdsk/pool/idisk0"}, "", nil},
		{"stmfadm-takes-no-operands", nil, []string{"stmfadm", "list-state", "x"}, "", nil},
		{"import-lu-in-use", nil, []string{"stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0"}, "", nil},
		{"create-lu-guid-in-use", [][]string{{"stmfadm", "delete-lu", "-k", guid1}}, []string{"stmfadm", "create-lu", "-p", "guid=" + guid0, "/dev/zvol/rdsk/pool/idisk1"}, "", nil},
		{"delete-lu-not-found", nil, []string{"stmfadm", "delete-lu", "600144F0000000000000000000000009", "xyz"}, "", nil},
		{"zoneadm-list-cp", nil, []string{"zoneadm", "list", "-cp"}, "", nil},
		{"zoneadm-list-cv", nil, []string{"zoneadm", "list", "-cv"}, "", nil},
		{"zoneadm-z-list-p", nil, []string{"zoneadm", "-z", "kz1", "list", "-p"}, "", nil},
		{"zoneadm-no-such-zone", nil, []string{"zoneadm", "-z", "kz9", "boot"}, "", nil},
		{"zonecfg-info-device", nil, []string{"zonecfg", "-z", "kz1", "info", "device"}, "", nil},
		{"zonecfg-info", nil, []string{"zonecfg", "-z", "kz1", "info"}, "", nil},
		{"attach-key-incorrect", [][]string{
			{"zoneadm", "-z", "kz1", "detach"},
			{"stmfadm", "delete-lu", "-k", guid0},
			{"zfs", "rollback", "pool/idisk0@snap1"},
			{"stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0"},
		}, []string{"zoneadm", "-z", "kz1", "attach"}, "", nil},
		{"attach-no-boot-device", [][]string{
			{"zoneadm", "-z", "kz1", "detach"},
			{"stmfadm", "delete-lu", "-k", guid0},
		}, []string{"zoneadm", "-z", "kz1", "attach"}, "", nil},
		{"rollback-newer", [][]string{
			{"zfs", "snapshot", "pool/idisk0@snap2"},
			{"zfs", "snapshot", "pool/idisk0@snap3"},
		}, []string{"zfs", "rollback", "pool/idisk0@snap1"}, "", nil},
		{"rollback-busy", nil, []string{"zfs", "rollback", "pool/idisk0@snap1"}, "", nil},
		{"rollback-missing-delim", nil, []string{"zfs", "rollback", "pool/idisk0"}, "", nil},
		{"rollback-no-such-snapshot", nil, []string{"zfs", "rollback", "pool/idisk0@nope"}, "", nil},
		{"rollback-usage", nil, []string{"zfs", "rollback"}, "", nil},
		{"snapshot-bad-char", nil, []string{"zfs", "snapshot", "pool/idisk0@bad*"}, "", nil},
		{"snapshot-exists", nil, []string{"zfs", "snapshot", "pool/idisk0@snap1"}, "", nil},
		// docs/platform/zfs-snapshot.md: one snapshot per command on Solaris.
		{"snapshot-many-solaris", nil, []string{"zfs", "snapshot", "pool/idisk0@g", "pool/idisk1@g"}, "", nil},
		{"snapshot-many-illumos", nil, []string{"zfs", "snapshot", "pool/idisk0@g", "pool/idisk1@g"}, FlavorIllumos, nil},
		{"snapshot-probe-solaris", nil, []string{"zfs", "snapshot", "volctl-probe-nopool/a@volctl-probe", "volctl-probe-nopool/b@volctl-probe"}, "", nil},
		{"snapshot-probe-illumos", nil, []string{"zfs", "snapshot", "volctl-probe-nopool/a@volctl-probe", "volctl-probe-nopool/b@volctl-probe"}, FlavorIllumos, nil},
		{"zfs-list-snapshots", nil, []string{"zfs", "list", "-H", "-p", "-o", "name,type,creation,used,referenced", "-t", "snapshot", "-r", "pool"}, "", nil},
		{"zfs-list", nil, []string{"zfs", "list", "-t", "all"}, "", nil},
		{"zfs-list-none", nil, []string{"zfs", "list", "-t", "snapshot", "pool/data"}, "", nil},
		// Solaris 11.4 has no written@ (docs/platform/zfs.md §1): the old golden
		// showed a value.
		{"zfs-get", nil, []string{"zfs", "get", "-H", "-p", "-o", "name,property,value,source", "volsize,written@snap1,type,creation", "pool/idisk0"}, "", nil},
		{"zfs-get-unset-sbd", nil, []string{"zfs", "get", "-H", "-o", "value", "stmf_sbd_lu", "pool/data"}, "", nil},
		{"zfs-get-bad-prop", nil, []string{"zfs", "get", "-H", "nosuch", "pool/idisk0"}, "", nil},
		{"zfs-open-missing", nil, []string{"zfs", "list", "pool/nope"}, "", nil},

		// Flavors (docs/platform/zfs.md §1, zones.md §1) and knobs.
		{"zfs-get-illumos", nil, []string{"zfs", "get", "-H", "-p", "-o", "name,property,value,source", "volsize,written@snap1,type,creation", "pool/idisk0"}, FlavorIllumos, nil},
		{"zfs-get-written-missing-illumos", nil, []string{"zfs", "get", "-H", "-p", "written@nope", "pool/idisk0"}, FlavorIllumos, nil},
		{"zfs-list-written-solaris", nil, []string{"zfs", "list", "-H", "-o", "name,written", "pool/idisk0"}, "", nil},
		{"zfs-list-sort-written-solaris", nil, []string{"zfs", "list", "-H", "-s", "written", "-o", "name"}, "", nil},
		{"zfs-list-t-fs-illumos", nil, []string{"zfs", "list", "-H", "-o", "name", "-t", "fs"}, FlavorIllumos, nil},
		{"zfs-list-no-p", nil, []string{"zfs", "list", "-H", "-p", "-o", "name", "pool"}, "", func(s *State) { s.NoListP = true }},
		{"rollback-newer-illumos", [][]string{
			{"zfs", "snapshot", "pool/idisk0@snap2"},
			{"zfs", "snapshot", "pool/idisk0@snap3"},
		}, []string{"zfs", "rollback", "pool/idisk0@snap1"}, FlavorIllumos, nil},
		{"rollback-newer-openzfs", [][]string{
			{"zfs", "snapshot", "pool/idisk0@snap2"},
			{"zfs", "snapshot", "pool/idisk0@snap3"},
		}, []string{"zfs", "rollback", "pool/idisk0@snap1"}, FlavorOpenZFS, nil},
		{"zoneadm-list-cp-illumos", nil, []string{"zoneadm", "list", "-cp"}, FlavorIllumos, nil},
		{"zoneadm-list-cv-illumos", nil, []string{"zoneadm", "list", "-cv"}, FlavorIllumos, nil},
		{"zoneadm-list-s-illumos", nil, []string{"zoneadm", "list", "-s"}, FlavorIllumos, nil},
		{"zoneadm-list-cs-solaris", nil, []string{"zoneadm", "list", "-cs"}, "", nil},
		{"zoneadm-list-s-solaris", nil, []string{"zoneadm", "list", "-s"}, "", nil},
		{"stmfadm-delete-lu-no-keep", nil, []string{"stmfadm", "delete-lu", "-k", guid0}, "", func(s *State) { s.NoDeleteLUKeep = true }},
		{"zpool-list", nil, []string{"zpool", "list", "-H", "-o", "name"}, "", nil},
		{"zpool-history-no-pool", nil, []string{"zpool", "history", "nope"}, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			if c.flavor != "" {
				root = seededFlavor(t, c.flavor)
			}
			if c.edit != nil {
				if err := Update(root, func(s *State) error { c.edit(s); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range c.setup {
				must(t, root, s...)
			}
			got := "$ " + strings.Join(c.argv, " ") + "\n" + run(t, root, c.argv...).String()
			checkGolden(t, c.name, got)
		})
	}
}

// TestSpecLiterals checks outputs against blocks quoted verbatim in
// docs/platform/, independently of the golden files.
func TestSpecLiterals(t *testing.T) {
	root := seeded(t)
	// An All/All view at the lowest free LUN on a fresh LU
	// (docs/platform/comstar.md §5.1, §5.2; list-state §1.5).
	must(t, root, "zfs", "snapshot", "pool/idisk1@x") // harmless, proves snapshots don't block
	must(t, root, "stmfadm", "delete-lu", guid1)
	r := must(t, root, "stmfadm", "create-lu", "-p", "guid=600144F0000000000000000000000042", "/dev/zvol/rdsk/pool/idisk1")
	if r.stdout != "Logical unit created: 600144F0000000000000000000000042\n" {
		t.Errorf("create-lu stdout = %q", r.stdout)
	}
	must(t, root, "stmfadm", "add-view", "600144F0000000000000000000000042")
	r = must(t, root, "stmfadm", "list-view", "-l", "600144F0000000000000000000000042")
	// LUN 0 is taken by hg-kz/tg-a of the other LU, which overlaps All/All.
	want := "View Entry: 0\n    Host group   : All\n    Target group : All\n    LUN          : 1\n"
	if r.stdout != want {
		t.Errorf("list-view = %q, want %q", r.stdout, want)
	}

	r = must(t, root, "stmfadm", "list-state")
	want = "Operational Status: online\nConfig Status     : initialized\nALUA Status       : disabled\nALUA Node         : 0\n"
	if r.stdout != want {
		t.Errorf("list-state = %q", r.stdout)
	}

	// zonecfg device block (docs/platform/zones.md §4.1) with a dev: URI.
	if err := Update(root, func(s *State) error {
		s.Zone("kz1").Devices[0].Storage = "dev:/dev/zvol/dsk/rpool/VARSHARE/zones/kzone1/disk0"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r = must(t, root, "zonecfg", "-z", "kz1", "info", "device")
	want = "device:\n\tmatch not specified\n\tstorage: dev:/dev/zvol/dsk/rpool/VARSHARE/zones/kzone1/disk0\n\tid: 0\n\tbootpri: 0\n"
	if r.stdout != want {
		t.Errorf("zonecfg info device = %q", r.stdout)
	}

	// zoneadm list -cv lab transcript lines (docs/platform/zones.md §3.2).
	if err := Update(root, func(s *State) error {
		s.Zones = append(s.Zones, &Zone{Name: "kzone1", Brand: "solaris-kz", IPType: "excl", State: ZoneConfigured})
		s.Zones = append(s.Zones, &Zone{Name: "zone1", Brand: "solaris", IPType: "excl", State: ZoneConfigured})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r = must(t, root, "zoneadm", "list", "-cv")
	for _, line := range []string{
		"  ID NAME             STATUS      PATH                         BRAND      IP\n",
		"   0 global           running     /                            solaris    shared\n",
		"   - zone1            configured  /system/zones/zone1          solaris    excl\n",
		"   - kzone1           configured  -                            solaris-kz excl\n",
	} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("zoneadm list -cv lacks %q in\n%s", line, r.stdout)
		}
	}
	r = must(t, root, "zoneadm", "list", "-cp")
	if !strings.HasPrefix(r.stdout, "0:global:running:/::solaris:shared:-:none\n") {
		t.Errorf("zoneadm list -cp = %q", r.stdout)
	}
}

func TestMainManagement(t *testing.T) {
	root := t.TempDir()
	var o, e bytes.Buffer
	sim := func(args ...string) int {
		o.Reset()
		e.Reset()
		return Main(append([]string{"volctl-sim"}, args...), nil, &o, &e)
	}
	if c := sim("init", root); c != 0 {
		t.Fatalf("init: %d %s", c, e.String())
	}
	if _, err := os.Stat(filepath.Join(root, "usr", "sbin")); err != nil {
		t.Fatal(err)
	}
	if c := sim("fault", "add", root, "--cmd", "stmfadm", "--match", "import-lu", "--nth", "1", "--times", "1",
		"--action", "fail", "--exit", "1", "--stderr", "stmfadm: resource busy"); c != 0 {
		t.Fatalf("fault add: %d %s", c, e.String())
	}
	if c := sim("fault", "add", root, "--cmd", "nope", "--action", "fail"); c == 0 {
		t.Error("fault add with a bad command succeeded")
	}
	if c := sim("latency", root, "5ms"); c != 0 {
		t.Fatal(e.String())
	}
	s := load(t, root)
	if len(s.Faults) != 1 || s.Faults[0].Stderr != "stmfadm: resource busy" || s.Latency != "5ms" {
		t.Errorf("state after management: %+v latency %q", s.Faults, s.Latency)
	}
	if c := sim("fault", "clear", root); c != 0 || len(load(t, root).Faults) != 0 {
		t.Error("fault clear did not clear")
	}
	if c := sim("state", root); c != 0 || !strings.Contains(o.String(), `"hostid": "8f3a21c4"`) {
		t.Errorf("state: %d %q", c, o.String())
	}
	if c := sim("bogus", root); c != 2 {
		t.Errorf("bogus subcommand exit %d", c)
	}
}
