package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// v5TGT are a tgt LU's properties as a schema-5 Linux backend journaled
// them (identity.go's toStoreLU then), written out key by key; vendor adds
// the keys of a tgtadm that shows vendor_id.
func v5TGT(tid, lun, path string, vendor bool) map[string]string {
	p := map[string]string{
		"tgt.tid": tid, "tgt.target": "iqn.2026-11.test:t" + tid, "tgt.lun": lun, "tgt.type": "disk",
		"tgt.scsi_id": "IET     000" + tid + "000" + lun, "tgt.scsi_sn": "beaf" + tid + lun,
		"tgt.backing_store": path, "tgt.bstype": "rdwr", "tgt.bsoflags": "", "tgt.block_size": "512",
		"tgt.readonly": "0", "tgt.thin_provisioning": "1", "tgt.removable": "0", "tgt.online": "1",
		"tgt.acl.address": "127.0.0.1\n10.0.0.0/8", "tgt.acl.name": "iqn.2026-11.test:i",
		"tgt.accounts": "u\no (outgoing)", "tgt.backing": "zvol",
	}
	if vendor {
		p["tgt.vendor_id"], p["tgt.product_id"], p["tgt.product_rev"] = "ACME", "DISK 1", "0001"
	}
	return p
}

// typedTGT is what migration 6 makes of v5TGT.
func typedTGT(tid, lun int, path string, vendor bool) *TGTLU {
	t := &TGTLU{TID: tid, Target: "iqn.2026-11.test:t" + itoa(tid), LUN: lun, Type: "disk",
		SCSIID: "IET     000" + itoa(tid) + "000" + itoa(lun), SCSISN: "beaf" + itoa(tid) + itoa(lun),
		BackingStore: path, BSType: "rdwr", BlockSize: 512, Thin: true, Online: true,
		ACLAddress: []string{"127.0.0.1", "10.0.0.0/8"}, ACLName: []string{"iqn.2026-11.test:i"},
		Accounts: []TGTAccount{{User: "u"}, {User: "o", Outgoing: true}}, Backing: "zvol"}
	if vendor {
		t.VendorShown, t.VendorID, t.ProductID, t.ProductRev = true, "ACME", "DISK 1", "0001"
	}
	return t
}

func itoa(n int) string { return string(rune('0' + n)) }

func without(p map[string]string, keys ...string) map[string]string {
	p = maps.Clone(p)
	for _, k := range keys {
		delete(p, k)
	}
	return p
}

func with(p map[string]string, k, v string) map[string]string {
	p = maps.Clone(p)
	p[k] = v
	return p
}

// v5TGTOps are the Linux operations a schema-5 daemon journaled, by id
// (ops 1 to 5 are the other migrations'): finished, running, a group, and
// LUs migration 6 must leave as they are.
func v5TGTOps() map[uint64]*Operation {
	lu := func(p map[string]string) LU {
		return LU{GUID: p["tgt.scsi_id"], DataFile: p["tgt.backing_store"], Properties: p}
	}
	op := func(id uint64, st OpState, lus []LU, members ...[]LU) *Operation {
		o := &Operation{ID: id, State: st, Platform: "linux-tgt", Volume: "tank/a",
			Identity: Identity{Volume: "tank/a", LUs: lus}}
		for _, m := range members {
			o.Members = append(o.Members, Identity{Volume: "tank/b", LUs: m})
		}
		return o
	}
	full := v5TGT("2", "1", "/dev/zvol/tank/a", false)
	return map[uint64]*Operation{
		6: op(6, OpSucceeded, []LU{lu(v5TGT("1", "1", "/dev/zvol/tank/a", true))}),
		7: op(7, OpRunning, []LU{lu(full), lu(v5TGT("2", "2", "/tank/a/d.img", false))},
			[]LU{lu(v5TGT("3", "1", "/dev/zvol/tank/b", false))}),
		// Not whole: scsi_sn missing, or a number that is not one.
		8: op(8, OpNeedsAttention, []LU{lu(without(full, "tgt.scsi_sn")), lu(with(full, "tgt.lun", "one"))}),
		// A key the typed field does not know stays; an LU without the
		// informational keys (the Linux backend read it whole) would come
		// back with them, so it is left as it is.
		9: op(9, OpSucceeded, []LU{lu(with(full, "tgt.future", "x")), lu(without(full, "tgt.accounts", "tgt.backing"))}),
	}
}

// v5Records are the ops bucket's records before migration 6 ran.
var v5Records map[uint64][]byte

