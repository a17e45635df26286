package sim

import (
	"strings"
	"testing"
)

func TestRollback(t *testing.T) {
	t.Run("-r destroys newer snapshots before failing busy", func(t *testing.T) {
		root := seeded(t)
		must(t, root, "zfs", "snapshot", "pool/idisk0@snap2")
		r := run(t, root, "zfs", "rollback", "-r", "pool/idisk0@snap1")
		if r.code != 1 || r.stderr != "cannot rollback 'pool/idisk0': dataset is busy\n" {
			t.Fatalf("got %v", r)
		}
		d := load(t, root).Zvol("pool/idisk0")
		if d.Snapshot("snap2") != nil {
			t.Error("snap2 survived")
		}
		if string(d.Data) != "kz1 disk after snap1" {
			t.Errorf("data rolled back anyway: %q", d.Data)
		}
	})
	t.Run("restores data, host data and volsize but not stmf_sbd_lu", func(t *testing.T) {
		root := seededFlavor(t, FlavorIllumos) // written@ exists there (not on Solaris 11.4)
		must(t, root, "stmfadm", "delete-lu", "-k", guid0)
		if err := Update(root, func(s *State) error {
			d := s.Zvol("pool/idisk0")
			d.Volsize = 2 << 30
			d.Props["stmf_sbd_lu"] = "00ff"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got := must(t, root, "zfs", "get", "-Hp", "-o", "value", "written@snap1", "pool/idisk0").stdout; got == "0\n" {
			t.Error("written@snap1 is 0 before rollback")
		}
		r := must(t, root, "zfs", "rollback", "pool/idisk0@snap1")
		if r.stdout != "" || r.stderr != "" {
			t.Errorf("rollback printed %v", r)
		}
		d := load(t, root).Zvol("pool/idisk0")
		if string(d.Data) != "kz1 disk at snap1" || d.HostData.KeyID != "key-1" || d.Volsize != 1<<30 || d.Props["stmf_sbd_lu"] != "00ff" {
			t.Errorf("after rollback: data %q key %q volsize %d prop %q", d.Data, d.HostData.KeyID, d.Volsize, d.Props["stmf_sbd_lu"])
		}
		if got := must(t, root, "zfs", "get", "-Hp", "-o", "value", "written@snap1", "pool/idisk0").stdout; got != "0\n" {
			t.Errorf("written@snap1 = %q after rollback", got)
		}
	})
	t.Run("-R and -f accepted", func(t *testing.T) {
		root := seeded(t)
		must(t, root, "stmfadm", "delete-lu", "-k", guid1)
		must(t, root, "zfs", "snapshot", "pool/idisk1@later")
		must(t, root, "zfs", "rollback", "-Rf", "pool/idisk1@base")
		if load(t, root).Zvol("pool/idisk1").Snapshot("later") != nil {
			t.Error("later survived -R")
		}
	})
	usage := []struct {
		name, argv, stderrPrefix string
		code                     int
	}{
		{"bad option", "rollback -x pool/idisk0@snap1", "invalid option 'x'\nusage:\n", 2},
		{"too many", "rollback a@b c@d", "too many arguments\nusage:\n", 2},
		{"bad name", "rollback pool//x@s", "cannot open 'pool//x@s': empty component in name\n", 1},
	}
	for _, c := range usage {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, seeded(t), append([]string{"zfs"}, strings.Fields(c.argv)...)...)
			if r.code != c.code || !strings.HasPrefix(r.stderr, c.stderrPrefix) {
				t.Errorf("got %v", r)
			}
		})
	}
}

func TestSnapshotNames(t *testing.T) {
	cases := []struct {
		name, arg string
		code      int
		stderr    string
	}{
		{"ok with space", "pool/idisk0@a b", 0, ""},
		{"bad char", "pool/idisk0@a%b", 1, "cannot create snapshot 'pool/idisk0@a%b': invalid character '%' in name\n"},
		{"empty", "pool/idisk0@", 1, "cannot create snapshot 'pool/idisk0@': empty component in name\n"},
		{"two delimiters", "pool/idisk0@a@b", 1, "cannot create snapshot 'pool/idisk0@a@b': multiple '@' and/or '#' delimiters in name\n"},
		{"too long", "pool/idisk0@" + strings.Repeat("x", 250), 1, "cannot create snapshot 'pool/idisk0@" + strings.Repeat("x", 250) + "': name is too long\n"},
		{"no @", "pool/idisk0", 2, "usage:\n"},
		{"no dataset", "pool/nope@s", 2, "cannot open 'pool/nope': dataset does not exist\nusage:\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, seeded(t), "zfs", "snapshot", c.arg)
			if r.code != c.code || !strings.HasPrefix(r.stderr, c.stderr) || (c.stderr == "" && r.stderr != "") {
				t.Errorf("got %v", r)
			}
		})
	}
	// Where one command takes several (illumos, OpenZFS; Solaris refuses a
	// second operand: TestFlavorZFS).
	t.Run("several operands are atomic", func(t *testing.T) {
		root := seededFlavor(t, FlavorIllumos)
		r := run(t, root, "zfs", "snapshot", "pool/idisk1@new", "pool/idisk0@snap1")
		if r.code != 1 || !strings.HasSuffix(r.stderr, "no snapshots were created\n") {
			t.Errorf("got %v", r)
		}
		if load(t, root).Zvol("pool/idisk1").Snapshot("new") != nil {
			t.Error("partial snapshot created")
		}
	})
}

