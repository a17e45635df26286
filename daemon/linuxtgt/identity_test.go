package linuxtgt

import (
	"reflect"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
)

func TestBacks(t *testing.T) {
	fs := zfs.Info{Name: "tank/fs", Type: "filesystem", Mountpoint: "/tank/fs"}
	tree := []zfs.Info{fs, {Name: "tank/fs/child", Type: "filesystem", Mountpoint: "/tank/fs/child"},
		{Name: "tank/fs@s1", Type: "snapshot"}}
	vol := zfs.Info{Name: "tank/vol", Type: "volume"}
	for _, tc := range []struct {
		path string
		ds   zfs.Info
		kind string
		ok   bool
	}{
		{"/tank/fs/disk0.img", fs, "file", true},
		{"/tank/fs/sub/dir/d.img", fs, "file", true},
		{"/tank//fs/./disk0.img", fs, "file", true},
		{"/tank/fs", fs, "", false},
		{"/tank/fsx/d.img", fs, "", false},
		{"/tank/fs/child/d.img", fs, "", false},
		{"", fs, "", false},
		{"/dev/zvol/tank/vol", vol, "zvol", true},
		{"/dev/zvol/tank/vol2", vol, "zvol", false},
		{"/tank/fs/d.img", zfs.Info{Name: "tank/fs", Type: "filesystem", Mountpoint: "legacy"}, "", false},
	} {
		kind, ok := backs(tc.path, tc.ds, tree)
		if ok != tc.ok || (ok && kind != tc.kind) {
			t.Errorf("backs(%q, %s) = %q %v, want %q %v", tc.path, tc.ds.Name, kind, ok, tc.kind, tc.ok)
		}
	}
}

func TestStoreLURoundTrip(t *testing.T) {
	tg := tgt.Target{TID: 2, Name: "iqn.2026-11.test:spec-a",
		ACL:      []tgt.ACLRule{{Rule: "ALL", Kind: tgt.ACLAddress}, {Rule: "iqn.2026-11.test:i", Kind: tgt.ACLName}},
		Accounts: []tgt.Account{{User: "u"}, {User: "o", Outgoing: true}}}
	u := tgt.LUN{LUN: 3, Type: "disk", SCSIID: "IET     00020003", SCSISN: "a b", BlockSize: 4096, Online: true, Thin: true,
		BackingType: "aio", BackingPath: "/tank/spec/c.img", BackingFlags: ""}
	s := toStoreLU(tg, u, "file")
	got, err := fromStoreLU(s)
	if err != nil {
		t.Fatal(err)
	}
	want := lu{TID: 2, LUN: 3, Target: tg.Name, Type: "disk", SCSIID: u.SCSIID, SCSISN: "a b",
		Spec: tgt.LUSpec{Path: u.BackingPath, BSType: "aio", BlockSize: 4096}, Thin: true, Online: true, ACL: tg.ACL}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if err := compareLU(want, tg, u); err != nil {
		t.Errorf("compare with itself: %v", err)
	}
	// An LU migration 6 left untyped is read from its tgt.* properties,
	// whole or not at all.
	legacy := s
	legacy.TGT, legacy.Properties = nil, s.TGT.Properties()
	if got, err := fromStoreLU(legacy); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("from properties: %+v, %v; want %+v", got, err, want)
	}
	delete(legacy.Properties, "tgt.scsi_sn")
	if _, err := fromStoreLU(legacy); err == nil || !strings.Contains(err.Error(), "property tgt.scsi_sn missing") {
		t.Errorf("a journal without scsi_sn: %v, want property tgt.scsi_sn missing", err)
	}
}

func TestIdentityParams(t *testing.T) {
	want := lu{SCSIID: "600144f0aaaabbbb0000000000000001", SCSISN: "SN-A1", Thin: true, Online: true}
	fresh := tgt.LUN{SCSIID: "IET     00010001", SCSISN: "beaf11", Online: true}
	got := identityParams(want, fresh)
	exp := []tgt.Param{{Key: "scsi_id", Value: want.SCSIID}, {Key: "scsi_sn", Value: "SN-A1"}, {Key: "thin_provisioning", Value: "1"}}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("params %v, want %v", got, exp)
	}
	done := tgt.LUN{SCSIID: want.SCSIID, SCSISN: "SN-A1", Thin: true, Online: true}
	if ps := identityParams(want, done); len(ps) != 0 {
		t.Errorf("converged LU gets params %v", ps)
	}
}