// journalV5TGT writes v5TGTOps as a schema-5 daemon did (indexes too),
// for migration 6, and keeps every record as it is then.
func journalV5TGT(t *testing.T, b *bolt.DB) {
	t.Helper()
	if err := b.Update(func(tx *bolt.Tx) error {
		for _, op := range v5TGTOps() {
			if err := putOperationTx(tx, op); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v5Records = storedOps(t, b)
}

// storedOps are the ops bucket's records by id.
func storedOps(t *testing.T, b *bolt.DB) map[uint64][]byte {
	t.Helper()
	out := map[uint64][]byte{}
	mustView(t, b, func(tx *bolt.Tx) {
		_ = tx.Bucket(bucketRoot).Bucket(bucketOps).ForEach(func(k, v []byte) error {
			out[binary.BigEndian.Uint64(k)] = bytes.Clone(v)
			return nil
		})
	})
	return out
}

// testMigrationV6: every tgt LU that can be read whole, in every operation
// and group member, has its typed identity and no tgt.* key it holds; what
// the API shows of it (AllProperties) is the schema-5 properties, key for
// key; the LUs that cannot, and every other operation, are as they were,
// byte for byte.
func testMigrationV6(t *testing.T, b *bolt.DB) {
	before, after := v5Records, storedOps(t, b)
	if len(before) != 9 || len(after) != 9 {
		t.Fatalf("%d records before migration 6, %d after; want 9", len(before), len(after))
	}
	old := v5TGTOps()
	for _, id := range []uint64{1, 2, 3, 4, 5, 8} {
		if !bytes.Equal(after[id], before[id]) {
			t.Errorf("op %d changed:\n%s\nwas\n%s", id, after[id], before[id])
		}
	}
	want := map[uint64][][]*TGTLU{ // by op: Identity's LUs, then each member's
		6: {{typedTGT(1, 1, "/dev/zvol/tank/a", true)}},
		7: {{typedTGT(2, 1, "/dev/zvol/tank/a", false), typedTGT(2, 2, "/tank/a/d.img", false)},
			{typedTGT(3, 1, "/dev/zvol/tank/b", false)}},
		9: {{typedTGT(2, 1, "/dev/zvol/tank/a", false), nil}},
	}
	for id, ids := range want {
		var op Operation
		if err := json.Unmarshal(after[id], &op); err != nil {
			t.Fatalf("op %d: %v", id, err)
		}
		if bytes.Contains(after[id], []byte(`"tgt.tid"`)) != (id == 9) {
			t.Errorf("op %d after v6: tgt.tid key is there: %v", id, bytes.Contains(after[id], []byte(`"tgt.tid"`)))
		}
		for v, vol := range op.Volumes() {
			was := old[id].Volumes()[v]
			for i, l := range vol.LUs {
				if !reflect.DeepEqual(l.TGT, ids[v][i]) {
					t.Errorf("op %d volume %d LU %d: typed %+v, want %+v", id, v, i, l.TGT, ids[v][i])
				}
				if got := l.AllProperties(); !maps.Equal(got, was.LUs[i].Properties) {
					t.Errorf("op %d volume %d LU %d: the API shows %q, was %q", id, v, i, got, was.LUs[i].Properties)
				}
			}
		}
	}
	var op9 Operation
	_ = json.Unmarshal(after[9], &op9)
	if p := op9.Identity.LUs[0].Properties; !maps.Equal(p, map[string]string{"tgt.future": "x"}) {
		t.Errorf("op 9 LU 0 keeps %q, want the unknown key alone", p)
	}
	if l := op9.Identity.LUs[1]; l.TGT != nil || !maps.Equal(l.Properties, old[9].Identity.LUs[1].Properties) {
		t.Errorf("op 9 LU 1 (no accounts, no backing): %+v, want it as it was", l)
	}
	var op8 Operation
	_ = json.Unmarshal(after[8], &op8)
	for i, l := range op8.Identity.LUs {
		if l.TGT != nil || !maps.Equal(l.Properties, old[8].Identity.LUs[i].Properties) {
			t.Errorf("op 8 LU %d (not whole): %+v, want it as it was", i, l)
		}
	}
}

// TestTGTFromProperties: a key recovery needs that is missing, or a number
// that is not one, is named; the informational keys are not needed.
func TestTGTFromProperties(t *testing.T) {
	full := v5TGT("2", "1", "/dev/zvol/tank/a", false)
	for _, tc := range []struct {
		name string
		p    map[string]string
		want string // the error's text; "" for none
	}{
		{"whole", full, ""},
		{"no accounts, no backing", without(full, "tgt.accounts", "tgt.backing"), ""},
		{"vendor shown", v5TGT("2", "1", "/dev/zvol/tank/a", true), ""},
		{"tid not a number", with(full, "tgt.tid", "x"), `journaled LU G: tgt.tid "x" is not a number`},
		{"block size not a number", with(full, "tgt.block_size", ""), `journaled LU G: tgt.block_size "" is not a number`},
		{"the first missing key", without(full, "tgt.target", "tgt.online"), "journaled LU G: property tgt.target missing"},
		{"online missing", without(full, "tgt.online"), "journaled LU G: property tgt.online missing"},
		{"acl.name missing", without(full, "tgt.acl.name"), "journaled LU G: property tgt.acl.name missing"},
		{"a COMSTAR LU", nil, "journaled LU G: property tgt.tid missing"},
	} {
		got, err := TGTFromProperties("G", tc.p)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		case tc.want == "" && !strings.HasPrefix(got.Target, "iqn."):
			t.Errorf("%s: read %+v", tc.name, got)
		}
	}
}
