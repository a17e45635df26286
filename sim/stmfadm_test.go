package sim

import (
	"strconv"
	"strings"
	"testing"
)

func TestAddView(t *testing.T) {
	cases := []struct {
		name      string
		setup     [][]string
		argv      []string
		code      int
		stderr    string
		wantViews string // "entry:hg/tg/lun ..." of guid1 afterwards; "" = don't check
	}{
		{"identical view exists", nil, []string{"add-view", "-t", "tg-a", guid1}, 1, "stmfadm: view entry exists\n", "0:All/tg-a/1"},
		{"All overlaps a group", nil, []string{"add-view", "-h", "hg-kz", "-t", "tg-a", guid1}, 1, "stmfadm: view entry exists\n", ""},
		{"explicit LUN in use", nil, []string{"add-view", "-t", "tg-b", "-n", "7", guid1}, 1, "stmfadm: LUN already in use\n", ""},
		{"lowest free LUN", nil, []string{"add-view", "-t", "tg-b", guid1}, 0, "", "0:All/tg-a/1 1:All/tg-b/0"},
		{"explicit free LUN", nil, []string{"add-view", "-t", "tg-b", "-n", "9", guid1}, 0, "", "0:All/tg-a/1 1:All/tg-b/9"},
		{"entry numbers reused", [][]string{
			{"stmfadm", "add-view", "-t", "tg-b", "-n", "3", guid1},
			{"stmfadm", "remove-view", "-l", guid1, "0"},
		}, []string{"add-view", "-h", "hg-kz", "-t", "tg-a", "-n", "4", guid1}, 0, "", "0:hg-kz/tg-a/4 1:All/tg-b/3"},
		{"invalid host group", nil, []string{"add-view", "-h", "nope", guid1}, 1, "stmfadm: invalid host group\n", ""},
		{"invalid target group", nil, []string{"add-view", "-t", "nope", guid1}, 1, "stmfadm: invalid target group\n", ""},
		{"LUN too big", nil, []string{"add-view", "-n", "16384", guid1}, 1, "stmfadm: 16384: Logical unit number must be less than 16384\n", ""},
		{"LUN -1 wraps", nil, []string{"add-view", "-n", "-1", guid1}, 1, "stmfadm: 65535: Logical unit number must be less than 16384\n", ""},
		{"short GUID", nil, []string{"add-view", "600144F0"}, 1, "stmfadm: 600144F0: must be 32 hexadecimal digits\n", ""},
		{"view for unregistered GUID", nil, []string{"add-view", "600144f0000000000000000000000077"}, 0, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			for _, s := range c.setup {
				must(t, root, s...)
			}
			r := run(t, root, append([]string{"stmfadm"}, c.argv...)...)
			if r.code != c.code || r.stderr != c.stderr {
				t.Errorf("got exit %d stderr %q, want %d %q", r.code, r.stderr, c.code, c.stderr)
			}
			if c.wantViews != "" {
				if got := viewString(load(t, root), guid1); got != c.wantViews {
					t.Errorf("views = %q, want %q", got, c.wantViews)
				}
			}
		})
	}
}

func viewString(s *State, guid string) string {
	var parts []string
	for _, v := range s.Views(guid) {
		parts = append(parts, strings.Join([]string{
			strconv.Itoa(v.Entry) + ":" + groupName(v.HostGroup), groupName(v.TargetGroup), strconv.Itoa(v.LUN),
		}, "/"))
	}
	return strings.Join(parts, " ")
}

