package sim

import (
	"strconv"
	"strings"
	"testing"
)

// The kept dataset of the tests (docs/keep.md §2).
const kept = "pool/idisk0.kept-7-20261207T152435Z"

// transcript runs each command and returns "$ argv" and its result, the
// format of the golden files.
func transcript(t *testing.T, root string, cmds [][]string) string {
	t.Helper()
	var b strings.Builder
	for _, c := range cmds {
		b.WriteString("$ " + strings.Join(c, " ") + "\n" + run(t, root, c...).String())
	}
	return b.String()
}

// keepCommands are what a keep rollback of pool/idisk0 to @snap1 runs
// once the LU is gone (docs/keep.md §3, daemon/zfs/clone.go argv), with
// the reads around them.
func keepCommands() [][]string {
	return [][]string{
		{"zfs", "get", "-H", "-p", "-o", "property,value", "-s", "local", "all", "pool/idisk0"},
		{"zfs", "rename", "pool/idisk0", kept},
		{"zfs", "clone", "-o", "volctl:note=copied", kept + "@snap1", "pool/idisk0"},
		{"zfs", "get", "-H", "-p", "-o", "name,property,value", "origin,used,referenced,refreservation,volsize", "pool/idisk0", kept},
		{"stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0"},
		{"zfs", "promote", "pool/idisk0"},
		{"zfs", "list", "-H", "-p", "-o", "name,origin,used,referenced", "-t", "all", "-r", "pool"},
		{"stmfadm", "create-lu", "-p", "guid=" + guid0, "-p", "alias=/dev/zvol/rdsk/pool/idisk0", "/dev/zvol/rdsk/pool/idisk0"},
		{"zfs", "set", "volctl:kept=operation 7: pool/idisk0 before it went back to pool/idisk0@snap1", kept},
		{"zfs", "get", "-H", "-p", "-o", "name,property,value,source", "-s", "local", "all", "pool/idisk0", kept},
		{"zfs", "get", "-H", "-o", "value", "volctl:kept", kept},
		{"zfs", "destroy", "-r", kept},
		{"zfs", "list", "-H", "-p", "-o", "name,origin", "-t", "all", "-r", "pool"},
	}
}

// TestKeepSequence runs the keep rollback's commands on every flavor and
// compares the whole transcript with a golden file.
func TestKeepSequence(t *testing.T) {
	for _, flavor := range Flavors() {
		t.Run(flavor, func(t *testing.T) {
			root := seededFlavor(t, flavor)
			must(t, root, "stmfadm", "delete-lu", "-k", guid0)
			got := transcript(t, root, keepCommands())
			checkGolden(t, "keep-"+flavor, got)

			s := load(t, root)
			d := s.Zvol("pool/idisk0")
			if string(d.Data) != "kz1 disk at snap1" || d.HostData == nil || d.HostData.KeyID != "key-1" {
				t.Errorf("clone content: data %q host data %+v", d.Data, d.HostData)
			}
			if d.Origin != "" || d.Snapshot("snap1") == nil {
				t.Errorf("after promote: origin %q snapshots %v", d.Origin, d.Snapshots)
			}
			if s.Dataset(kept) != nil {
				t.Error("kept dataset survived destroy -r")
			}
			var hist []string
			for _, h := range s.History {
				hist = append(hist, h.Cmd)
			}
			all := strings.Join(hist, "\n")
			for _, want := range []string{
				"zfs rename pool/idisk0 " + kept,
				"zfs clone -o volctl:note=copied " + kept + "@snap1 pool/idisk0",
				"zfs promote pool/idisk0",
				"zfs set volctl:kept=operation 7: pool/idisk0 before it went back to pool/idisk0@snap1 " + kept,
				"zfs destroy -r " + kept,
			} {
				if !strings.Contains(all, want) {
					t.Errorf("zpool history lacks %q:\n%s", want, all)
				}
			}
		})
	}
}