func TestMissingRules(t *testing.T) {
	want := []tgt.ACLRule{{Rule: "127.0.0.1", Kind: tgt.ACLAddress}, {Rule: "iqn.2026-11.test:i", Kind: tgt.ACLName}}
	have := []tgt.ACLRule{{Rule: "iqn.2026-11.test:i", Kind: tgt.ACLName}}
	if m := missingRules(want, have); len(m) != 1 || m[0].Rule != "127.0.0.1" {
		t.Errorf("missing %v", m)
	}
}

// TestStoreLUShowsTheSameProperties: what the API shows of a captured LU
// (LogicalUnit.properties, from store.LU.AllProperties) is, key for key,
// what the tgt.* properties were before the identity was typed (written
// out from toStoreLU at de609b1).
func TestStoreLUShowsTheSameProperties(t *testing.T) {
	tg := tgt.Target{TID: 2, Name: "iqn.2026-11.test:spec-a",
		ACL:      []tgt.ACLRule{{Rule: "ALL", Kind: tgt.ACLAddress}, {Rule: "iqn.2026-11.test:i", Kind: tgt.ACLName}},
		Accounts: []tgt.Account{{User: "u"}, {User: "o", Outgoing: true}}}
	for _, tc := range []struct {
		u    tgt.LUN
		want map[string]string
	}{
		{tgt.LUN{LUN: 3, Type: "disk", SCSIID: "IET     00020003", SCSISN: "a b", BlockSize: 4096, Online: true, Thin: true,
			BackingType: "aio", BackingPath: "/tank/spec/c.img"},
			map[string]string{"tgt.accounts": "u\no (outgoing)", "tgt.acl.address": "ALL", "tgt.acl.name": "iqn.2026-11.test:i",
				"tgt.backing": "file", "tgt.backing_store": "/tank/spec/c.img", "tgt.block_size": "4096", "tgt.bsoflags": "",
				"tgt.bstype": "aio", "tgt.lun": "3", "tgt.online": "1", "tgt.readonly": "0", "tgt.removable": "0",
				"tgt.scsi_id": "IET     00020003", "tgt.scsi_sn": "a b", "tgt.target": "iqn.2026-11.test:spec-a",
				"tgt.thin_provisioning": "1", "tgt.tid": "2", "tgt.type": "disk"}},
		{tgt.LUN{LUN: 1, Type: "disk", SCSIID: "600144f0aaaabbbb0000000000000001", SCSISN: "SN", BlockSize: 512, Readonly: true,
			Removable: true, BackingType: "rdwr", BackingPath: "/dev/zvol/tank/v", BackingFlags: "sync:direct",
			VendorShown: true, VendorID: "ACME", ProductID: "D", ProductRev: "1"},
			map[string]string{"tgt.accounts": "u\no (outgoing)", "tgt.acl.address": "ALL", "tgt.acl.name": "iqn.2026-11.test:i",
				"tgt.backing": "file", "tgt.backing_store": "/dev/zvol/tank/v", "tgt.block_size": "512", "tgt.bsoflags": "sync:direct",
				"tgt.bstype": "rdwr", "tgt.lun": "1", "tgt.online": "0", "tgt.product_id": "D", "tgt.product_rev": "1",
				"tgt.readonly": "1", "tgt.removable": "1", "tgt.scsi_id": "600144f0aaaabbbb0000000000000001", "tgt.scsi_sn": "SN",
				"tgt.target": "iqn.2026-11.test:spec-a", "tgt.thin_provisioning": "0", "tgt.tid": "2", "tgt.type": "disk",
				"tgt.vendor_id": "ACME"}},
	} {
		s := toStoreLU(tg, tc.u, "file")
		if got := s.AllProperties(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("LUN %d shows\n %q\nwant\n %q", tc.u.LUN, got, tc.want)
		}
		if s.Properties != nil {
			t.Errorf("LUN %d: untyped properties %q", tc.u.LUN, s.Properties)
		}
	}
}