func TestDeleteLU(t *testing.T) {
	cases := []struct {
		name      string
		busy      bool
		argv      []string
		code      int
		stderr    string
		lu, views bool // still registered / still has views
	}{
		{"keep views", false, []string{"delete-lu", "-k", guid0}, 0, "", false, true},
		{"drop views", false, []string{"delete-lu", guid0}, 0, "", false, false},
		{"lowercase GUID", false, []string{"delete-lu", "-k", lc0}, 0, "", false, true},
		{"busy still drops views", true, []string{"delete-lu", guid0}, 1, "stmfadm: resource busy\n", true, false},
		{"busy with -k keeps views", true, []string{"delete-lu", "-k", guid0}, 1, "stmfadm: resource busy\n", true, true},
		{"-k unknown GUID is silent", false, []string{"delete-lu", "-k", "600144F0000000000000000000000009"}, 0, "", true, true},
		{"unknown GUID", false, []string{"delete-lu", "600144F0000000000000000000000009"}, 1, "stmfadm: 600144f0000000000000000000000009: not found\n", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			if c.busy {
				if err := Update(root, func(s *State) error { s.LU(guid0).Busy = true; return nil }); err != nil {
					t.Fatal(err)
				}
			}
			r := run(t, root, append([]string{"stmfadm"}, c.argv...)...)
			if r.code != c.code || r.stderr != c.stderr || r.stdout != "" {
				t.Errorf("got %v, want exit %d stderr %q", r, c.code, c.stderr)
			}
			s := load(t, root)
			if (s.LU(guid0) != nil) != c.lu || (len(s.Views(guid0)) > 0) != c.views {
				t.Errorf("registered=%v views=%v, want %v %v", s.LU(guid0) != nil, len(s.Views(guid0)) > 0, c.lu, c.views)
			}
			// A delete attempt of a registered LU always drops its SMF entry.
			if _, ok := s.ProviderData[lc0]; ok == (c.argv[len(c.argv)-1] != "600144F0000000000000000000000009") {
				t.Errorf("provider data present = %v", ok)
			}
		})
	}
}

