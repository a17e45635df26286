package kz

import (
	"github.com/volctl/volctl/internal/golden"
	"strings"
	"testing"

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

func FuzzStorageGUID(f *testing.F) {
	for _, s := range uriSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := StorageGUID(s)
		if !ok {
			return
		}
		if (len(id) != 16 && len(id) != 32) || strings.ToUpper(id) != id || !isHex(strings.ToLower(id)) {
			t.Fatalf("StorageGUID(%q) = %q", s, id)
		}
	})
}

func FuzzStorageZvol(f *testing.F) {
	for _, s := range uriSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vol, ok := StorageZvol(s)
		if ok && (zfsname.ValidateDatasetName(vol) != nil || !strings.Contains(vol, "/") || !strings.HasSuffix(s, vol)) {
			t.Fatalf("StorageZvol(%q) = %q", s, vol)
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
