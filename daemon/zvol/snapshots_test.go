package zvol

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/store"
)

func TestSnapshots(t *testing.T) {
	for _, tc := range []struct {
		name     string
		noListP  bool
		replies  map[string]reply
		want     []string
		wantErr  error
		wantUsed uint64
	}{
		{name: "list -p", replies: map[string]reply{listSnaps + "pool/vol": {out: snapRow("pool/vol@s1", 1, 0) + snapRow("pool/vol@s2", 2, 512)}},
			want: []string{"pool/vol@s1", "pool/vol@s2"}, wantUsed: 512},
		// Without list -p the same listing is a zfs get, ordered by createtxg.
		{name: "zfs get", noListP: true, replies: map[string]reply{getSnaps + "pool/vol": {out: infoRows("pool/vol", "volume", 1, 0) +
			infoRows("pool/vol@s2", "snapshot", 3, 512) + infoRows("pool/vol@s1", "snapshot", 2, 0)}},
			want: []string{"pool/vol@s1", "pool/vol@s2"}, wantUsed: 512},
		{name: "no such volume", replies: map[string]reply{listSnaps + "pool/vol": notExist}, wantErr: engine.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, tc.replies)
			snaps, err := Snapshots(context.Background(), h.zfs(tc.noListP), "pool/vol")
			checkErr(t, err, tc.wantErr, "")
			var names []string
			for _, s := range snaps {
				names = append(names, s.Name)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("snapshots %v, want %v", names, tc.want)
			}
			if len(snaps) > 0 && (snaps[len(snaps)-1].Used != tc.wantUsed || snaps[0].Creation.IsZero()) {
				t.Errorf("last snapshot %+v, want used %d and a creation time", snaps[len(snaps)-1], tc.wantUsed)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	names := []string{"pool/vol@s1", "pool/vol@s2", "pool/vol@s3"}
	for _, tc := range []struct {
		name      string
		snapshot  string
		destroy   bool
		at        int
		newer     []string
		want      error
		wantInMsg string
	}{
		{name: "newest", snapshot: "pool/vol@s3", at: 2},
		{name: "newer without consent", snapshot: "pool/vol@s1", at: 0, newer: names[1:], want: engine.ErrPrecondition, wantInMsg: "needs consent destroy_newer"},
		{name: "newer with consent", snapshot: "pool/vol@s2", destroy: true, at: 1, newer: names[2:]},
		{name: "missing", snapshot: "pool/vol@nope", at: -1, want: engine.ErrNotFound, wantInMsg: "volctl snapshots pool/vol lists them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := store.Identity{Volume: "pool/vol", Snapshot: tc.snapshot}
			at, err := Resolve(&id, names, store.Options{DestroyNewer: tc.destroy})
			checkErr(t, err, tc.want, tc.wantInMsg)
			if at != tc.at || !slices.Equal(id.NewerSnapshots, tc.newer) {
				t.Errorf("at %d, newer %v; want %d, %v", at, id.NewerSnapshots, tc.at, tc.newer)
			}
		})
	}
}

func TestCreateSnapshot(t *testing.T) {
	missing := errors.New("no such volume")
	for _, tc := range []struct {
		name   string
		snaps  []string
		exists error
		want   error
		ran    []string
	}{
		{name: "created", snaps: []string{"pool/vol@new"}, ran: []string{"zfs snapshot pool/vol@new"}},
		// docs/platform/zfs-snapshot.md: several operands in one command are atomic.
		{name: "a group in one command", snaps: []string{"pool/vol@new", "pool/vol2@new"}, ran: []string{"zfs snapshot pool/vol@new pool/vol2@new"}},
		{name: "bad name runs nothing", snaps: []string{"pool/vol"}, want: engine.ErrInvalid},
		{name: "one bad name in a group runs nothing", snaps: []string{"pool/vol@new", "pool/vol2@bad;name"}, want: engine.ErrInvalid},
		{name: "volume the caller does not export", snaps: []string{"pool/vol@new"}, exists: missing, want: missing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, map[string]reply{"zfs snapshot pool/vol@new": {}, "zfs snapshot pool/vol@new pool/vol2@new": {}})
			var asked string
			err := CreateSnapshots(context.Background(), h.zfs(false), tc.snaps, func(_ context.Context, vol string) error {
				if asked == "" {
					asked = vol
				}
				return tc.exists
			})
			checkErr(t, err, tc.want, "")
			if !slices.Equal(h.ran, tc.ran) {
				t.Errorf("ran %q, want %q", h.ran, tc.ran)
			}
			if tc.want != engine.ErrInvalid && asked != "pool/vol" {
				t.Errorf("asked whether %q exists, want pool/vol", asked)
			}
		})
	}
}

func TestDestroySnapshot(t *testing.T) {
	h := newHost(t, map[string]reply{"zfs destroy pool/vol@s1": {}})
	if err := DestroySnapshot(context.Background(), h.zfs(false), "pool/vol@s1"); err != nil {
		t.Fatal(err)
	}
	// A volume name never reaches zfs destroy.
	if err := DestroySnapshot(context.Background(), h.zfs(false), "pool/vol"); err == nil {
		t.Fatal("destroying a volume name did not fail")
	}
	if want := []string{"zfs destroy pool/vol@s1"}; !slices.Equal(h.ran, want) {
		t.Errorf("ran %q, want %q", h.ran, want)
	}
}

func TestWritten(t *testing.T) {
	h := newHost(t, map[string]reply{
		getProp + "written@s1 pool/vol": {out: getRow("pool/vol", "written@s1", "4096")},
		getProp + "written@s2 pool/vol": {stderr: "bad property list: invalid property 'written@s2'\n", exit: 2},
	})
	if w, err := Written(context.Background(), h.zfs(false), "pool/vol", "s1"); err != nil || w != 4096 {
		t.Errorf("Written = %d, %v; want 4096", w, err)
	}
	_, err := Written(context.Background(), h.zfs(false), "pool/vol", "s2")
	checkErr(t, err, nil, "read written@s2 of pool/vol: ")
}
