package zvol

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/store"
)

// op is an operation rolling pool/vol back to s1, with the given newer
// snapshots destroyed, LUs exported and written@ on the host or not.
func op(newer []string, lus int, written bool) *store.Operation {
	o := &store.Operation{Snapshot: "pool/vol@s1", Identity: store.Identity{Volume: "pool/vol", Snapshot: "pool/vol@s1",
		NewerSnapshots: newer, HistoryKnown: true, HistoryRollbacks: 1}, Options: store.Options{DestroyNewer: len(newer) > 0}}
	for range lus {
		o.Identity.LUs = append(o.Identity.LUs, store.LU{GUID: "600144f0"})
	}
	o.Capabilities = store.Capabilities{{Name: store.CapWritten, Supported: written}}
	return o
}

func TestStep(t *testing.T) {
	for _, tc := range []struct {
		name    string
		op      *store.Operation
		desc    string
		planned string
		window  bool
	}{
		{name: "exported, nothing newer", op: op(nil, 1, false), desc: "roll pool/vol back to pool/vol@s1",
			planned: "zfs rollback pool/vol@s1", window: true},
		{name: "not exported, destroying newer", op: op([]string{"pool/vol@s2"}, 0, false),
			desc: "roll pool/vol back to pool/vol@s1, destroying pool/vol@s2", planned: "zfs rollback -r pool/vol@s1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, nil)
			st := Step(h.zfs(false), tc.op)
			if st.Name != "rollback" || !st.Commit || st.OutageWindow != tc.window || st.Description != tc.desc {
				t.Errorf("step %+v", st)
			}
			if len(st.Planned) != 1 || strings.Join(st.Planned[0], " ") != tc.planned {
				t.Errorf("planned %q, want %q", st.Planned, tc.planned)
			}
		})
	}
}

func TestRollback(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reply     reply
		permanent bool
	}{
		{name: "exit 0", reply: reply{}},
		{name: "busy is final", reply: reply{stderr: "cannot rollback 'pool/vol': dataset is busy\n", exit: 1}, permanent: true},
		{name: "newer snapshots are final", reply: reply{stderr: "cannot rollback to 'pool/vol@s1': more recent snapshots exist\nuse '-r' to force deletion of the following snapshots:\npool/vol@s2\n", exit: 1}, permanent: true},
		{name: "no such dataset is final", reply: notExist, permanent: true},
		{name: "an unexplained failure leaves it open", reply: reply{stderr: "internal error\n", exit: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, map[string]reply{"zfs rollback pool/vol@s1": tc.reply})
			err := Rollback(context.Background(), h.zfs(false), op(nil, 1, false))
			if (err != nil) != (tc.reply.exit != 0) || engine.IsPermanent(err) != tc.permanent {
				t.Errorf("err = %v (permanent %v), want permanent %v", err, engine.IsPermanent(err), tc.permanent)
			}
		})
	}
}

func TestCountHistory(t *testing.T) {
	history := "History for 'pool':\n2026-12-01.10:00:00 zfs create -V 1g pool/vol\n2026-12-01.10:01:00 zfs rollback pool/vol@s1\n"
	for _, tc := range []struct {
		name  string
		reply reply
		known bool
		n     int
	}{
		{name: "read", reply: reply{out: history}, known: true, n: 1},
		{name: "unreadable", reply: reply{stderr: "permission denied\n", exit: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, map[string]reply{"zpool history pool": tc.reply})
			id := store.Identity{Volume: "pool/vol", Snapshot: "pool/vol@s1"}
			CountHistory(context.Background(), h.zpool(), &id)
			if id.HistoryKnown != tc.known || id.HistoryRollbacks != tc.n {
				t.Errorf("known %v, %d records; want %v, %d", id.HistoryKnown, id.HistoryRollbacks, tc.known, tc.n)
			}
		})
	}
}