func TestImportLU(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(s *State)
		path   string
		code   int
		stdout string
		stderr string
	}{
		{"same GUID back", nil, "/dev/zvol/rdsk/pool/idisk0", 0, "Logical unit imported: " + guid0 + "\n", ""},
		{"dsk alias", nil, "/dev/zvol/dsk/pool/idisk0", 0, "Logical unit imported: " + guid0 + "\n", ""},
		{"no metadata", func(s *State) { delete(s.Zvol("pool/idisk0").Props, "stmf_sbd_lu") }, "/dev/zvol/rdsk/pool/idisk0", 1, "", "stmfadm: meta file error\n"},
		{"garbage metadata", func(s *State) { s.Zvol("pool/idisk0").Props["stmf_sbd_lu"] = "zz" }, "/dev/zvol/rdsk/pool/idisk0", 1, "", "stmfadm: meta file error\n"},
		{"no such zvol", nil, "/dev/zvol/rdsk/pool/nope", 1, "", "stmfadm: meta file error\n"},
		{"filesystem", nil, "/dev/zvol/rdsk/pool/data", 1, "", "stmfadm: meta file error\n"},
		{"other alias holds it", func(s *State) {
			s.register(&LU{GUID: "600144F0000000000000000000000055", Blk: 512, Size: 1 << 30}, "/dev/zvol/dsk/pool/idisk0")
		}, "/dev/zvol/rdsk/pool/idisk0", 1, "", "stmfadm: resource busy\n"},
		{"guid registered elsewhere", func(s *State) {
			// Same metadata planted on idisk1, whose own LU is gone.
			delete(s.LUs, guid1)
			s.Zvol("pool/idisk1").Props["stmf_sbd_lu"] = s.Zvol("pool/idisk0").Props["stmf_sbd_lu"]
			s.register(&LU{GUID: guid0, Blk: 512, Size: 1 << 30}, "/dev/zvol/rdsk/pool/elsewhere")
		}, "/dev/zvol/rdsk/pool/idisk1", 1, "", "stmfadm: guid in use\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			must(t, root, "stmfadm", "delete-lu", "-k", guid0)
			if c.setup != nil {
				if err := Update(root, func(s *State) error { c.setup(s); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			r := run(t, root, "stmfadm", "import-lu", c.path)
			if r.code != c.code || r.stdout != c.stdout || r.stderr != c.stderr {
				t.Errorf("got %v, want exit %d stdout %q stderr %q", r, c.code, c.stdout, c.stderr)
			}
			if c.code == 0 {
				s := load(t, root)
				lu := s.LU(guid0)
				if lu == nil || lu.DataFile != c.path || lu.Alias != "/dev/zvol/rdsk/pool/idisk0" || lu.Size != 1073741824 || lu.State != "Online" {
					t.Errorf("imported LU = %+v", lu)
				}
				if len(s.Views(guid0)) != 2 {
					t.Errorf("views not re-attached: %v", viewString(s, guid0))
				}
			}
		})
	}
}

func TestCreateLU(t *testing.T) {
	t.Run("overwrites metadata before guid in use", func(t *testing.T) {
		root := seeded(t)
		must(t, root, "stmfadm", "delete-lu", "-k", guid1)
		before := load(t, root).Zvol("pool/idisk1").Props["stmf_sbd_lu"]
		r := run(t, root, "stmfadm", "create-lu", "-p", "guid="+guid0, "/dev/zvol/rdsk/pool/idisk1")
		if r.code != 1 || r.stderr != "stmfadm: guid in use\n" {
			t.Fatalf("got %v", r)
		}
		after := load(t, root).Zvol("pool/idisk1").Props["stmf_sbd_lu"]
		m, ok := decodeMeta(after)
		if after == before || !ok || m.GUID != guid0 {
			t.Errorf("property not overwritten with the rejected GUID: %+v", m)
		}
		// Importing now finds the wrong GUID: the hazard the spec warns of.
		if r := run(t, root, "stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk1"); r.stderr != "stmfadm: guid in use\n" {
			t.Errorf("import after bad create: %v", r)
		}
	})
	t.Run("defaults and generated GUID", func(t *testing.T) {
		root := seeded(t)
		must(t, root, "stmfadm", "delete-lu", "-k", guid1)
		r := must(t, root, "stmfadm", "create-lu", "/dev/zvol/dsk/pool/idisk1")
		guid := strings.TrimPrefix(strings.TrimSpace(r.stdout), "Logical unit created: ")
		if !isGUID(guid) || guid != strings.ToUpper(guid) || !strings.HasPrefix(guid, "600144F08F3A21C40000") {
			t.Fatalf("created GUID %q", guid)
		}
		lu := load(t, root).LU(guid)
		if lu.VID != "SUN     " || lu.PID != "COMSTAR         " || lu.Blk != 512 || lu.Alias != "/dev/zvol/dsk/pool/idisk1" || lu.State != "Online" {
			t.Errorf("LU = %+v", lu)
		}
		// The old views of guid1 stay with guid1, not with the new LU.
		if len(load(t, root).Views(guid)) != 0 {
			t.Error("new GUID got views")
		}
	})
	errs := []struct {
		name   string
		argv   []string
		stderr string
	}{
		{"busy through other alias", []string{"create-lu", "/dev/zvol/dsk/pool/idisk0"}, "stmfadm: resource busy\n"},
		{"same path", []string{"create-lu", "/dev/zvol/rdsk/pool/idisk0"}, "stmfadm: filename /dev/zvol/rdsk/pool/idisk0: in use\n"},
		{"missing file", []string{"create-lu", "/dev/zvol/rdsk/pool/nope"}, "stmfadm: data file error\n"},
		{"unknown property", []string{"create-lu", "-p", "foo=1", "/dev/zvol/rdsk/pool/nope"}, "stmfadm: invalid property specified: foo\n"},
		{"no value", []string{"create-lu", "-p", "alias", "/dev/zvol/rdsk/pool/nope"}, "stmfadm: alias: invalid property specifier - prop=val\n\n"},
		{"short guid", []string{"create-lu", "-p", "guid=1234", "/x"}, "stmfadm: unable to set guid: invalid length\n"},
		{"bad guid", []string{"create-lu", "-p", "GUID=600144F0A613C900000054521D55000Z", "/x"}, "stmfadm: unable to set guid: bad format\n"},
		{"bad blk", []string{"create-lu", "-p", "blk=12x", "/x"}, "stmfadm: unable to set blk: bad format\n"},
		{"bad size", []string{"create-lu", "-s", "12Q", "/x"}, "stmfadm: s: size param invalid\n"},
	}
	for _, c := range errs {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			r := run(t, root, append([]string{"stmfadm"}, c.argv...)...)
			if r.code != 1 || r.stderr != c.stderr {
				t.Errorf("got %v, want stderr %q", r, c.stderr)
			}
		})
	}
}