// TestKeepUndo swaps back: the kept dataset is renamed back under the
// volume's name and promoted (docs/keep.md §3, undo).
func TestKeepUndo(t *testing.T) {
	for _, flavor := range Flavors() {
		t.Run(flavor, func(t *testing.T) {
			root := seededFlavor(t, flavor)
			must(t, root, "stmfadm", "delete-lu", "-k", guid0)
			for _, c := range keepCommands()[1:8] {
				run(t, root, c...)
			}
			const kept2 = "pool/idisk0.kept-8-20261207T160000Z"
			must(t, root, "stmfadm", "delete-lu", "-k", guid0)
			must(t, root, "zfs", "rename", "pool/idisk0", kept2)
			must(t, root, "zfs", "rename", kept, "pool/idisk0")
			must(t, root, "zfs", "promote", "pool/idisk0")
			s := load(t, root)
			d, k := s.Zvol("pool/idisk0"), s.Zvol(kept2)
			if string(d.Data) != "kz1 disk after snap1" || d.HostData.KeyID != "key-2" || d.Origin != "" {
				t.Errorf("undo: data %q key %q origin %q", d.Data, d.HostData.KeyID, d.Origin)
			}
			if k.Origin != "pool/idisk0@snap1" || d.Snapshot("snap1") == nil {
				t.Errorf("undo: %s origin %q, idisk0 snapshots %v", kept2, k.Origin, d.Snapshots)
			}
			if r := run(t, root, "stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0"); r.code != 0 {
				// The data set aside kept its own stmf_sbd_lu.
				t.Errorf("import-lu after undo: %v", r)
			}
		})
	}
}

