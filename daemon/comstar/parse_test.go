package comstar

import (
	"reflect"
	"strings"
	"testing"

	"github.com/volctl/volctl/internal/golden"
)

// goldenParsers maps a testdata file-name prefix to the parser it feeds.
// Inputs are the samples of docs/platform/comstar.md §2, §4, §5 and §6
// (listlu_verbose is the §4.2 sample with its placeholder GUID replaced by
// the §2.1 sample GUID; listlu_spec_placeholder is the literal sample, which
// must be rejected).
var goldenParsers = map[string]golden.Parser{
	"listlu":   func(b []byte) (any, error) { return ParseListLU(b) },
	"listview": func(b []byte) (any, error) { return ParseListView(b) },
	"listhg":   func(b []byte) (any, error) { return ParseListHG(b) },
	"listtg":   func(b []byte) (any, error) { return ParseListHG(b) },
	"importlu": func(b []byte) (any, error) { return ParseImportLU(b) },
	"createlu": func(b []byte) (any, error) { return ParseCreateLU(b) },
	// lureadable: what the reading rules (readable.go) find in each LU of
	// a list-lu -v output.
	"lureadable": func(b []byte) (any, error) {
		lus, err := ParseListLU(b)
		if err != nil {
			return nil, err
		}
		type problems struct {
			GUID     string
			DataFile *Unread
			Identity []Unread
			Standby  bool
		}
		var out []problems
		for _, lu := range lus {
			id := lu.UnreadIdentity()
			out = append(out, problems{lu.GUID, lu.UnreadDataFile(), id, Standby(id)})
		}
		return out, nil
	},
}

func TestGolden(t *testing.T) { golden.Run(t, goldenParsers) }

func TestParseListLU(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []LU // only compared field by field below when non-nil
		wantErr  bool
	}{
		{name: "empty", in: ""},
		{name: "crlf and padding drift", in: "LU Name: 600144f04dcd4b000000571ef1b00001\r\n  Size: 42\r\n\tWrite Protect : enabled\r\n  Writeback Cache:Disabled\r\n",
			want: []LU{{GUID: "600144F04DCD4B000000571EF1B00001", Size: 42, ViewEntryCount: -1, WriteProtect: true, WritebackCacheDisabled: true, Registered: true}}},
		{name: "unknown label ignored", in: "LU Name: 600144F04DCD4B000000571EF1B00001\n    Future Field      : x: y\n",
			want: []LU{{GUID: "600144F04DCD4B000000571EF1B00001", ViewEntryCount: -1, Registered: true}}},
		// Fail closed: what is not the listing is not read as "no LU".
		{name: "noise before first LU", in: "stmfadm: 0123: must be 32 hexadecimal digits long\n    Size : 1\nLU Name: 600144F04DCD4B000000571EF1B00001\n", wantErr: true},
		{name: "no listing at all", in: "something went wrong\n", wantErr: true},
		{name: "a line without a label", in: "LU Name: 600144F04DCD4B000000571EF1B00001\n    Data File\n", wantErr: true},
		{name: "mgmt url keeps colons", in: "LU Name: 600144F04DCD4B000000571EF1B00001\n    Management URL    : http://h:80/x\n",
			want: []LU{{GUID: "600144F04DCD4B000000571EF1B00001", ViewEntryCount: -1, Registered: true, MgmtURL: "http://h:80/x"}}},
		{name: "alias and serial keep their spaces", in: "LU Name: 600144F04DCD4B000000571EF1B00001\n    Alias             :  two  spaces \n    Serial Num        : S 1 \n",
			want: []LU{{GUID: "600144F04DCD4B000000571EF1B00001", ViewEntryCount: -1, Registered: true, Alias: " two  spaces ", SerialNum: "S 1 "}}},
		{name: "a property printed twice", in: "LU Name: 600144F04DCD4B000000571EF1B00001\n    Data File         : /dev/zvol/rdsk/p/a\n    Data File         : /dev/zvol/rdsk/p/b\n", wantErr: true},
		{name: "short GUID", in: "LU Name: 600144F0\n", wantErr: true},
		{name: "bad size", in: "LU Name: 600144F04DCD4B000000571EF1B00001\n    Size              : 10G\n", wantErr: true},
		{name: "negative count", in: "LU Name: 600144F04DCD4B000000571EF1B00001\n    View Entry Count  : -3\n", wantErr: true},
		{name: "block size overflow", in: "LU Name: 600144F04DCD4B000000571EF1B00001\n    Block Size        : 4294967296\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseListLU([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d LUs, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				g := got[i]
				g.Printed = nil // the golden files show it
				if !reflect.DeepEqual(g, tc.want[i]) {
					t.Errorf("LU %d:\n got %+v\nwant %+v", i, g, tc.want[i])
				}
			}
		})
	}
}