func TestStmfadmMisc(t *testing.T) {
	cases := []struct {
		name   string
		argv   []string
		code   int
		stdout string
		stderr string
	}{
		{"case-insensitive subcommand", []string{"LIST-lu", guid1}, 0, "LU Name: " + guid1 + "\n", ""},
		{"long option", []string{"list-view", "--lu-name=" + guid1}, 0, "View Entry: 0\n    Host group   : All\n    Target group : tg-a\n    LUN          : 1\n", ""},
		{"list-lu malformed operand keeps exit", []string{"list-lu", "abc"}, 0, "", "stmfadm: abc: must be 32 hexadecimal digits long\n"},
		{"list-lu unknown", []string{"list-lu", "600144f0000000000000000000000009"}, 1, "", "stmfadm: 600144f0000000000000000000000009: not found\n"},
		{"remove-view nothing", []string{"remove-view", "-l", guid1}, 1, "", "stmfadm: no view entries specified\n"},
		{"remove-view bad entry", []string{"remove-view", "-l", guid1, "x", "4"}, 1, "", "stmfadm: x: invalid input\nstmfadm: " + strings.ToLower(guid1) + ": 4: not found\n"},
		{"remove-view no views", []string{"remove-view", "-l", "600144F0000000000000000000000009", "0"}, 1, "", "stmfadm: 600144f0000000000000000000000009: no views found\n"},
		{"remove-view -a without -l", []string{"remove-view", "-a"}, 1, "stmfadm: Following option(s) required: l\nUsage:\tstmfadm remove-view [-l, --lu-name <LU-name>] [-a, --all] [<view-entry-number>...]\n", ""},
		{"create-hg exists", []string{"create-hg", "hg-kz"}, 1, "", "stmfadm: hg-kz: already exists\n"},
		{"delete-tg in use", []string{"delete-tg", "tg-a"}, 1, "", "stmfadm: tg-a: group is in use by existing view entry\n"},
		{"delete-hg missing", []string{"delete-hg", "nope"}, 1, "", "stmfadm: nope: not found\n"},
		{"add member elsewhere", []string{"add-tg-member", "-g", "tg-b", "iqn.1986-03.com.sun:02:tgt-a"}, 1, "", "stmfadm: iqn.1986-03.com.sun:02:tgt-a: already exists\n"},
		{"add member again", []string{"add-hg-member", "-g", "hg-kz", "IQN.1986-03.com.sun:01:kz-host1"}, 0, "", ""},
		{"bad member", []string{"add-hg-member", "-g", "hg-kz", "foo", "wwn.123"}, 2, "", "stmfadm: foo: unrecognized device id\nstmfadm: wwn.123: unrecognized device id\n"},
		{"offline unknown", []string{"offline-lu", "600144F0000000000000000000000009"}, 1, "", "stmfadm: 600144F0000000000000000000000009: not found\n"},
		{"version", []string{"-V"}, 0, "stmfadm: Version 1.0\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			r := run(t, root, append([]string{"stmfadm"}, c.argv...)...)
			if r.code != c.code || r.stdout != c.stdout || r.stderr != c.stderr {
				t.Errorf("got %v\nwant exit %d stdout %q stderr %q", r, c.code, c.stdout, c.stderr)
			}
		})
	}
}

func TestListLUSortedWithUnregistered(t *testing.T) {
	root := seeded(t)
	must(t, root, "stmfadm", "add-view", "-t", "tg-b", "0000000000000000000000000000abcd")
	r := must(t, root, "stmfadm", "list-lu")
	want := "LU Name: 0000000000000000000000000000ABCD\nLU Name: " + guid0 + "\nLU Name: " + guid1 + "\n"
	if r.stdout != want {
		t.Errorf("list-lu = %q, want %q", r.stdout, want)
	}
}
