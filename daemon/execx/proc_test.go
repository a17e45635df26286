package execx

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	// 52 fields, as Linux 6.x prints them; starttime (22) is 98765.
	line := func(comm, state string) string {
		return "4242 (" + comm + ") " + state + " 1 4242 4000 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	}
	tests := []struct {
		name    string
		in      string
		want    procInfo
		wantErr string
	}{
		{name: "running", in: line("stmfadm", "S"), want: procInfo{Pid: 4242, PPid: 1, Pgid: 4242, Sid: 4000, Start: 98765}},
		{name: "comm with spaces and parentheses", in: line("a) b (c", "R"), want: procInfo{Pid: 4242, PPid: 1, Pgid: 4242, Sid: 4000, Start: 98765}},
		{name: "zombie", in: line("zfs", "Z"), want: procInfo{Pid: 4242, PPid: 1, Pgid: 4242, Sid: 4000, Start: 98765, Zombie: true}},
		{name: "dead", in: line("zfs", "X"), want: procInfo{Pid: 4242, PPid: 1, Pgid: 4242, Sid: 4000, Start: 98765, Zombie: true}},
		{name: "cut short", in: "4242 (zfs) S 1 4242 4000 0", wantErr: "want at least 20"},
		{name: "no comm", in: "4242 zfs S 1", wantErr: "no (comm)"},
		{name: "starttime not a number", in: strings.Replace(line("zfs", "S"), " 98765 ", " x ", 1), wantErr: "starttime"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseStat = %+v, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseStat = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// psinfo builds an LP64 psinfo_t as Solaris and illumos return it (416
// bytes: the fields before pr_lwp, and lwpsinfo_t).
func psinfo(pid, pgid, sid, nlwp int32, sec, nsec int64, psargs string) []byte {
	b := make([]byte, 416)
	le := binary.NativeEndian
	le.PutUint32(b[psNlwp:], uint32(nlwp))
	le.PutUint32(b[psPid:], uint32(pid))
	le.PutUint32(b[psPpid:], 1)
	le.PutUint32(b[psPgid:], uint32(pgid))
	le.PutUint32(b[psSid:], uint32(sid))
	le.PutUint64(b[psStart:], uint64(sec))
	le.PutUint64(b[psStart+8:], uint64(nsec))
	copy(b[psArgs:psArgs+psArgsSz-1], psargs)
	return b
}

func TestParsePsinfo(t *testing.T) {
	long := "/usr/sbin/stmfadm import-lu /dev/zvol/rdsk/pool/a-volume-with-a-rather-long-name-indeed"
	tests := []struct {
		name    string
		in      []byte
		pid     int
		want    procInfo
		wantErr string
	}{
		{name: "running", pid: 4242, in: psinfo(4242, 4242, 4000, 1, 1700000000, 5, "/usr/sbin/zfs rollback pool/idisk0@snap1"),
			want: procInfo{Pid: 4242, PPid: 1, Pgid: 4242, Sid: 4000, Start: 1700000000*1e9 + 5, Args: "/usr/sbin/zfs rollback pool/idisk0@snap1"}},
		// prgetpsinfo leaves pr_start 0 for a zombie (no lwp left).
		{name: "zombie", pid: 4242, in: psinfo(4242, 4242, 4000, 0, 0, 0, ""),
			want: procInfo{Pid: 4242, PPid: 1, Pgid: 4242, Sid: 4000, Zombie: true}},
		{name: "arguments cut at PRARGSZ-1", pid: 7, in: psinfo(7, 7, 7, 1, 1, 0, long),
			want: procInfo{Pid: 7, PPid: 1, Pgid: 7, Sid: 7, Start: 1e9, Args: long[:79], ArgsPrefix: true}},
		{name: "short file", pid: 4242, in: psinfo(4242, 4242, 4000, 1, 1, 0, "")[:200], wantErr: "200 bytes, want at least 232"},
		{name: "another layout", pid: 4243, in: psinfo(4242, 4242, 4000, 1, 1, 0, ""), wantErr: "not the psinfo_t layout"},
		{name: "not a time", pid: 4242, in: psinfo(4242, 4242, 4000, 1, 1, 2e9, ""), wantErr: "is not a time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePsinfo(tc.in, tc.pid)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parsePsinfo = %+v, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parsePsinfo = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestArgsMatch(t *testing.T) {
	argv := []string{"/usr/sbin/stmfadm", "import-lu", "/dev/zvol/rdsk/pool/a-volume-with-a-rather-long-name-indeed"}
	joined := strings.Join(argv, " ")
	tests := []struct {
		name string
		p    procInfo
		want bool
	}{
		{"whole, equal", procInfo{Args: joined}, true},
		{"whole, another", procInfo{Args: joined + "x"}, false},
		{"whole, shorter is not equal", procInfo{Args: joined[:40]}, false},
		{"cut, a prefix", procInfo{Args: joined[:79], ArgsPrefix: true}, true},
		{"cut, not a prefix", procInfo{Args: "/usr/sbin/zfs" + joined[13:79], ArgsPrefix: true}, false},
		{"cut, empty", procInfo{ArgsPrefix: true}, false},
	}
	for _, tc := range tests {
		if got := argsMatch(tc.p, argv); got != tc.want {
			t.Errorf("%s: argsMatch = %v, want %v", tc.name, got, tc.want)
		}
	}
}
