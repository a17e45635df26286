package tgt

import (
	"github.com/volctl/volctl/internal/golden"
	"os"
	"strings"
	"testing"
)

// classifyLines is the golden "parser" for stderr_*.txt: each line and what
// Classify makes of it.
func classifyLines(b []byte) (any, error) {
	type row struct{ Line, Errno string }
	var rows []row
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		rows = append(rows, row{l, Classify([]byte(l)).String()})
	}
	return rows, nil
}

// goldenParsers maps a testdata file-name prefix to the parser it feeds.
// Inputs are literal outputs recorded for docs/platform/linux-tgt.md:
// show_three (§3.2), show_nop (§3.5), the show_fragment_* and show_acl_tail
// excerpts (§4.2, §5.1, §9.2; cut by sed, so they have no target header and
// must be rejected), conn_session (§3.4), account_list (§5.5) and every
// tgtadm stderr line seen (stderr_spec, §2).
var goldenParsers = map[string]golden.Parser{
	"show":    func(b []byte) (any, error) { return ParseTargets(b) },
	"conn":    func(b []byte) (any, error) { return ParseConns(b) },
	"account": func(b []byte) (any, error) { return ParseAccounts(b) },
	"stderr":  classifyLines,
}

func TestGolden(t *testing.T) { golden.Run(t, goldenParsers) }

// TestParseTargetsSpec checks the facts volctl acts on in the sample of
// docs/platform/linux-tgt.md §3.2.
func TestParseTargetsSpec(t *testing.T) {
	src, err := os.ReadFile("testdata/show_three.txt")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := ParseTargets(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("%d targets, want 3", len(ts))
	}
	t1, _ := Find(ts, 1)
	u, ok := t1.FindLUN(1)
	if !ok || u.SCSIID != "600144f0a613c900000054521d550001" || u.SCSISN != "beef01" ||
		u.BackingPath != "/tank/fs/disk0.img" || u.BackingType != "rdwr" || u.BackingFlags != "" || u.BlockSize != 512 || !u.Online {
		t.Errorf("tid 1 LUN 1 = %+v", u)
	}
	if c, _ := t1.FindLUN(0); c.SCSIID != "IET     00010000" || c.BackingPath != "" || c.Type != "controller" {
		t.Errorf("tid 1 LUN 0 = %+v (inner spaces of the SCSI ID must be kept)", c)
	}
	t2, _ := Find(ts, 2)
	if len(t2.Nexuses) != 1 || t2.Nexuses[0].ID != 16 || t2.Nexuses[0].Initiator != "iqn.2008-11.org.linux-kvm" ||
		t2.Nexuses[0].Alias != "" || len(t2.Nexuses[0].Connections) != 1 || t2.Nexuses[0].Connections[0].Address != "127.0.0.1" {
		t.Errorf("tid 2 nexuses = %+v", t2.Nexuses)
	}
	wantACL := []ACLRule{{"not-an-address", ACLAddress}, {"ALL", ACLAddress}, {"iqn.2026-11.test:initiator-a", ACLName}}
	if len(t2.ACL) != len(wantACL) {
		t.Fatalf("tid 2 ACL = %+v", t2.ACL)
	}
	for i := range wantACL {
		if t2.ACL[i] != wantACL[i] {
			t.Errorf("tid 2 ACL[%d] = %+v, want %+v", i, t2.ACL[i], wantACL[i])
		}
	}
	if u4, _ := t2.FindLUN(4); u4.Online || !u4.Removable || u4.BackingPath != "" {
		t.Errorf("tid 2 LUN 4 = %+v", u4)
	}
	t3, _ := Find(ts, 3)
	if len(t3.Accounts) != 2 || t3.Accounts[1] != (Account{"specout", true}) || len(t3.ACL) != 0 {
		t.Errorf("tid 3 accounts %+v ACL %+v", t3.Accounts, t3.ACL)
	}
	if u3, _ := t3.FindLUN(3); !u3.Readonly || !u3.Thin || u3.BackingFlags != "sync:direct" {
		t.Errorf("tid 3 LUN 3 = %+v", u3)
	}
	if u6, _ := t3.FindLUN(6); u6.BlockSize != 4096 {
		t.Errorf("tid 3 LUN 6 = %+v", u6)
	}
}

