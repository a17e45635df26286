package zvol

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name, in  string
		vol, snap string
		invalid   bool
	}{
		{name: "snapshot", in: "pool/vol@s1", vol: "pool/vol", snap: "s1"},
		{name: "no snapshot part", in: "pool/vol", invalid: true},
		{name: "option-like", in: "-rf@s1", invalid: true},
		{name: "empty", in: "", invalid: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vol, snap, err := SplitSnapshot(tc.in)
			if tc.invalid {
				if !errors.Is(err, engine.ErrInvalid) {
					t.Fatalf("SplitSnapshot(%q) err = %v, want ErrInvalid", tc.in, err)
				}
				return
			}
			if err != nil || vol != tc.vol || snap != tc.snap {
				t.Fatalf("SplitSnapshot(%q) = %q, %q, %v", tc.in, vol, snap, err)
			}
			if v, err := VolumeOf(tc.in); err != nil || v != tc.vol {
				t.Fatalf("VolumeOf(%q) = %q, %v", tc.in, v, err)
			}
		})
	}
	if _, err := VolumeOf("pool/a b"); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("VolumeOf of a name with a space: err = %v, want ErrInvalid", err)
	}
	if v, err := VolumeOf("pool/vol"); err != nil || v != "pool/vol" {
		t.Errorf("VolumeOf(pool/vol) = %q, %v", v, err)
	}
}

func TestDataset(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reply    reply
		wantType string
		want     error
		msg      string
	}{
		{name: "volume", reply: reply{out: "pool/vol\tvolume\t1700000000\t8192\t4096\t1073741824\n"}, wantType: "volume"},
		// The caller refuses a filesystem; it must see one, not a missing volume.
		{name: "filesystem", reply: reply{out: "pool/vol\tfilesystem\t1700000000\t8192\t4096\t-\n"}, wantType: "filesystem"},
		{name: "not listed", reply: reply{out: "pool/other\tvolume\t1700000000\t8192\t4096\t1024\n"}, want: engine.ErrNotFound, msg: "volume pool/vol does not exist"},
		{name: "zfs says it does not exist", reply: notExist, want: engine.ErrNotFound, msg: "volume pool/vol does not exist"},
		{name: "zfs fails", reply: reply{stderr: "internal error\n", exit: 1}, msg: "look up volume pool/vol: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, map[string]reply{listVol + "pool/vol": tc.reply})
			d, err := Dataset(context.Background(), h.zfs(false), "pool/vol")
			checkErr(t, err, tc.want, tc.msg)
			if err == nil && (d.Name != "pool/vol" || d.Type != tc.wantType) {
				t.Errorf("got %+v, want pool/vol of type %s", d, tc.wantType)
			}
		})
	}
}

func TestTree(t *testing.T) {
	tree := infoRows("pool/fs", "filesystem", 10, 0) + infoRows("pool/fs/child", "filesystem", 11, 0) + infoRows("pool/fs@s1", "snapshot", 12, 0)
	for _, tc := range []struct {
		name  string
		reply reply
		rows  int
		want  error
	}{
		{name: "with children and snapshots", reply: reply{out: tree}, rows: 3},
		{name: "zfs says it does not exist", reply: notExist, want: engine.ErrNotFound},
		{name: "not in its own listing", reply: reply{out: infoRows("pool/other", "filesystem", 1, 0)}, want: engine.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, map[string]reply{getTree + "pool/fs": tc.reply})
			d, all, err := Tree(context.Background(), h.zfs(true), "pool/fs")
			checkErr(t, err, tc.want, "")
			if err == nil && (d.Name != "pool/fs" || len(all) != tc.rows) {
				t.Errorf("got %+v with %d rows, want pool/fs with %d", d, len(all), tc.rows)
			}
		})
	}
}

// checkErr wants err to wrap want (nil: no error unless msg is set) and to
// contain msg.
func checkErr(t *testing.T, err, want error, msg string) {
	t.Helper()
	switch {
	case want == nil && msg == "":
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
	case want != nil && !errors.Is(err, want):
		t.Fatalf("err = %v, want %v", err, want)
	case err == nil:
		t.Fatalf("no error, want one containing %q", msg)
	case !strings.Contains(err.Error(), msg):
		t.Fatalf("err = %q, want it to contain %q", err, msg)
	}
}
