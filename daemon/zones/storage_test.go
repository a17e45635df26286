package zones

import (
	"testing"

	"github.com/volctl/volctl/daemon/kz"
)

// TestNames: a reference names an LU by its GUID (in any form) or by a
// target and LUN the LU has there; nothing else does, not even a zvol
// path (a zone host's zvol is its own).
func TestNames(t *testing.T) {
	const (
		g0   = "600144F0A613C900000054521D550001"
		tgtA = "iqn.1986-03.com.sun:02:tgt-a"
		tgtB = "iqn.1986-03.com.sun:02:tgt-b"
	)
	lus := []LURef{{GUID: g0, Paths: []TargetLUN{{Target: tgtA, LUN: 0}, {Target: tgtB, LUN: 7}}}}
	for _, tc := range []struct {
		ref  string
		want bool
	}{
		{"iscsi://127.0.0.1:3260/target." + tgtB + ",lun.7", true},
		{"iscsi:///target.IQN.1986-03.COM.SUN:02:TGT-A,lun.0", true},
		{"iscsi:///target." + tgtA + ",lun.7", false},
		{"iscsi:///target.iqn.1986-03.com.sun:02:tgt-c,lun.7", false},
		{"iscsi://h/luname.naa.600144f0a613c900000054521d550001", true},
		{"lu:initiator.naa.2100001d38089fb0,target.naa.2100001d38089fb0,luname.naa." + g0, true},
		{"lu:luname.naa.600144F0A613C900000054521D550002", false},
		{"dev:/dev/dsk/c0t" + g0 + "d0s0", true},
		{"match=/dev/rdsk/c4t" + g0 + "d0", true},
		{"match=/dev/rdsk/c*t" + g0 + "d0s*", true},
		{"dev:/dev/zvol/dsk/pool/idisk0", false},
		{"dev:dsk/c9t0d0", false},
		{"nfs://a:b@h/export/f", false},
		{"iscsi:///luname.eui.0021280001cf80f6", false},
	} {
		r, err := kz.ParseRef(tc.ref)
		if err != nil {
			t.Fatalf("%s: %v", tc.ref, err)
		}
		if got := Names(r, lus); got != tc.want {
			t.Errorf("Names(%s) = %v, want %v", tc.ref, got, tc.want)
		}
	}
}
