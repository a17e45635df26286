package zvol

import (
	"context"
	"testing"

	"github.com/volctl/volctl/store"
)

func TestSnapshotVolsize(t *testing.T) {
	const get = getProp + "volsize pool/vol@s1"
	for _, tc := range []struct {
		name    string
		reply   reply
		want    uint64
		wantErr string
	}{
		{name: "OpenZFS says it", reply: reply{out: getRow("pool/vol@s1", "volsize", "1073741824")}, want: 1 << 30},
		// Solaris and illumos-gate: not registered for snapshots.
		{name: "Solaris does not", reply: reply{out: getRow("pool/vol@s1", "volsize", "-")}},
		{name: "not a number", reply: reply{out: getRow("pool/vol@s1", "volsize", "1G")}, wantErr: `volsize of pool/vol@s1: "1G"`},
		{name: "zfs fails", reply: notExist, wantErr: "read volsize of pool/vol@s1: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, map[string]reply{get: tc.reply})
			n, err := SnapshotVolsize(context.Background(), h.zfs(false), "pool/vol@s1")
			checkErr(t, err, nil, tc.wantErr)
			if n != tc.want {
				t.Errorf("volsize %d, want %d", n, tc.want)
			}
		})
	}
}

func TestVolsizeAfter(t *testing.T) {
	for _, tc := range []struct {
		name    string
		known   uint64
		replies map[string]reply
		want    uint64
		ran     int
	}{
		{name: "known from the snapshot: nothing to read", known: 1 << 20, want: 1 << 20},
		{name: "read from the volume after the rollback", replies: map[string]reply{getProp + "volsize pool/vol": {out: getRow("pool/vol", "volsize", "2097152")}},
			want: 2 << 20, ran: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, tc.replies)
			n, err := VolsizeAfter(context.Background(), h.zfs(false), store.Identity{Volume: "pool/vol", SnapshotVolsize: tc.known})
			if err != nil || n != tc.want || len(h.ran) != tc.ran {
				t.Errorf("volsize %d, %v after %d commands; want %d after %d", n, err, len(h.ran), tc.want, tc.ran)
			}
		})
	}
}
