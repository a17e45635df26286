package kz

import (
	"errors"
	"github.com/volctl/volctl/internal/golden"
	"reflect"
	"strings"
	"testing"
)

// goldenParsers maps a testdata file-name prefix to the parser it feeds.
// Inputs are the literal outputs of spec kernel-zones.md §2.2 and §3.2;
// files named *_derived, *_escaped, *_iscsi extend them in the same format.
var goldenParsers = map[string]golden.Parser{
	"zoneadm": func(b []byte) (any, error) { return ParseZoneadmList(b) },
	"info":    func(b []byte) (any, error) { return ParseInfo(b) },
	"listaux": func(b []byte) (any, error) { return ParseListAux(b) },
}

func TestGolden(t *testing.T) { golden.Run(t, goldenParsers) }

func TestParseZoneadmList(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Zone
		wantErr  bool
	}{
		{name: "single zone, no trailing fields", in: "-:kz1:installed:/z:u:solaris-kz:excl\n",
			want: []Zone{{"-", "kz1", "installed", "/z", "u", "solaris-kz", "excl"}}},
		{name: "crlf", in: "3:kz1:running:/z:u:solaris-kz:excl:-:\r\n",
			want: []Zone{{"3", "kz1", "running", "/z", "u", "solaris-kz", "excl"}}},
		{name: "backslash not before colon kept", in: `-:kz1:installed:/a\b\:c:u:solaris-kz:excl`,
			want: []Zone{{"-", "kz1", "installed", `/a\b:c`, "u", "solaris-kz", "excl"}}},
		{name: "too few fields", in: "-:kz1:installed:/z:u:solaris-kz\n", wantErr: true},
		{name: "bad id", in: "x:kz1:installed:/z:u:solaris-kz:excl\n", wantErr: true},
		{name: "empty state", in: "-:kz1::/z:u:solaris-kz:excl\n", wantErr: true},
		{name: "empty", in: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseZoneadmList([]byte(tc.in))
			if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v, err=%v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseInfo(t *testing.T) {
	got, err := ParseInfo([]byte("device:\n\tstorage: lu:luname.naa.600144F0DBF8AF19000052E820D60003\n\tid: 0\ndevice:\n\tmatch not specified\n"))
	want := []Resource{
		{Type: "device", Props: map[string]string{"storage": "lu:luname.naa.600144F0DBF8AF19000052E820D60003", "id": "0"}},
		{Type: "device", Props: map[string]string{}},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v", got, err)
	}
	if got, err := ParseInfo(nil); err != nil || got != nil {
		t.Errorf("empty: %+v %v", got, err)
	}
}

func TestStorageGUID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"iscsi://zfssa/luname.naa.600144F0DBF8AF19000052E820D60003", "600144F0DBF8AF19000052E820D60003"},
		{"iscsi://127.0.0.1:3260/luname.naa.600144f03d70c80000004ea57da10001", "600144F03D70C80000004EA57DA10001"},
		{"iscsi:///luname.naa.600144F035FF8500000050C884E50001", "600144F035FF8500000050C884E50001"},
		{"ISCSI://[::1]:3260/LUNAME.NAA.600144f035ff8500000050c884e50001", "600144F035FF8500000050C884E50001"},
		{"lu:luname.naa.600144F0DBF8AF19000052E820D60003", "600144F0DBF8AF19000052E820D60003"},
		{"lu:initiator.naa.2100001b32a0b0c1,target.naa.2100001b32a0b0c2,luname.naa.600144F0DBF8AF19000052E820D60003", "600144F0DBF8AF19000052E820D60003"},
		{"iscsi://system/luname.naa.501337600144f0db", "501337600144F0DB"},
		{"iscsi://system/luname.naa.501337600144f0dbf8af1900", ""}, // 24 digits (spec §3.2 sample): neither 16 nor 32
		{"iscsi:///luname.eui.0123456789ABCDEF", ""},
		{"iscsi://[::1]/target.iqn.com.sun:02:d0f2d311-f703,lun.2", ""},
		{"iscsi:///luname.naa.600144F0DBF8AF19000052E820D6000", ""},
		{"iscsi:///luname.naa.600144F0DBF8AF19000052E820D60003X", ""},
		{"iscsi:///xluname.naa.600144F0DBF8AF19000052E820D60003", ""},
		{"iscsi:///luname.naa.600144F0DBF8AF19000052E820D60003,luname.naa.600144F0DBF8AF19000052E820D60004", ""},
		{"dev:/dev/dsk/luname.naa.600144F0DBF8AF19000052E820D60003", ""},
		{"nfs://u:g@h/luname.naa.600144F0DBF8AF19000052E820D60003", ""},
		{"", ""},
	} {
		got, ok := StorageGUID(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("StorageGUID(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestStorageZvol(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"dev:/dev/zvol/dsk/rpool/VARSHARE/zones/kzone1/disk0", "rpool/VARSHARE/zones/kzone1/disk0"},
		{"dev:/dev/zvol/rdsk/tank/vol", "tank/vol"},
		{"dev:zvol/dsk/tank/vol", "tank/vol"},
		{"dev:///dev/zvol/dsk/tank/vol", "tank/vol"},
		{"DEV:/dev/zvol/dsk/tank/vol", "tank/vol"},
		{"dev:/dev/zvol/dsk/tank", ""},
		{"dev:/dev/zvol/dsk/tank/vol/", ""},
		{"dev:/dev/zvol/dsk/tank//vol", ""},
		{"dev:/dev/zvol/dsk/tank/../etc", ""},
		{"dev:/dev/zvol/dsk/tank/my vol", ""},
		{"dev:/dev/dsk/c0t0d0", ""},
		{"dev:dsk/c0t0d0s0", ""},
		{"dev://dev/zvol/dsk/tank/vol", ""},
		{"iscsi:///luname.naa.600144F0DBF8AF19000052E820D60003", ""},
		{"/dev/zvol/dsk/tank/vol", ""},
		{"", ""},
	} {
		got, ok := StorageZvol(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("StorageZvol(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

// Literal stderr from spec §1.2, §1.3 and §4.2.
func TestStderrClassifiers(t *testing.T) {
	inUse := "zone 'kzone1': error: ERROR: zone kzone1 is in use by host with  hostid 848611d4\nzone 'kzone1': error:       last known state: installed\n"
	key := "zone 'kzone1': error: Encryption key is incorrect.  See solaris-kz(7) for configuration migration\nzone 'kzone1': procedure or update /etc/zones/keys/kzone1.\n"
	for _, tc := range []struct {
		in         string
		key, inUse bool
	}{
		{inUse, false, true},
		{key, true, false},
		{"zone 'kzone1': procedure or update /etc/zones/keys/kzone1.\n", true, false},
		{"zoneadm: zone 'kzone1': another zoneadm may have an operation in progress.\n", false, false},
		{"could not read host data from any boot device\n", false, false},
		{"", false, false},
	} {
		if IsKeyError([]byte(tc.in)) != tc.key || IsInUseByHost([]byte(tc.in)) != tc.inUse {
			t.Errorf("%q: IsKeyError=%v IsInUseByHost=%v", tc.in, IsKeyError([]byte(tc.in)), IsInUseByHost([]byte(tc.in)))
		}
	}
}

func TestValidateZoneName(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"kzone1", true},
		{"0zone", true},
		{"kz.prod_01-a", true},
		{strings.Repeat("z", 63), true},
		{strings.Repeat("z", 64), false},
		{"", false},
		{"global", false},
		{"Global", true},
		{"SUNWdefault", false},
		{"sunwx", true},
		{"-kz", false},
		{"_kz", false},
		{".kz", false},
		{"kz 1", false},
		{"kz:1", false},
		{"kz/1", false},
		{"kzö", false},
	} {
		err := ValidateZoneName(tc.in)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidZoneName)) {
			t.Errorf("ValidateZoneName(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

// The target form of suri(7) / kernel-zones.md §3.3, and what is not it.
func TestStorageTargetLUN(t *testing.T) {
	tests := []struct {
		uri    string
		target string
		lun    int
		ok     bool
	}{
		{"iscsi://[::1]/target.iqn.com.sun:02:d0f2d311-f703,lun.2", "iqn.com.sun:02:d0f2d311-f703", 2, true},
		{"iscsi:///target.iqn.1986-03.com.sun:02:tgt-a,lun.0", "iqn.1986-03.com.sun:02:tgt-a", 0, true},
		{"iscsi://10.0.0.1:3260/TARGET.iqn.x:y,LUN.16383", "iqn.x:y", 16383, true},
		{"iscsi://h/target.iqn.x,lun.16384", "", 0, false},
		{"iscsi://h/target.iqn.x,lun.-1", "", 0, false},
		{"iscsi://h/target.iqn.x", "", 0, false},
		{"iscsi://h/luname.naa.600144f0a613c900000054521d550001", "", 0, false},
		{"lu:target.iqn.x,lun.1", "", 0, false},
		{"iscsi://h/target.,lun.1", "", 0, false},
	}
	for _, tt := range tests {
		target, lun, ok := StorageTargetLUN(tt.uri)
		if target != tt.target || lun != tt.lun || ok != tt.ok {
			t.Errorf("StorageTargetLUN(%q) = %q, %d, %v; want %q, %d, %v", tt.uri, target, lun, ok, tt.target, tt.lun, tt.ok)
		}
	}
}
