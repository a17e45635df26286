package zfs

import (
	"strings"
	"testing"
)

// historyOut is `zpool history` as illumos-gate zpool_main.c
// get_history_one prints it: a header per pool, "%F.%T <command>" records,
// a blank line after each pool.
const historyOut = "History for 'pool':\n" +
	"2023-01-02.10:00:00 zpool create pool c0t1d0\n" +
	"2023-01-02.10:00:05 zfs create -V 1G pool/idisk0\n" +
	"2023-01-02.10:01:00 zfs snapshot pool/idisk0@snap1\n" +
	"2026-12-01.20:00:00 zfs rollback pool/idisk0@snap1\n" +
	"2026-12-01.20:05:00 zfs rollback -r pool/idisk0@snap1\n" +
	"2026-12-01.20:06:00 zfs rollback -rf pool/idisk0@snap10\n" +
	"2026-12-01.20:07:00 zfs rollback pool/idisk1@snap1\n" +
	"\n" +
	"History for 'rpool':\n" +
	"2023-01-01.09:00:00 zfs rollback pool/idisk0@snap1\n" +
	"\n"

func TestParseHistory(t *testing.T) {
	recs, err := ParseHistory([]byte(historyOut))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 8 || recs[0].Pool != "pool" || recs[0].Time != "2023-01-02.10:00:00" || recs[0].Cmd != "zpool create pool c0t1d0" ||
		recs[7].Pool != "rpool" {
		t.Fatalf("%+v", recs)
	}
	for _, tc := range []struct {
		name, out string
	}{
		{"record before any header", "2026-12-01.20:00:00 zfs rollback pool/v@s\n"},
		{"a line that is no record", "History for 'pool':\nzfs rollback pool/v@s\n"},
		{"bad header", "History for pool:\n"},
		{"cut at the output cap", "History for 'pool':\n2026-12-01.20:00:00 zfs rollback pool/v@s\n...(123 bytes dropped)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseHistory([]byte(tc.out)); err == nil {
				t.Errorf("accepted %q", tc.out)
			}
		})
	}
}

func TestIsRollbackTo(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want bool
	}{
		{"zfs rollback pool/idisk0@snap1", true},
		{"zfs rollback -r pool/idisk0@snap1", true},
		{"zfs rollback -R -f pool/idisk0@snap1", true},
		{"/usr/sbin/zfs rollback -rRf pool/idisk0@snap1", true},
		{"zfs rollback pool/idisk0@snap10", false},
		{"zfs rollback pool/idisk0@snap", false},
		{"zfs snapshot pool/idisk0@snap1", false},
		{"zfs rollback -x pool/idisk0@snap1", false},
		{"zfs rollback pool/idisk0@snap1 extra", false},
		{"zpool rollback pool/idisk0@snap1", false},
		{"zfs", false},
	} {
		if got := IsRollbackTo(HistoryRecord{Pool: "pool", Cmd: tc.cmd}, "pool/idisk0@snap1"); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.cmd, got, tc.want)
		}
	}
}

func TestRollbacksCountsOnlyThisPoolAndSnapshot(t *testing.T) {
	recs, err := ParseHistory([]byte(historyOut))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Pool == PoolOf("pool/idisk0@snap1") && IsRollbackTo(r, "pool/idisk0@snap1") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("counted %d rollbacks to pool/idisk0@snap1 in pool, want 2", n)
	}
	if PoolOf("tank/a/b@s") != "tank" || PoolOf("tank@s") != "tank" {
		t.Error("PoolOf")
	}
}

func FuzzParseHistory(f *testing.F) {
	f.Add([]byte(historyOut))
	f.Add([]byte("History for 'p':\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := ParseHistory(b)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Pool == "" || len(r.Time) != len("2006-01-02.15:04:05") || strings.Contains(r.Cmd, "\n") {
				t.Fatalf("record %+v", r)
			}
		}
	})
}
