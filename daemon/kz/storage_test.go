package kz

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// refResult is one line of a refs_* golden file.
type refResult struct {
	Ref   *Ref   `json:",omitempty"`
	Error string `json:",omitempty"`
}

func parseRefLines(b []byte) []refResult {
	var out []refResult
	for _, l := range lines(b) {
		if l == "" {
			continue
		}
		r, err := ParseRef(l)
		if err != nil {
			out = append(out, refResult{Error: err.Error()})
			continue
		}
		out = append(out, refResult{Ref: &r})
	}
	return out
}

// TestRefsGolden: every example of suri(7) and the zones guides parses,
// and every line of refs_bad.txt is refused.
func TestRefsGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		ok   bool
	}{{"refs_suri.txt", true}, {"refs_bad.txt", false}} {
		for _, r := range parseRefLines(readTestdata(t, tc.file)) {
			if (r.Error == "") != tc.ok {
				t.Errorf("%s: %+v", tc.file, r)
			}
		}
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in                 string
		zvol, guid, target string
		lun                int
	}{
		{in: "dev:/dev/zvol/dsk/pool//idisk0", zvol: "pool/idisk0", lun: -1},
		{in: "dev:zvol/rdsk/pool/./idisk0", zvol: "pool/idisk0", lun: -1},
		{in: "dev:///dev/zvol/rdsk/pool/idisk0", zvol: "pool/idisk0", lun: -1},
		{in: "match=/dev/zvol/rdsk/pool//idisk0", zvol: "pool/idisk0", lun: -1},
		{in: "dev:/dev/dsk/c0t600144f0a613c900000054521d550001d0s0", guid: "600144F0A613C900000054521D550001", lun: -1},
		{in: "match=/dev/rdsk/c3t600144F0A613C900000054521D550001d0", guid: "600144F0A613C900000054521D550001", lun: -1},
		{in: "dev:/dev/dsk/c2t5006016039A0F1A2d0", lun: -1}, // a target port WWN, not an LU name
		{in: "dev:dsk/c9t0d0", lun: -1},
		{in: "iscsi://127.0.0.1:3260/luname.naa.600144f0a613c900000054521d550001", guid: "600144F0A613C900000054521D550001", lun: -1},
		{in: "lu:initiator.naa.2100001d38089fb0,target.naa.2100001d38089fb0,luname.naa.600144f0a613c900000054521d550001",
			guid: "600144F0A613C900000054521D550001", lun: -1},
		{in: "iscsi://127.0.0.1:3260/target.iqn.1986-03.com.sun:02:tgt-b,lun.7", target: "iqn.1986-03.com.sun:02:tgt-b", lun: 7},
		{in: "iscsi:///target.IQN.1986-03.COM.SUN:02:TGT-B,LUN.16383", target: "iqn.1986-03.com.sun:02:tgt-b", lun: 16383},
		{in: "nfs://admin:staff@host:1000/export/test/nfs_file", lun: -1},
	} {
		r, err := ParseRef(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		zvol, _ := r.Zvol()
		guid := r.GUID
		if g, ok := r.DiskGUID(); ok {
			guid = g
		}
		target, lun, ok := r.TargetLUN()
		if !ok {
			lun = -1
		}
		if zvol != tc.zvol || guid != tc.guid || target != tc.target || lun != tc.lun || r.Raw != tc.in {
			t.Errorf("%s: zvol %q guid %q target %q lun %d, want %q %q %q %d", tc.in, zvol, guid, target, lun, tc.zvol, tc.guid, tc.target, tc.lun)
		}
	}
	if _, err := ParseRef("dev:/dev/zvol/dsk/pool/../x"); !errors.Is(err, ErrRef) || !strings.Contains(err.Error(), `".."`) {
		t.Errorf(`"..": %v`, err)
	}
}

func TestRefNames(t *testing.T) {
	const guid = "600144F0A613C900000054521D550001"
	for _, tc := range []struct {
		in        string
		zvol, lu  bool
		otherZvol bool
	}{
		{in: "dev:/dev/zvol/dsk/pool//idisk0", zvol: true},
		{in: "dev:/dev/zvol/dsk/pool/idisk00"},
		{in: "match=/dev/zvol/rdsk/pool/idisk0", zvol: true},
		{in: "match=/dev/zvol/*dsk/pool/idisk?", zvol: true, otherZvol: true},
		{in: "match=/dev/zvol/rdsk/pool/[!i]disk0"},
		{in: "match=/dev/*dsk/c0t600144f0a613c900000054521d550001d0s*", lu: true},
		{in: "match=/dev/rdsk/c*t" + guid + "d0", lu: true},
		{in: "match=/dev/rdsk/c0t0d0s*"},
		{in: "dev:/dev/rdsk/c1t" + guid + "d0p0", lu: true},
		{in: "lu:luname.naa." + strings.ToLower(guid), lu: true},
		{in: "iscsi://h/luname.naa." + guid, lu: true},
		{in: "iscsi://h/luname.eui.0021280001cf80f6"},
		{in: "nfs://a:b@h/export/f"},
	} {
		r, err := ParseRef(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := r.NamesZvol("pool/idisk0"); got != tc.zvol {
			t.Errorf("%s: NamesZvol(pool/idisk0) = %v", tc.in, got)
		}
		if got := r.NamesZvol("pool/idisk1"); got != tc.otherZvol {
			t.Errorf("%s: NamesZvol(pool/idisk1) = %v", tc.in, got)
		}
		if got := r.NamesGUID(guid); got != tc.lu {
			t.Errorf("%s: NamesGUID = %v", tc.in, got)
		}
		if r.NamesGUID("600144F0A613C900000054521D550002") {
			t.Errorf("%s names another GUID", tc.in)
		}
	}
}

func TestDevices(t *testing.T) {
	rs, err := ParseInfo(readTestdata(t, "devices_zoss.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Devices(rs)
	if err != nil || len(ds) != 3 || ds[0].Resource != "rootzpool" || ds[0].BootPri != 0 || ds[1].BootPri != 0 ||
		ds[2].Resource != "zpool" || ds[2].BootPri != -1 || !strings.Contains(ds[2].Storage, "lun.7") {
		t.Errorf("zoss: %+v %v", ds, err)
	}
	for _, f := range []string{"devices_both.txt", "devices_rootzpool_empty.txt"} {
		rs, err := ParseInfo(readTestdata(t, f))
		if err != nil {
			t.Fatal(err)
		}
		if ds, err := Devices(rs); err == nil {
			t.Errorf("%s: %+v, want a refusal", f, ds)
		}
	}
	rs, _ = ParseInfo([]byte("device:\n\tstorage: dev:dsk/c0t0d0\n\tstorage: dev:dsk/c0t1d0\n"))
	if ds, err := Devices(rs); err == nil {
		t.Errorf("two storage properties in a device: %+v", ds)
	}
}

func TestParseInfoQuoted(t *testing.T) {
	rs, err := ParseInfo(readTestdata(t, "info_quoted.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Props["bootargs"] != "-m verbose" {
		t.Errorf("bootargs %q", rs[0].Props["bootargs"])
	}
	if vs := rs[1].Values("value"); len(vs) != 2 || vs[0] != "two words" || vs[1] != `"not "really" quoted"` {
		t.Errorf("values %q", vs)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
