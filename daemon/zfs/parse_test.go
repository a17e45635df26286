package zfs

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the parsers' output")

// goldenParsers maps a testdata file-name prefix to the parser it feeds.
// The *_spec and rollback_* inputs are the literal outputs of spec
// comstar-zfs.md §3.2-§3.5; the others extend them in the same format.
var goldenParsers = map[string]func([]byte) (any, error){
	"snapshots": func(b []byte) (any, error) { return ParseSnapshots(b) },
	"get":       func(b []byte) (any, error) { return ParseGet(b) },
	"datasets":  func(b []byte) (any, error) { return ParseDatasets(b) },
	"rollback":  func(b []byte) (any, error) { return ParseRollbackNewer(b), nil },
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".txt")
		t.Run(name, func(t *testing.T) {
			parse := goldenParsers[strings.SplitN(name, "_", 2)[0]]
			if parse == nil {
				t.Fatalf("no parser for %s", in)
			}
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			v, err := parse(src)
			var res any = map[string]any{"result": v}
			if err != nil {
				res = map[string]any{"error": err.Error()}
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "\t")
			if err := enc.Encode(res); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := strings.TrimSuffix(in, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s mismatch (run with -update)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

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

// Literal stderr lines from spec §3.1-§3.3.
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