func TestListOrderAndDepth(t *testing.T) {
	root := seeded(t)
	must(t, root, "zfs", "snapshot", "pool/idisk0@zz")
	must(t, root, "zfs", "snapshot", "pool/idisk0@aa")
	cases := []struct {
		name string
		argv []string
		want string
	}{
		{"creation order", []string{"-t", "snapshot", "-r", "pool/idisk0"}, "pool/idisk0@snap1\npool/idisk0@zz\npool/idisk0@aa\n"},
		{"depth 1", []string{"-t", "snapshot", "-d", "1", "pool/idisk0"}, "pool/idisk0@snap1\npool/idisk0@zz\npool/idisk0@aa\n"},
		{"depth 1 from pool", []string{"-t", "all", "-d", "1", "pool"}, "pool\npool/data\npool/idisk0\npool/idisk1\n"},
		{"volumes", []string{"-t", "vol"}, "pool/idisk0\npool/idisk1\n"},
		{"snapshot operand", []string{"pool/idisk1@base"}, "pool/idisk1@base\n"},
		{"no snapshot without -r", []string{"-t", "snapshot", "pool/idisk0"}, ""},
		{"sort by name", []string{"-t", "snapshot", "-s", "name", "-r", "pool/idisk0"}, "pool/idisk0@aa\npool/idisk0@snap1\npool/idisk0@zz\n"},
		{"reverse createtxg", []string{"-t", "snapshot", "-S", "createtxg", "-r", "pool/idisk0"}, "pool/idisk0@aa\npool/idisk0@zz\npool/idisk0@snap1\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			argv := append([]string{"zfs", "list", "-H", "-o", "name"}, c.argv...)
			if r := must(t, root, argv...); r.stdout != c.want {
				t.Errorf("got %q, want %q", r.stdout, c.want)
			}
		})
	}
	if r := run(t, root, "zfs", "list", "-t", "bogus"); r.code != 2 || !strings.HasPrefix(r.stderr, "invalid type 'bogus'\n") {
		t.Errorf("bad type: %v", r)
	}
}

func TestGetProperties(t *testing.T) {
	root := seededFlavor(t, FlavorIllumos) // written@ exists there (not on Solaris 11.4)
	get := func(prop, ds string) string {
		return strings.TrimSuffix(must(t, root, "zfs", "get", "-Hp", "-o", "value", prop, ds).stdout, "\n")
	}
	meta, ok := decodeMeta(get("stmf_sbd_lu", "pool/idisk0"))
	if !ok || meta.GUID != guid0 || meta.Size != 1<<30 {
		t.Errorf("stmf_sbd_lu decodes to %+v", meta)
	}
	if v := get("stmf_sbd_lu", "pool/idisk0"); v != strings.ToLower(v) {
		t.Error("stmf_sbd_lu not lowercase hex")
	}
	if v := get("written@snap9", "pool/idisk0"); v != "-" {
		t.Errorf("written@missing = %q", v)
	}
	if v := get("written@base", "pool/idisk1"); v != "0" {
		t.Errorf("written@base on unchanged volume = %q", v)
	}
	if err := WriteData(root, "pool/idisk1", []byte("changed by an initiator")); err != nil {
		t.Fatal(err)
	}
	if v := get("written@base", "pool/idisk1"); v == "0" || v == "-" {
		t.Errorf("written@base after write = %q", v)
	}
	if b, err := ReadData(root, "pool/idisk1"); err != nil || string(b) != "changed by an initiator" {
		t.Errorf("ReadData = %q, %v", b, err)
	}
	r := must(t, root, "zfs", "get", "-H", "-o", "name,value", "volsize", "pool/idisk0")
	if r.stdout != "pool/idisk0\t1G\n" {
		t.Errorf("human volsize = %q", r.stdout)
	}
}

func TestNicenum(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{{0, "0"}, {1023, "1023"}, {1024, "1K"}, {1536, "1.50K"}, {24576, "24K"}, {1073741824, "1G"}, {1073790976, "1.00G"}, {10737418240, "10G"}, {123456789, "118M"}}
	for _, c := range cases {
		if got := nicenum(c.n); got != c.want {
			t.Errorf("nicenum(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