func TestParseTargets(t *testing.T) {
	const head = "Target 1: iqn.2026-11.test:a\n    System information:\n        Driver: iscsi\n        State: ready\n"
	for _, tc := range []struct {
		name, in string
		check    func(t *testing.T, ts []Target)
		wantErr  bool
	}{
		{name: "empty", in: "", check: func(t *testing.T, ts []Target) {
			if len(ts) != 0 {
				t.Errorf("%+v", ts)
			}
		}},
		{name: "crlf and tabs", in: "Target 1: iqn.2026-11.test:a\r\n\tLUN information:\r\n\t\tLUN: 1\r\n\t\t\tSCSI SN: a b \r\n\t\t\tBacking store path: /x/y.img\r\n",
			check: func(t *testing.T, ts []Target) {
				if u, ok := ts[0].FindLUN(1); !ok || u.SCSISN != "a b " || u.BackingPath != "/x/y.img" {
					t.Errorf("%+v", ts)
				}
			}},
		{name: "unknown lun label ignored", in: head + "    LUN information:\n        LUN: 1\n            Future thing: 3\n",
			check: func(t *testing.T, ts []Target) {
				if len(ts[0].LUNs) != 1 {
					t.Errorf("%+v", ts)
				}
			}},
		{name: "vendor shown by a later tgtd", in: head + "    LUN information:\n        LUN: 1\n            Vendor ID: VOLCTL\n            Product ID: DISK\n",
			check: func(t *testing.T, ts []Target) {
				if u := ts[0].LUNs[0]; !u.VendorShown || u.VendorID != "VOLCTL" || u.ProductID != "DISK" {
					t.Errorf("%+v", u)
				}
			}},
		{name: "name rules after a name rule", in: head + "    ACL information:\n        10.0.0.1\n        iqn.2026-11.test:x\n        foo\n",
			check: func(t *testing.T, ts []Target) {
				if k := ts[0].ACL[2].Kind; k != ACLName {
					t.Errorf("foo after a name rule is %s", k)
				}
			}},
		{name: "alias", in: head + "    I_T nexus information:\n        I_T nexus: 3\n            Initiator: iqn.1994-05.com.redhat:x alias: host1\n            Connection: 0\n                IP Address: ::1\n",
			check: func(t *testing.T, ts []Target) {
				n := ts[0].Nexuses[0]
				if n.Alias != "host1" || n.Connections[0].Address != "::1" {
					t.Errorf("%+v", n)
				}
			}},
		{name: "header missing", in: "    LUN information:\n", wantErr: true},
		{name: "bad tid", in: "Target x: iqn.2026-11.test:a\n", wantErr: true},
		{name: "tid zero", in: "Target 0: iqn.2026-11.test:a\n", wantErr: true},
		{name: "no name", in: "Target 1:\n", wantErr: true},
		{name: "duplicate tid", in: "Target 1: a\nTarget 1: b\n", wantErr: true},
		{name: "duplicate lun", in: head + "    LUN information:\n        LUN: 1\n        LUN: 1\n", wantErr: true},
		{name: "lun property before lun", in: head + "    LUN information:\n            SCSI ID: x\n", wantErr: true},
		{name: "bad yes/no", in: head + "    LUN information:\n        LUN: 1\n            Online: Maybe\n", wantErr: true},
		{name: "bad size", in: head + "    LUN information:\n        LUN: 1\n            Size: lots\n", wantErr: true},
		{name: "bad lun", in: head + "    LUN information:\n        LUN: 99999\n", wantErr: true},
		{name: "unknown section", in: head + "    Portal information:\n", wantErr: true},
		{name: "ip before connection", in: head + "    I_T nexus information:\n        I_T nexus: 3\n                IP Address: ::1\n", wantErr: true},
		{name: "stray column-0 text", in: head + "garbage\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := ParseTargets([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.check != nil && err == nil {
				tc.check(t, ts)
			}
		})
	}
}

func TestParseConnsAndAccounts(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		conns    bool
		wantN    int
		wantErr  bool
	}{
		{name: "no session", in: "", conns: true},
		{name: "two connections", in: "Session: 1\n    Connection: 0\n        Initiator: a\n        IP Address: 1.2.3.4\n    Connection: 1\n        Initiator: a\n        IP Address: 1.2.3.5\n", conns: true, wantN: 2},
		{name: "connection before session", in: "    Connection: 0\n", conns: true, wantErr: true},
		{name: "junk", in: "hello\n", conns: true, wantErr: true},
		{name: "no accounts", in: ""},
		{name: "accounts", in: "Account list:\n    a\n    b\n", wantN: 2},
		{name: "user before header", in: "    a\n", wantErr: true},
		{name: "two headers", in: "Account list:\nAccount list:\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n int
			var err error
			if tc.conns {
				var ss []Session
				ss, err = ParseConns([]byte(tc.in))
				n = len(ss)
			} else {
				var us []string
				us, err = ParseAccounts([]byte(tc.in))
				n = len(us)
			}
			if (err != nil) != tc.wantErr || (err == nil && n != tc.wantN) {
				t.Fatalf("n=%d err=%v; want n=%d wantErr=%v", n, err, tc.wantN, tc.wantErr)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Errno
	}{
		{"", ErrnoNone},
		{"tgtadm: can't find the target\n", ErrnoNoTarget},
		{"tgtadm: this logical unit is still active", ErrnoLUNActive},
		{"tgtadm: this access control rule does not exist", ErrnoACLNotExist},
		{"tgtadm: failed to send request hdr to tgt daemon, Transport endpoint is not connected", ErrnoNotConnected},
		{"tgtadm: logicalunit mode: option '-P' is not allowed/supported", ErrnoUsage},
		{"tgtadm: something new", ErrnoUnknown},
	} {
		if got := Classify([]byte(tc.in)); got != tc.want {
			t.Errorf("Classify(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !IsNotConnected([]byte("tgtadm: failed to send request hdr to tgt daemon, Connection refused")) {
		t.Error("IsNotConnected")
	}
}