// TestCloneRefusals: each refusal on each flavor, with its text and exit
// status (docs/platform/zfs-clone.md).
func TestCloneRefusals(t *testing.T) {
	with := func(base [][]string, more ...[]string) [][]string {
		return append(append([][]string(nil), base...), more...)
	}
	setAside := [][]string{{"stmfadm", "delete-lu", "-k", guid0}, {"zfs", "rename", "pool/idisk0", kept}}
	cloned := with(setAside, []string{"zfs", "clone", kept + "@snap1", "pool/idisk0"})
	cases := []struct {
		name    string
		flavors []string // nil: every flavor
		setup   [][]string
		argv    []string
		code    int
		stderr  string
	}{
		{"rename held zvol", []string{FlavorSolaris}, nil,
			[]string{"zfs", "rename", "pool/idisk0", kept}, 1,
			"cannot rename 'pool/idisk0': dataset is busy\n"},
		{"rename onto existing", nil, [][]string{{"stmfadm", "delete-lu", "-k", guid0}},
			[]string{"zfs", "rename", "pool/idisk0", "pool/idisk1"}, 1,
			"cannot rename 'pool/idisk0': dataset already exists\n"},
		{"rename across pools", nil, [][]string{{"stmfadm", "delete-lu", "-k", guid0}},
			[]string{"zfs", "rename", "pool/idisk0", "tank/idisk0"}, 1,
			"cannot rename to 'tank/idisk0': datasets must be within same pool\n"},
		{"rename to missing pool", nil, nil,
			[]string{"zfs", "rename", "pool/idisk0", "nopool/idisk0"}, 1,
			"cannot rename to 'nopool/idisk0': no such pool 'nopool'\n"},
		{"rename missing parent", nil, [][]string{{"stmfadm", "delete-lu", "-k", guid0}},
			[]string{"zfs", "rename", "pool/idisk0", "pool/no/idisk0"}, 1,
			"cannot rename to 'pool/no/idisk0': parent does not exist\n"},
		{"rename missing source", nil, nil,
			[]string{"zfs", "rename", "pool/nope", "pool/x"}, 1,
			"cannot open 'pool/nope': dataset does not exist\n"},
		{"rename one operand", nil, nil,
			[]string{"zfs", "rename", "pool/idisk0"}, 2, "missing target dataset argument\nusage:\n"},
		{"rename -f solaris", []string{FlavorSolaris}, nil,
			[]string{"zfs", "rename", "-f", "pool/idisk0", "pool/x"}, 2, "invalid option 'f'\nusage:\n"},
		{"clone volblocksize", nil, setAside,
			[]string{"zfs", "clone", "-o", "volblocksize=8192", kept + "@snap1", "pool/idisk0"}, 1,
			"cannot create 'pool/idisk0': 'volblocksize' is readonly\n"},
		{"clone refreservation over volsize", nil, setAside,
			[]string{"zfs", "clone", "-o", "refreservation=2147483648", kept + "@snap1", "pool/idisk0"}, 1,
			"cannot create 'pool/idisk0': 'refreservation' is greater than current volume size\n"},
		{"clone volsize not a block multiple", nil, setAside,
			[]string{"zfs", "clone", "-o", "volsize=1000", kept + "@snap1", "pool/idisk0"}, 1,
			"cannot create 'pool/idisk0': 'volsize' must be a multiple of volume block size (8K)\n"},
		{"clone read-only property", nil, setAside,
			[]string{"zfs", "clone", "-o", "origin=x@y", kept + "@snap1", "pool/idisk0"}, 1,
			"cannot create 'pool/idisk0': 'origin' is readonly\n"},
		{"clone unknown property", nil, setAside,
			[]string{"zfs", "clone", "-o", "Volctl:kept=x", kept + "@snap1", "pool/idisk0"}, 1,
			"cannot create 'pool/idisk0': invalid property 'Volctl:kept'\n"},
		{"clone mountpoint on a volume", nil, setAside,
			[]string{"zfs", "clone", "-o", "mountpoint=/x", kept + "@snap1", "pool/idisk0"}, 1,
			"cannot create 'pool/idisk0': 'mountpoint' does not apply to datasets of this type\n"},
		{"clone onto existing", nil, nil,
			[]string{"zfs", "clone", "pool/idisk0@snap1", "pool/idisk1"}, 1,
			"cannot create 'pool/idisk1': dataset already exists\n"},
		{"clone across pools", nil, nil,
			[]string{"zfs", "clone", "pool/idisk0@snap1", "tank/c"}, 1,
			"cannot create 'tank/c': source and target pools differ\n"},
		{"clone of a volume", nil, nil,
			[]string{"zfs", "clone", "pool/idisk0", "pool/c"}, 1,
			"cannot open 'pool/idisk0': operation not applicable to datasets of this type\n"},
		{"clone -o without =", nil, nil,
			[]string{"zfs", "clone", "-o", "volctl:x", "pool/idisk0@snap1", "pool/c"}, 1,
			"missing '=' for -o option\n"},
		{"promote a non-clone", nil, nil,
			[]string{"zfs", "promote", "pool/idisk1"}, 1,
			"cannot promote 'pool/idisk1': not a cloned filesystem\n"},
		{"promote name conflict", nil, with(cloned, []string{"zfs", "snapshot", "pool/idisk0@snap1"}),
			[]string{"zfs", "promote", "pool/idisk0"}, 1,
			"cannot promote 'pool/idisk0': conflicting snapshot 'snap1' from parent '" + kept + "@snap1'\n"},
		{"promote held clone", []string{FlavorSolaris}, append(cloned,
			[]string{"stmfadm", "create-lu", "-p", "guid=" + guid0, "/dev/zvol/rdsk/pool/idisk0"}),
			[]string{"zfs", "promote", "pool/idisk0"}, 1,
			"cannot promote 'pool/idisk0': dataset is busy\n"},
		{"promote a snapshot", nil, nil,
			[]string{"zfs", "promote", "pool/idisk0@snap1"}, 1,
			"cannot open 'pool/idisk0@snap1': operation not applicable to datasets of this type\n"},
		{"promote option", nil, nil,
			[]string{"zfs", "promote", "-f", "pool/idisk0"}, 2, "invalid option 'f'\nusage:\n\tpromote <clone-filesystem>\n"},
		{"destroy -r of an origin", nil, cloned,
			[]string{"zfs", "destroy", "-r", kept}, 1,
			"cannot destroy '" + kept + "': volume has dependent clones\nuse '-R' to destroy the following datasets:\npool/idisk0\n"},
		{"destroy of an origin with snapshots", nil, cloned,
			[]string{"zfs", "destroy", kept}, 1,
			"cannot destroy '" + kept + "': volume has children\nuse '-r' to destroy the following datasets:\n" + kept + "@snap1\n"},
		{"destroy a cloned snapshot solaris", []string{FlavorSolaris}, cloned,
			[]string{"zfs", "destroy", kept + "@snap1"}, 1,
			"cannot destroy '" + kept + "@snap1': snapshot has dependent clones\nuse '-R' to destroy the following datasets:\npool/idisk0\n"},
		{"destroy a cloned snapshot illumos", []string{FlavorIllumos, FlavorOpenZFS}, cloned,
			[]string{"zfs", "destroy", kept + "@snap1"}, 1,
			"cannot destroy snapshot " + kept + "@snap1: snapshot is cloned\n"},
		{"destroy a held clone", nil, append(cloned,
			[]string{"stmfadm", "create-lu", "-p", "guid=" + guid0, "/dev/zvol/rdsk/pool/idisk0"}),
			[]string{"zfs", "destroy", "pool/idisk0"}, 1,
			"cannot destroy 'pool/idisk0': dataset is busy\n"},
		{"rollback -r over a clone", nil, [][]string{
			{"zfs", "snapshot", "pool/idisk0@later"}, {"zfs", "clone", "pool/idisk0@later", "pool/c"},
			{"stmfadm", "delete-lu", "-k", guid0}},
			[]string{"zfs", "rollback", "-r", "pool/idisk0@snap1"}, 1,
			"cannot rollback to 'pool/idisk0@snap1': clones of previous snapshots exist\n" +
				"use '-R' to force deletion of the following clones and dependents:\npool/c\n"},
		{"import-lu of a clone", nil, cloned,
			[]string{"stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0"}, 1, "stmfadm: meta file error\n"},
		// sbd writes the clone's stmf_sbd_lu before stmf refuses the GUID
		// (stmfadm.go), so this refusal changes the host.
		{"create-lu of a registered GUID", nil, cloned,
			[]string{"stmfadm", "create-lu", "-p", "guid=" + guid1, "/dev/zvol/rdsk/pool/idisk0"}, 1, "stmfadm: guid in use\n"},
		{"get -s bad source", nil, nil,
			[]string{"zfs", "get", "-s", "locl", "all", "pool/idisk0"}, 2, "invalid source 'locl'\nusage:\n"},
		{"set read-only", nil, nil,
			[]string{"zfs", "set", "used=1", "pool/idisk0"}, 1, "cannot set property for 'pool/idisk0': 'used' is readonly\n"},
		{"set unknown", nil, nil,
			[]string{"zfs", "set", "nosuch=1", "pool/idisk0"}, 1, "cannot set property for 'pool/idisk0': invalid property 'nosuch'\n"},
		{"set no value", nil, nil,
			[]string{"zfs", "set", "volctl:kept", "pool/idisk0"}, 2, "missing value in property=value argument\nusage:\n"},
		{"inherit non-inheritable", nil, nil,
			[]string{"zfs", "inherit", "refreservation", "pool/idisk0"}, 1,
			"'refreservation' property cannot be inherited\nuse 'zfs set refreservation=none' to clear\n"},
		{"inherit read-only", nil, nil,
			[]string{"zfs", "inherit", "used", "pool/idisk0"}, 1, "used property is read-only\n"},
		{"inherit unknown", nil, nil,
			[]string{"zfs", "inherit", "Volctl:kept", "pool/idisk0"}, 2, "invalid property 'Volctl:kept'\nusage:\n"},
		{"set native on a snapshot", nil, nil,
			[]string{"zfs", "set", "refreservation=none", "pool/idisk0@snap1"}, 1,
			"cannot set property for 'pool/idisk0@snap1': this property can not be modified for snapshots\n"},
	}
	for _, c := range cases {
		flavors := c.flavors
		if flavors == nil {
			flavors = Flavors()
		}
		for _, flavor := range flavors {
			t.Run(c.name+"/"+flavor, func(t *testing.T) {
				root := seededFlavor(t, flavor)
				if err := Update(root, func(s *State) error {
					s.Datasets = append(s.Datasets, &Dataset{Name: "tank", Type: "filesystem", Creation: seedTime, CreateTxg: s.txg()})
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				for _, sc := range c.setup {
					must(t, root, sc...)
				}
				before := load(t, root)
				r := run(t, root, c.argv...)
				if r.code != c.code || !strings.HasPrefix(r.stderr, c.stderr) || (c.code == 1 && r.stderr != c.stderr) {
					t.Fatalf("got %v\nwant exit %d stderr %q", r, c.code, c.stderr)
				}
				if c.code != 0 && c.argv[1] != "create-lu" {
					after := load(t, root)
					a, _ := encodeState(after)
					b, _ := encodeState(before)
					if string(a) != string(b) {
						t.Error("a refused command changed the host")
					}
				}
			})
		}
	}
}

// TestRenameHeldZvol: illumos and OpenZFS rename an open zvol, and the LU
// keeps holding it under its new name (docs/platform/zfs-clone.md §3).
func TestRenameHeldZvol(t *testing.T) {
	for _, flavor := range []string{FlavorIllumos, FlavorOpenZFS} {
		t.Run(flavor, func(t *testing.T) {
			root := seededFlavor(t, flavor)
			must(t, root, "zfs", "rename", "pool/idisk0", kept)
			s := load(t, root)
			if lu := s.LU(guid0); lu.Held != kept || s.holder(kept) != lu || s.holder("pool/idisk0") != nil {
				t.Fatalf("LU after rename: %+v", lu)
			}
			if r := run(t, root, "zfs", "destroy", "-r", kept); r.code != 1 || r.stderr != "cannot destroy '"+kept+"': dataset is busy\n" {
				t.Errorf("destroy of the held, renamed zvol: %v", r)
			}
			must(t, root, "zfs", "clone", kept+"@snap1", "pool/idisk0")
			must(t, root, "zfs", "promote", "pool/idisk0") // illumos: no busy check on heads
			must(t, root, "stmfadm", "delete-lu", "-k", guid0)
			must(t, root, "stmfadm", "create-lu", "-p", "guid="+guid0, "/dev/zvol/rdsk/pool/idisk0")
			if h := load(t, root).holder("pool/idisk0"); h == nil || h.GUID != guid0 {
				t.Errorf("create-lu on the clone: holder %+v", h)
			}
		})
	}
}

// TestGetSourceFilter: -s keeps only the rows of the sources named; a
// clone's properties given with -o are local, its origin is not.
func TestGetSourceFilter(t *testing.T) {
	for _, flavor := range Flavors() {
		t.Run(flavor, func(t *testing.T) {
			root := seededFlavor(t, flavor)
			must(t, root, "zfs", "set", "volctl:a=1", "pool")
			must(t, root, "zfs", "clone", "-o", "volctl:b=2", "-o", "refreservation=1048576", "pool/idisk0@snap1", "pool/c")
			got := must(t, root, "zfs", "get", "-H", "-p", "-o", "property,value,source", "-s", "local", "all", "pool/c").stdout
			want := "volsize\t1073741824\tlocal\nrefreservation\t1048576\tlocal\nvolctl:b\t2\tlocal\n"
			if got != want {
				t.Errorf("-s local:\n%s\nwant:\n%s", got, want)
			}
			got = must(t, root, "zfs", "get", "-H", "-o", "property,value,source", "-s", "inherited,none", "origin,volctl:a,volctl:zz", "pool/c").stdout
			want = "origin\tpool/idisk0@snap1\t-\nvolctl:a\t1\tinherited from pool\nvolctl:zz\t-\t-\n"
			if got != want {
				t.Errorf("-s inherited,none:\n%s\nwant:\n%s", got, want)
			}
			if got := must(t, root, "zfs", "get", "-H", "-o", "value", "clones", "pool/idisk0@snap1").stdout; got != "pool/c\n" {
				t.Errorf("clones = %q", got)
			}
		})
	}
}

// TestCloneSpace: a fresh clone holds nothing of its own; after promote
// the space of the shared snapshot moves to the promoted volume and no
// figure is negative.
func TestCloneSpace(t *testing.T) {
	root := seeded(t)
	must(t, root, "stmfadm", "delete-lu", "-k", guid0)
	get := func(ds, prop string) int64 {
		t.Helper()
		out := strings.TrimSpace(must(t, root, "zfs", "get", "-H", "-p", "-o", "value", prop, ds).stdout)
		n, err := strconv.ParseInt(out, 10, 64)
		if err != nil || n < 0 {
			t.Fatalf("%s %s = %q", ds, prop, out)
		}
		return n
	}
	usedBefore := get("pool/idisk0", "used")
	must(t, root, "zfs", "rename", "pool/idisk0", kept)
	must(t, root, "zfs", "clone", kept+"@snap1", "pool/idisk0")
	if u := get("pool/idisk0", "used"); u != 0 {
		t.Errorf("fresh clone used %d, want 0 (nothing of its own, no refreservation)", u)
	}
	if get(kept, "used") != usedBefore {
		t.Errorf("kept used %d, the volume had %d", get(kept, "used"), usedBefore)
	}
	if get("pool/idisk0", "referenced") != get(kept+"@snap1", "referenced") {
		t.Error("clone does not reference its origin's data")
	}
	must(t, root, "zfs", "promote", "pool/idisk0")
	// The promoted volume now owns the blocks it shares with its
	// snapshot (a volume's used counts what it references).
	if got, want := get("pool/idisk0", "used"), get("pool/idisk0", "referenced")+get("pool/idisk0@snap1", "used"); got != want {
		t.Errorf("promoted volume used %d, want referenced + snapshot used = %d", got, want)
	}
	if u := get(kept, "used"); u != 1073741824 {
		t.Errorf("kept used %d after promote, want its refreservation", u)
	}
}

// TestCloneFaults: fault rules match the new commands by name like any
// other (sim/fault.go), with the usual effects.
func TestCloneFaults(t *testing.T) {
	root := seeded(t)
	must(t, root, "stmfadm", "delete-lu", "-k", guid0)
	must(t, root, "zfs", "rename", "pool/idisk0", kept)
	must(t, root, "zfs", "clone", kept+"@snap1", "pool/idisk0")
	if err := AddFault(root, Fault{Command: "zfs", Match: "promote", Action: ActionFail, Stderr: "injected"}); err != nil {
		t.Fatal(err)
	}
	if r := run(t, root, "zfs", "promote", "pool/idisk0"); r.code != 1 || r.stderr != "injected\n" {
		t.Fatalf("fail: %v", r)
	}
	if load(t, root).Zvol("pool/idisk0").Origin == "" {
		t.Fatal("a failed promote changed the host")
	}
	must(t, root, "zfs", "rename", "pool/idisk0", "pool/other") // not matched
	must(t, root, "zfs", "rename", "pool/other", "pool/idisk0")
	if err := ClearFaults(root); err != nil {
		t.Fatal(err)
	}
	if err := AddFault(root, Fault{Command: "zfs", Match: "promote pool/idisk0", Action: ActionFailAfter, Stderr: "lost"}); err != nil {
		t.Fatal(err)
	}
	if r := run(t, root, "zfs", "promote", "pool/idisk0"); r.code != 1 {
		t.Fatalf("fail-after: %v", r)
	}
	s := load(t, root)
	if s.Zvol("pool/idisk0").Origin != "" || s.Zvol(kept).Origin != "pool/idisk0@snap1" {
		t.Error("fail-after did not promote")
	}
	for _, h := range s.History {
		if strings.HasPrefix(h.Cmd, "zfs promote") {
			t.Errorf("a promote the caller saw fail is in zpool history: %q", h.Cmd)
		}
	}
}

// TestCloneDependents: what -R takes along, inherit, a snapshot rename
// that carries its clones' origin, clone -p onto an existing dataset.
func TestCloneDependents(t *testing.T) {
	for _, flavor := range Flavors() {
		t.Run(flavor, func(t *testing.T) {
			root := seededFlavor(t, flavor)
			must(t, root, "stmfadm", "delete-lu", "-k", guid0)
			must(t, root, "zfs", "snapshot", "pool/idisk0@later")
			must(t, root, "zfs", "clone", "-o", "volctl:b=2", "pool/idisk0@later", "pool/c")
			must(t, root, "zfs", "rename", "pool/idisk0@later", "newer")
			if o := load(t, root).Dataset("pool/c").Origin; o != "pool/idisk0@newer" {
				t.Errorf("origin after the snapshot rename: %q", o)
			}
			if r := must(t, root, "zfs", "clone", "-p", "pool/idisk0@snap1", "pool/c"); r.stderr != "" {
				t.Errorf("clone -p onto an existing dataset: %v", r)
			}
			must(t, root, "zfs", "inherit", "volctl:b", "pool/c")
			if got := must(t, root, "zfs", "get", "-H", "-o", "value,source", "volctl:b", "pool/c").stdout; got != "-\t-\n" {
				t.Errorf("after inherit: %q", got)
			}
			must(t, root, "zfs", "rollback", "-R", "pool/idisk0@snap1")
			s := load(t, root)
			if s.Dataset("pool/c") != nil || s.Zvol("pool/idisk0").Snapshot("newer") != nil {
				t.Error("rollback -R left the clone or the newer snapshot")
			}
			must(t, root, "zfs", "clone", "pool/idisk0@snap1", "pool/c2")
			must(t, root, "zfs", "destroy", "-R", "pool/idisk0")
			if s := load(t, root); s.Dataset("pool/c2") != nil || s.Dataset("pool/idisk0") != nil {
				t.Error("destroy -R left the volume or its clone")
			}
		})
	}
}
