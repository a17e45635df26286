package zfs

import (
	"github.com/volctl/volctl/internal/golden"
	"reflect"
	"testing"
)

// goldenParsers maps a testdata file-name prefix to the parser it feeds.
// The *_spec and rollback_* inputs are the samples of docs/platform/zfs.md
// §3.2-§6.1; the others extend them in the same format.
var goldenParsers = map[string]golden.Parser{
	"snapshots": func(b []byte) (any, error) { return ParseSnapshots(b) },
	"get":       func(b []byte) (any, error) { return ParseGet(b) },
	"datasets":  func(b []byte) (any, error) { return ParseDatasets(b) },
	"rollback":  func(b []byte) (any, error) { return ParseRollbackNewer(b), nil },
}

func TestGolden(t *testing.T) { golden.Run(t, goldenParsers) }

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		cols     []string
		want     []map[string]string
		wantErr  bool
	}{
		{name: "spec value only", in: "10737418240\n", cols: []string{"value"}, want: []map[string]string{{"value": "10737418240"}}},
		{name: "crlf and blank lines", in: "\na\tb\r\n\n", cols: []string{"x", "y"}, want: []map[string]string{{"x": "a", "y": "b"}}},
		{name: "empty last field", in: "a\t\n", cols: []string{"x", "y"}, want: []map[string]string{{"x": "a", "y": ""}}},
		{name: "space in name is not a separator", in: "tank/my vol\t1\n", cols: []string{"name", "v"}, want: []map[string]string{{"name": "tank/my vol", "v": "1"}}},
		{name: "too many fields", in: "a\tb\tc\n", cols: []string{"x", "y"}, wantErr: true},
		{name: "no columns", in: "a\n", wantErr: true},
		{name: "empty", in: "", cols: []string{"x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseList([]byte(tc.in), tc.cols)
			if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, %v; want %v, err=%v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseSnapshotsErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not a snapshot": "tank/vol\tvolume\t1\t0\t0\n",
		"no at":          "tank/vol\tsnapshot\t1\t0\t0\n",
		"two ats":        "tank/vol@a@b\tsnapshot\t1\t0\t0\n",
		"bad used":       "tank/vol@a\tsnapshot\t1\t8K\t0\n",
		"dash creation":  "tank/vol@a\tsnapshot\t-\t0\t0\n",
	} {
		if _, err := ParseSnapshots([]byte(in)); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
	// A name ZFS allows but volctl would not create still lists.
	got, err := ParseSnapshots([]byte("tank/vol@my snap\tsnapshot\t1\t-\t0\n"))
	if err != nil || got[0].Snap != "my snap" || got[0].Dataset != "tank/vol" {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestParseRollbackNewer(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"busy only", "cannot rollback 'tank/vol': dataset is busy\n", nil},
		{"crlf", "cannot rollback to 'p/v@a': more recent snapshots exist\r\nuse '-r' to force deletion of the following snapshots:\r\np/v@b\r\n", []string{"p/v@b"}},
		{"stops at blank line", "use '-r' to force deletion of the following snapshots:\np/v@b\n\np/v@c\n", []string{"p/v@b"}},
		{"stops at -R list", "use '-r' to force deletion of the following snapshots:\np/v@b\nuse '-R' to force deletion of the following clones and dependents:\np/c@x\n", []string{"p/v@b"}},
		{"empty", "", nil},
	} {
		if got := ParseRollbackNewer([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q want %q", tc.name, got, tc.want)
		}
	}
}

// Literal stderr lines from docs/platform/zfs.md §2-§4.
func TestStderrClassifiers(t *testing.T) {
	for _, tc := range []struct {
		in           string
		busy, noExis bool
	}{
		{"cannot rollback 'tank/vol': dataset is busy\n", true, false},
		{"cannot destroy snapshot tank/vol@s2: dataset is busy\n", true, false},
		{"cannot open 'tank/vol@nope': dataset does not exist\n", false, true},
		{"cannot open 'tank/x': dataset does not exist\n", false, true},
		{"no such pool or dataset\n", false, true},
		{"cannot open 'tank/vol': missing '@' delimiter in snapshot name\n", false, false},
		{"cannot create snapshot 'tank/vol@s1': dataset already exists\n", false, false},
		{"", false, false},
	} {
		if IsBusy([]byte(tc.in)) != tc.busy || IsNotExist([]byte(tc.in)) != tc.noExis {
			t.Errorf("%q: IsBusy=%v IsNotExist=%v", tc.in, IsBusy([]byte(tc.in)), IsNotExist([]byte(tc.in)))
		}
	}
}