func TestTookEffect(t *testing.T) {
	history := func(n int) reply {
		out := "History for 'pool':\n"
		for range n {
			out += "2026-12-01.10:01:00 zfs rollback -r pool/vol@s1\n"
		}
		return reply{out: out}
	}
	const (
		hist    = "zpool history pool"
		written = getProp + "written@s1 pool/vol"
		snaps   = listSnaps + "pool/vol"
	)
	for _, tc := range []struct {
		name    string
		written bool
		away    bool
		replies map[string]reply
		took    bool
		wantErr string
		ran     []string
	}{
		{
			name:    "a new history record",
			replies: map[string]reply{hist: history(2)},
			took:    true,
			ran:     []string{hist},
		},
		{
			name:    "no new history record",
			replies: map[string]reply{hist: history(1)},
			ran:     []string{hist},
		},
		{
			name:    "history unreadable, no written@",
			replies: map[string]reply{hist: {stderr: "no pool\n", exit: 1}},
			wantErr: "cannot tell whether the rollback took effect: zpool history: ",
			ran:     []string{hist},
		},
		{
			// written@ first: a changed volume needs no listing.
			name: "written@ says changed", written: true, away: true,
			replies: map[string]reply{hist: {stderr: "no pool\n", exit: 1}, written: {out: getRow("pool/vol", "written@s1", "8192")}},
			ran:     []string{hist, written},
		},
		{
			name: "written@ 0 and no newer snapshot", written: true, away: true,
			replies: map[string]reply{hist: history(1), written: {out: getRow("pool/vol", "written@s1", "0")},
				snaps: {out: snapRow("pool/vol@s1", 1, 0)}},
			took: true,
			ran:  []string{hist, written, snaps},
		},
		{
			name: "written@ 0 but a newer snapshot left", written: true, away: true,
			replies: map[string]reply{hist: history(1), written: {out: getRow("pool/vol", "written@s1", "0")},
				snaps: {out: snapRow("pool/vol@s1", 1, 0) + snapRow("pool/vol@s2", 2, 0)}},
			ran: []string{hist, written, snaps},
		},
		{
			// An LU that serves the volume could have written: written@
			// is not asked.
			name: "written@ not read while an LU is back", written: true,
			replies: map[string]reply{hist: history(1)},
			ran:     []string{hist},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, tc.replies)
			away := func(context.Context) (bool, error) { return tc.away, nil }
			took, err := TookEffect(context.Background(), h.zfs(false), h.zpool(), op([]string{"pool/vol@s2"}, 1, tc.written), away)
			checkErr(t, err, nil, tc.wantErr)
			if took != tc.took {
				t.Errorf("took effect %v, want %v", took, tc.took)
			}
			if !slices.Equal(h.ran, tc.ran) {
				t.Errorf("ran %q, want %q", h.ran, tc.ran)
			}
		})
	}
}

func TestRolledBack(t *testing.T) {
	const written = getProp + "written@s1 pool/vol"
	for _, tc := range []struct {
		name    string
		written bool
		replies map[string]reply
		ok      bool
		wantErr string
	}{
		{name: "zfs-fuse: used 0", replies: map[string]reply{getSnaps + "pool/vol": fsSnaps(infoRows("pool/vol@s1", "snapshot", 2, 0))}, ok: true},
		{name: "zfs-fuse: used grew", replies: map[string]reply{getSnaps + "pool/vol": fsSnaps(infoRows("pool/vol@s1", "snapshot", 2, 4096))}},
		{name: "a newer snapshot left", replies: map[string]reply{getSnaps + "pool/vol": fsSnaps(infoRows("pool/vol@s1", "snapshot", 2, 0), infoRows("pool/vol@s2", "snapshot", 3, 0))}},
		{name: "the snapshot is gone", replies: map[string]reply{getSnaps + "pool/vol": fsSnaps()}, wantErr: "snapshot pool/vol@s1 is gone"},
		{name: "OpenZFS: written@ 0", written: true, ok: true, replies: map[string]reply{
			getSnaps + "pool/vol": fsSnaps(infoRows("pool/vol@s1", "snapshot", 2, 4096)), written: {out: getRow("pool/vol", "written@s1", "0")}}},
		{name: "OpenZFS: written@ not 0", written: true, replies: map[string]reply{
			getSnaps + "pool/vol": fsSnaps(infoRows("pool/vol@s1", "snapshot", 2, 0)), written: {out: getRow("pool/vol", "written@s1", "512")}}},
		{name: "unreadable", replies: map[string]reply{getSnaps + "pool/vol": {stderr: "zfs-fuse is not running\n", exit: 1}}, wantErr: "read pool/vol: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, tc.replies)
			ok, err := RolledBack(context.Background(), h.zfs(true), op([]string{"pool/vol@s2"}, 1, tc.written))
			checkErr(t, err, nil, tc.wantErr)
			if ok != tc.ok {
				t.Errorf("rolled back %v, want %v", ok, tc.ok)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	history := "History for 'pool':\n2026-12-01.10:01:00 zfs rollback -r pool/vol@s1\n"
	for _, tc := range []struct {
		name  string
		snaps string
		want  error
		notes int
	}{
		{name: "no newer snapshot left", snaps: snapRow("pool/vol@s1", 1, 0), notes: 1},
		{name: "a newer snapshot left", snaps: snapRow("pool/vol@s1", 1, 0) + snapRow("pool/vol@s2", 2, 0), want: engine.ErrNotCommitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, map[string]reply{listSnaps + "pool/vol": {out: tc.snaps}, "zpool history pool": {out: history}})
			var notes []string
			o := op([]string{"pool/vol@s2"}, 1, false)
			err := Verify(context.Background(), h.zfs(false), h.zpool(), o.Identity, func(f string, a ...any) { notes = append(notes, fmt.Sprintf(f, a...)) })
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != nil && err.Error() != "pool/vol@s2 is still there after zfs rollback -r exited 0: the rollback did not take effect" {
				t.Errorf("err = %q", err)
			}
			// One record before, one now: the rollback to s1 left none of its own.
			if len(notes) != tc.notes {
				t.Errorf("notes %q, want %d", notes, tc.notes)
			}
			want := [][]string{strings.Fields(listSnaps + "pool/vol"), {"zpool", "history", "pool"}}
			if got := VerifyPlanned(h.zfs(false), h.zpool(), o.Identity); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("planned %q, want %q", got, want)
			}
		})
	}
}