func TestParseListView(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []View
		wantErr  bool
	}{
		{name: "empty", in: ""},
		{name: "solaris auto lun", in: "View Entry: 0\n    Host group   : All\n    Target group : All\n    LUN          : Auto\n        Lun          : 0 for eui.0123456789ABCDEF\n",
			want: []View{{Entry: 0, HostGroup: "All", TargetGroup: "All", LUN: -1}}},
		{name: "first lun wins", in: "View Entry: 2\n    Host group   : h\n    Target group : t\n    LUN          : 7\n    Lun          : 9 for x\n",
			want: []View{{Entry: 2, HostGroup: "h", TargetGroup: "t", LUN: 7}}},
		{name: "missing lun", in: "View Entry: 0\n    Host group   : All\n    Target group : All\n", wantErr: true},
		{name: "lun too big", in: "View Entry: 0\n    Host group   : All\n    Target group : All\n    LUN          : 16384\n", wantErr: true},
		{name: "bad entry", in: "View Entry: x\n", wantErr: true},
		{name: "empty group", in: "View Entry: 0\n    Host group   : \n    Target group : All\n    LUN          : 0\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseListView([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("view %d: got %+v want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestViewKey(t *testing.T) {
	a := View{Entry: 0, HostGroup: "All", TargetGroup: "tg1", LUN: 3}
	b := View{Entry: 5, HostGroup: "All", TargetGroup: "tg1", LUN: 3}
	if a.Key() != b.Key() || a.Key() != "All|tg1|3" {
		t.Errorf("keys %q %q", a.Key(), b.Key())
	}
	if (View{HostGroup: "All", TargetGroup: "tg1", LUN: 4}).Key() == a.Key() {
		t.Error("different LUN, same key")
	}
}

func TestParseGUIDLines(t *testing.T) {
	for _, tc := range []struct {
		name, in, want  string
		create, wantErr bool
	}{
		{name: "import", in: "Logical unit imported: 600144f04dcd4b000000571ef1b00001\n", want: "600144F04DCD4B000000571EF1B00001"},
		{name: "create", in: "Logical unit created: 600144F04DCD4B000000571EF1B00001\n", want: "600144F04DCD4B000000571EF1B00001", create: true},
		{name: "create with noise", in: "warning: x\nLogical unit created: 600144F04DCD4B000000571EF1B00001\r\n", want: "600144F04DCD4B000000571EF1B00001", create: true},
		{name: "wrong verb", in: "Logical unit created: 600144F04DCD4B000000571EF1B00001\n", wantErr: true},
		{name: "bad guid", in: "Logical unit imported: 600144F0\n", wantErr: true},
		{name: "empty", in: "", wantErr: true, create: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parse := ParseImportLU
			if tc.create {
				parse = ParseCreateLU
			}
			got, err := parse([]byte(tc.in))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %q, %v; want %q, err=%v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseListHG(t *testing.T) {
	if _, err := ParseListHG([]byte("\tMember: iqn.x\n")); err == nil {
		t.Error("member outside group: want error")
	}
	got, err := ParseListHG([]byte("Host Group: a\n\tMember: iqn.x\nHost Group: a\n\tMember: iqn.y\n"))
	if err != nil || strings.Join(got["a"], ",") != "iqn.x,iqn.y" {
		t.Errorf("repeated group: %v %v", got, err)
	}
}

// Literal stderr lines from docs/platform/comstar.md §2-§6.
func TestStderrClassifiers(t *testing.T) {
	type cls func([]byte) bool
	all := map[string]cls{
		"IsNoViews": IsNoViews, "IsBusy": IsBusy, "IsMetaFileError": IsMetaFileError,
		"IsGUIDInUse": IsGUIDInUse, "IsFileInUse": IsFileInUse, "IsViewExists": IsViewExists,
	}
	for _, tc := range []struct{ in, want string }{
		{"stmfadm: 600144f04dcd4b000000571ef1b00001: no views found\n", "IsNoViews"},
		{"stmfadm: resource busy\n", "IsBusy"},
		{"stmfadm: 600144F04DCD4B000000571EF1B00001: resource busy\n", "IsBusy"},
		{"sbdadm: resource busy\n", "IsBusy"},
		{"stmfadm: meta file error\n", "IsMetaFileError"},
		{"stmfadm: guid in use\n", "IsGUIDInUse"},
		{"stmfadm: filename /dev/zvol/rdsk/tank/vol1: in use\n", "IsFileInUse"},
		{"stmfadm: view entry exists\n", "IsViewExists"},
		{"stmfadm: data file error\n", ""},
		{"stmfadm: LUN already in use\n", ""},
		{"stmfadm: 600144f04dcd4b000000571ef1b00001: not found\n", ""},
		{"", ""},
	} {
		for name, f := range all {
			if got := f([]byte(tc.in)); got != (name == tc.want) {
				t.Errorf("%s(%q) = %v", name, tc.in, got)
			}
		}
	}
}
