package tgt

import (
	"github.com/volctl/volctl/internal/golden"
	"strings"
	"testing"
)

func FuzzParseTargets(f *testing.F) {
	golden.Seed(f, "show")
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := ParseTargets(b)
		if err != nil {
			return
		}
		tids := map[int]bool{}
		for _, tg := range ts {
			if tg.TID <= 0 || tids[tg.TID] || tg.Name == "" {
				t.Fatalf("bad target %+v", tg)
			}
			tids[tg.TID] = true
			luns := map[int]bool{}
			for _, u := range tg.LUNs {
				if u.LUN < 0 || u.LUN > 16383 || luns[u.LUN] {
					t.Fatalf("bad LUN %+v", u)
				}
				luns[u.LUN] = true
			}
			for _, r := range tg.ACL {
				if r.Kind != ACLAddress && r.Kind != ACLName {
					t.Fatalf("bad ACL kind %+v", r)
				}
			}
		}
	})
}

func FuzzParseConns(f *testing.F) {
	golden.Seed(f, "conn")
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseConns(b); err != nil {
			return
		}
	})
}

func FuzzParseAccounts(f *testing.F) {
	golden.Seed(f, "account")
	f.Fuzz(func(t *testing.T, b []byte) {
		us, err := ParseAccounts(b)
		if err != nil {
			return
		}
		for _, u := range us {
			if u == "" {
				t.Fatal("empty user")
			}
		}
	})
}

func FuzzClassify(f *testing.F) {
	golden.Seed(f, "stderr")
	f.Fuzz(func(t *testing.T, b []byte) {
		e := Classify(b)
		if e == ErrnoNone && strings.TrimSpace(string(b)) != "" {
			t.Fatalf("non-empty stderr %q classified as none", b)
		}
		_ = e.String()
	})
}

func FuzzValidateIQN(f *testing.F) {
	for _, s := range []string{"iqn.2026-11.test:disk0", "iqn.2008-11.org.linux-kvm", "eui.02004567a425678d", "naa.52004567ba64678d", "ALL", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateIQN(s) != nil {
			return
		}
		if len(s) > MaxNameLen || ClassifyACL(s) != ACLName || strings.ContainsAny(s, " ,\n") {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzValidAddressRule(f *testing.F) {
	for _, s := range []string{"ALL", "127.0.0.1", "10.0.0.0/8", "[fe80::1]", "not-an-address"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidAddressRule(s) && ClassifyACL(s) == ACLName {
			t.Fatalf("%q is both a valid address and a name", s)
		}
	})
}