// A rollback that exited 0 and did nothing is engine.ErrNotCommitted, in
// the words Verify uses, on every platform.
func TestCheckRolledBack(t *testing.T) {
	const written = getProp + "written@s1 pool/vol"
	for _, tc := range []struct {
		name    string
		newer   []string
		written bool
		replies map[string]reply
		want    error
		msg     string
	}{
		{
			name:    "at the snapshot",
			replies: map[string]reply{getSnaps + "pool/vol": fsSnaps(infoRows("pool/vol@s1", "snapshot", 2, 0))},
		},
		{
			name:  "a newer snapshot left",
			newer: []string{"pool/vol@s2"},
			replies: map[string]reply{getSnaps + "pool/vol": fsSnaps(infoRows("pool/vol@s1", "snapshot", 2, 0),
				infoRows("pool/vol@s2", "snapshot", 3, 0))},
			want: engine.ErrNotCommitted,
			msg:  "pool/vol@s2 is still there after zfs rollback -r exited 0: the rollback did not take effect",
		},
		{
			name:    "written since",
			written: true,
			replies: map[string]reply{getSnaps + "pool/vol": fsSnaps(infoRows("pool/vol@s1", "snapshot", 2, 0)),
				written: {out: getRow("pool/vol", "written@s1", "512")}},
			want: engine.ErrNotCommitted,
			msg:  "pool/vol is not at pool/vol@s1 (written@s1 is 512) after zfs rollback exited 0: the rollback did not take effect",
		},
		{
			name:    "zfs-fuse: used since",
			replies: map[string]reply{getSnaps + "pool/vol": fsSnaps(infoRows("pool/vol@s1", "snapshot", 2, 4096))},
			want:    engine.ErrNotCommitted,
			msg:     "pool/vol is not at pool/vol@s1 (the snapshot's used is 4096) after zfs rollback exited 0: the rollback did not take effect",
		},
		{
			// Not knowing is not "did not take effect": the engine asks
			// again and retries.
			name:    "unreadable",
			replies: map[string]reply{getSnaps + "pool/vol": {stderr: "zfs-fuse is not running\n", exit: 1}},
			msg:     "read back pool/vol after the rollback: read pool/vol: ",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t, tc.replies)
			err := CheckRolledBack(context.Background(), h.zfs(true), op(tc.newer, 1, tc.written))
			checkErr(t, err, tc.want, tc.msg)
			if tc.want == nil && errors.Is(err, engine.ErrNotCommitted) {
				t.Errorf("err = %v: not knowing is not ErrNotCommitted", err)
			}
		})
	}
}
