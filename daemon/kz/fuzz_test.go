package kz

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volctl/volctl/internal/golden"

	"github.com/volctl/volctl/internal/zfsname"
)

var uriSeeds = []string{
	"iscsi://zfssa/luname.naa.600144F0DBF8AF19000052E820D60003",
	"iscsi://127.0.0.1:3260/luname.naa.600144f03d70c80000004ea57da10001",
	"iscsi:///luname.eui.0123456789ABCDEF",
	"iscsi://[::1]/target.iqn.com.sun:02:d0f2d311-f703,lun.2",
	"lu:initiator.naa.2100001b32a0b0c1,target.naa.2100001b32a0b0c2,luname.naa.600144F0DBF8AF19000052E820D60003",
	"iscsi://system/luname.naa.501337600144f0dbf8af1900",
	"dev:/dev/zvol/dsk/rpool/VARSHARE/zones/kzone1/disk0",
	"dev:zvol/rdsk/tank/vol", "dev:///dev/zvol/dsk/tank/vol", "dev:dsk/c0t0d0s0",
	"nfs://cinder:cinder@host/export/vol1",
}

func FuzzParseZoneadmList(f *testing.F) {
	golden.Seed(f, "zoneadm")
	f.Fuzz(func(t *testing.T, b []byte) {
		zs, err := ParseZoneadmList(b)
		if err != nil {
			return
		}
		for _, z := range zs {
			if z.Name == "" || z.State == "" || (z.ID != "-" && !isDigits(z.ID)) {
				t.Fatalf("zone %+v", z)
			}
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	golden.Seed(f, "info")
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseInfo(b)
		if err != nil {
			return
		}
		for i, r := range rs {
			if r.Props == nil || (r.Type == "" && i != 0) {
				t.Fatalf("resource %d %+v", i, r)
			}
		}
	})
}

func FuzzValidateZoneName(f *testing.F) {
	for _, s := range []string{"kzone1", "global", "SUNWdefault", "-x", "a b", strings.Repeat("z", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateZoneName(s) == nil && (s == "" || len(s) > 63 || s == "global" || strings.ContainsAny(s, " :/\x00")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzStderrClassifiers(f *testing.F) {
	f.Add([]byte("zone 'kzone1': error: ERROR: zone kzone1 is in use by host with  hostid 848611d4\n"))
	f.Add([]byte("zone 'kzone1': error: Encryption key is incorrect.  See solaris-kz(7) for configuration migration\n"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = IsKeyError(b), IsInUseByHost(b) })
}

func FuzzParseListAux(f *testing.F) {
	golden.Seed(f, "listaux")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseListAux(b)
		if err != nil {
			return
		}
		for name := range m {
			if name == "" || strings.ContainsAny(name, " \t\n") {
				t.Fatalf("zone name %q", name)
			}
		}
	})
}

// FuzzParseRef: a reference that parses is one of the forms, with its
// parts in range; a dev: or match path is clean and under /dev.
func FuzzParseRef(f *testing.F) {
	for _, s := range uriSeeds {
		f.Add(s)
	}
	for _, name := range []string{"refs_suri.txt", "refs_bad.txt"} {
		b, _ := os.ReadFile(filepath.Join("testdata", name))
		for _, l := range lines(b) {
			f.Add(l)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !errors.Is(err, ErrRef) {
				t.Fatalf("ParseRef(%q): error %v does not wrap ErrRef", s, err)
			}
			return
		}
		if r.Raw != s || strings.ContainsAny(s, " \t\n\r\x00") {
			t.Fatalf("ParseRef(%q) = %+v", s, r)
		}
		switch r.Scheme {
		case "dev", "match":
			if !r.Glob && (!strings.HasPrefix(r.Path, "/dev/") || strings.Contains(r.Path, "//") ||
				strings.Contains(r.Path+"/", "/./") || strings.Contains(r.Path+"/", "/../")) {
				t.Fatalf("ParseRef(%q): path %q", s, r.Path)
			}
		case "lu", "iscsi", "nfs":
		default:
			t.Fatalf("ParseRef(%q): scheme %q", s, r.Scheme)
		}
		if vol, ok := r.Zvol(); ok && (zfsname.ValidateDatasetName(vol) != nil || !strings.Contains(vol, "/")) {
			t.Fatalf("ParseRef(%q): zvol %q", s, vol)
		}
		for _, id := range []string{r.GUID, r.EUI, r.Initiator} {
			if id != "" && (strings.ToUpper(id) != id || !hexID.MatchString(id)) {
				t.Fatalf("ParseRef(%q): id %q", s, id)
			}
		}
		if tgt, lun, ok := r.TargetLUN(); ok && (lun < 0 || lun > MaxLUN || tgt != strings.ToLower(tgt) || !iscsiName.MatchString(tgt)) {
			t.Fatalf("ParseRef(%q): target %q lun %d", s, tgt, lun)
		}
		if r.GUID != "" && r.EUI != "" {
			t.Fatalf("ParseRef(%q): two LU names", s)
		}
	})
}
