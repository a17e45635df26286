package kz

import (
	"errors"
	"github.com/volctl/volctl/internal/golden"
	"reflect"
	"strings"
	"testing"
)

// goldenParsers maps a testdata file-name prefix to the parser it feeds.
// Inputs are the samples of docs/platform/zones.md §3.1 and §4.1;
// files named *_derived, *_escaped, *_iscsi extend them in the same format.
var goldenParsers = map[string]golden.Parser{
	"zoneadm": func(b []byte) (any, error) { return ParseZoneadmList(b) },
	"info":    func(b []byte) (any, error) { return ParseInfo(b) },
	"listaux": func(b []byte) (any, error) { return ParseListAux(b) },
	// refs_*: one storage reference a line, each parsed or refused.
	"refs": func(b []byte) (any, error) { return parseRefLines(b), nil },
	// devices_*: a zone's storage references from its zonecfg info.
	"devices": func(b []byte) (any, error) {
		rs, err := ParseInfo(b)
		if err != nil {
			return nil, err
		}
		return Devices(rs)
	},
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

// Literal stderr from docs/platform/zones.md §5.2, §5.3 and §6.2.
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
