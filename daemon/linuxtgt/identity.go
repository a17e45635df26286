package linuxtgt

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

// Keys of store.LU.Properties for a tgt LU. They are the LU's identity as an
// initiator sees it and everything needed to re-create it, so that recovery
// never has to ask tgtd what used to be there (tgtd keeps nothing across an
// LU delete, docs/platform/linux-tgt.md §4.3, §8). Boolean values are "0" or
// "1"; lists are one item per line, in tgtd's order.
const (
	PropTID          = "tgt.tid"           // target id, e.g. "1"
	PropTarget       = "tgt.target"        // target IQN
	PropLUN          = "tgt.lun"           // LUN number, e.g. "1"
	PropType         = "tgt.type"          // device type, "disk"
	PropSCSIID       = "tgt.scsi_id"       // as shown, inner spaces kept (VPD 0x83)
	PropSCSISN       = "tgt.scsi_sn"       // as shown (VPD 0x80)
	PropVendorID     = "tgt.vendor_id"     // only when tgtadm shows it (1.0.85 does not)
	PropProductID    = "tgt.product_id"    // idem
	PropProductRev   = "tgt.product_rev"   // idem
	PropBackingStore = "tgt.backing_store" // backing file or /dev/zvol/POOL/VOL
	PropBSType       = "tgt.bstype"        // "rdwr", "aio", ...
	PropBSOFlags     = "tgt.bsoflags"      // "", "sync", "direct", "sync:direct"
	PropBlockSize    = "tgt.block_size"    // logical block size in bytes
	PropReadonly     = "tgt.readonly"      // "0" / "1"
	PropThin         = "tgt.thin_provisioning"
	PropRemovable    = "tgt.removable"
	PropOnline       = "tgt.online"
	PropACLAddress   = "tgt.acl.address" // the target's address rules (-I), one per line
	PropACLName      = "tgt.acl.name"    // the target's initiator-name rules, one per line
	PropAccounts     = "tgt.accounts"    // the target's accounts ("user" or "user (outgoing)"), informational
	PropBacking      = "tgt.backing"     // "zvol" or "file"
)

// lu is a captured LU, decoded from store.LU.Properties.
type lu struct {
	TID, LUN          int
	Target            string
	Type              string
	SCSIID, SCSISN    string
	Vendor, Product   string
	Rev               string
	Spec              tgt.LUSpec
	Readonly, Thin    bool
	Removable, Online bool
	ACL               []tgt.ACLRule
	VendorShown       bool
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// toStoreLU records LUN u of target t.
func toStoreLU(t tgt.Target, u tgt.LUN, backing string) store.LU {
	var addr, name, acc, hosts []string
	for _, r := range t.ACL {
		if r.Kind == tgt.ACLName {
			name = append(name, r.Rule)
		} else {
			addr = append(addr, r.Rule)
		}
		hosts = append(hosts, r.Rule)
	}
	for _, a := range t.Accounts {
		if a.Outgoing {
			acc = append(acc, a.User+" (outgoing)")
		} else {
			acc = append(acc, a.User)
		}
	}
	p := map[string]string{
		PropTID: strconv.Itoa(t.TID), PropTarget: t.Name, PropLUN: strconv.Itoa(u.LUN), PropType: u.Type,
		PropSCSIID: u.SCSIID, PropSCSISN: u.SCSISN, PropBackingStore: u.BackingPath, PropBSType: u.BackingType,
		PropBSOFlags: u.BackingFlags, PropBlockSize: strconv.FormatUint(uint64(u.BlockSize), 10),
		PropReadonly: b01(u.Readonly), PropThin: b01(u.Thin), PropRemovable: b01(u.Removable), PropOnline: b01(u.Online),
		PropACLAddress: strings.Join(addr, "\n"), PropACLName: strings.Join(name, "\n"), PropAccounts: strings.Join(acc, "\n"),
		PropBacking: backing,
	}
	if u.VendorShown {
		p[PropVendorID], p[PropProductID], p[PropProductRev] = u.VendorID, u.ProductID, u.ProductRev
	}
	status := "Offline"
	if u.Online {
		status = "Online"
	}
	// GUID carries scsi_id: it is what the initiator sees as the LU's designator
	// (T10 vendor id, and the NAA-6 value when it is 32 hex digits starting with
	// 6, docs/platform/linux-tgt.md §6.4). The single view says where the LU is
	// exported: target IQN (target group), LUN, the ACL as host group.
	return store.LU{
		GUID: u.SCSIID, DataFile: u.BackingPath, BlockSize: u.BlockSize, VendorID: u.VendorID, ProductID: u.ProductID,
		Serial: u.SCSISN, WriteProtect: u.Readonly, OperationalStatus: status,
		Views:      []store.View{{Entry: t.TID, HostGroup: strings.Join(hosts, ","), TargetGroup: t.Name, LUN: u.LUN}},
		Properties: p,
	}
}

// fromStoreLU decodes a journaled LU. A journal that lacks a key is not
// one this backend wrote: an error, never a default.
func fromStoreLU(s store.LU) (lu, error) {
	p := s.Properties
	need := func(k string) (string, error) {
		v, ok := p[k]
		if !ok {
			return "", fmt.Errorf("journaled LU %s: property %s missing", s.GUID, k)
		}
		return v, nil
	}
	var l lu
	var err error
	num := func(k string) int {
		if err != nil {
			return 0
		}
		var v string
		if v, err = need(k); err != nil {
			return 0
		}
		n, e := strconv.Atoi(v)
		if e != nil {
			err = fmt.Errorf("journaled LU %s: %s %q is not a number", s.GUID, k, v)
		}
		return n
	}
	str := func(k string) string {
		if err != nil {
			return ""
		}
		v, e := need(k)
		err = e
		return v
	}
	l.TID, l.LUN = num(PropTID), num(PropLUN)
	bs := num(PropBlockSize)
	l.Target, l.Type = str(PropTarget), str(PropType)
	l.SCSIID, l.SCSISN = str(PropSCSIID), str(PropSCSISN)
	l.Spec = tgt.LUSpec{Path: str(PropBackingStore), BSType: str(PropBSType), BSOFlags: str(PropBSOFlags), BlockSize: uint32(bs)}
	l.Readonly, l.Thin = str(PropReadonly) == "1", str(PropThin) == "1"
	l.Removable, l.Online = str(PropRemovable) == "1", str(PropOnline) == "1"
	for _, r := range lines(str(PropACLAddress)) {
		l.ACL = append(l.ACL, tgt.ACLRule{Rule: r, Kind: tgt.ACLAddress})
	}
	for _, r := range lines(str(PropACLName)) {
		l.ACL = append(l.ACL, tgt.ACLRule{Rule: r, Kind: tgt.ACLName})
	}
	if err != nil {
		return lu{}, err
	}
	if v, ok := p[PropVendorID]; ok {
		l.VendorShown, l.Vendor, l.Product, l.Rev = true, v, p[PropProductID], p[PropProductRev]
	}
	return l, nil
}

// name is how messages refer to an LU.
func (l lu) name() string {
	return fmt.Sprintf("tid %d (%s) LUN %d", l.TID, l.Target, l.LUN)
}

// target is one target with captured LUs, and its captured ACL.
type target struct {
	TID  int
	Name string
	ACL  []tgt.ACLRule
}

// targetsOf lists the targets of lus once each, in capture order.
func targetsOf(lus []lu) []target {
	var out []target
	for _, l := range lus {
		if !slices.ContainsFunc(out, func(t target) bool { return t.TID == l.TID }) {
			out = append(out, target{TID: l.TID, Name: l.Target, ACL: l.ACL})
		}
	}
	return out
}

// zvolPath is the device an LU names for a zvol on Linux (the udev link,
// docs/platform/zfs.md §10, linux-tgt.md §9.4).
func zvolPath(vol string) string { return "/dev/zvol/" + vol }

// backs reports whether an LU's backing store is on ds: the zvol itself, or
// a file below the filesystem's mountpoint that is not below the mountpoint
// of a child dataset (which has its own snapshots). children are every
// dataset below ds with a mountpoint.
func backs(path string, ds zfs.Info, children []zfs.Info) (kind string, ok bool) {
	if path == "" {
		return "", false
	}
	path = filepath.Clean(path)
	if ds.Type == "volume" {
		return "zvol", path == zvolPath(ds.Name)
	}
	under := func(mp string) bool {
		if mp == "" || mp == "none" || mp == "legacy" || !filepath.IsAbs(mp) {
			return false
		}
		mp = filepath.Clean(mp)
		return strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")
	}
	if !under(ds.Mountpoint) {
		return "", false
	}
	for _, c := range children {
		if c.Name != ds.Name && c.Type == "filesystem" && strings.HasPrefix(c.Name, ds.Name+"/") && under(c.Mountpoint) {
			return "", false
		}
	}
	return "file", true
}

// identityParams are the --params that bring a present LU to the captured
// identity: only the keys that differ, so a converged LU gets none.
func identityParams(want lu, got tgt.LUN) []tgt.Param {
	var ps []tgt.Param
	add := func(k, w, g string) {
		if w != g {
			ps = append(ps, tgt.Param{Key: k, Value: w})
		}
	}
	add("scsi_id", want.SCSIID, got.SCSIID)
	add("scsi_sn", want.SCSISN, got.SCSISN)
	if want.VendorShown && got.VendorShown {
		add("vendor_id", want.Vendor, got.VendorID)
		add("product_id", want.Product, got.ProductID)
		if want.Rev != "" {
			add("product_rev", want.Rev, got.ProductRev)
		}
	}
	add("readonly", b01(want.Readonly), b01(got.Readonly))
	add("thin_provisioning", b01(want.Thin), b01(got.Thin))
	add("removable", b01(want.Removable), b01(got.Removable))
	add("online", b01(want.Online), b01(got.Online))
	return ps
}

// compareLU lists every difference between the captured LU and the one
// tgtd shows now.
func compareLU(want lu, t tgt.Target, got tgt.LUN) error {
	var diffs []string
	cmp := func(what string, w, g any) {
		if w != g {
			diffs = append(diffs, fmt.Sprintf("%s is %q, was %q", what, fmt.Sprint(g), fmt.Sprint(w)))
		}
	}
	cmp("target name", want.Target, t.Name)
	cmp("type", want.Type, got.Type)
	cmp("backing store", filepath.Clean(want.Spec.Path), filepath.Clean(got.BackingPath))
	cmp("backing store type", want.Spec.BSType, got.BackingType)
	cmp("backing store flags", want.Spec.BSOFlags, got.BackingFlags)
	cmp("block size", want.Spec.BlockSize, got.BlockSize)
	cmp("scsi_id", want.SCSIID, got.SCSIID)
	cmp("scsi_sn", want.SCSISN, got.SCSISN)
	cmp("readonly", want.Readonly, got.Readonly)
	cmp("thin provisioning", want.Thin, got.Thin)
	cmp("removable", want.Removable, got.Removable)
	cmp("online", want.Online, got.Online)
	if want.VendorShown && got.VendorShown {
		cmp("vendor id", want.Vendor, got.VendorID)
		cmp("product id", want.Product, got.ProductID)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("LU %s differs from its captured identity: %s", want.name(), strings.Join(diffs, "; "))
	}
	return nil
}

// missingRules are the captured rules tgtd does not have now.
func missingRules(want, have []tgt.ACLRule) []tgt.ACLRule {
	var out []tgt.ACLRule
	for _, r := range want {
		if !slices.ContainsFunc(have, func(h tgt.ACLRule) bool { return h.Rule == r.Rule }) {
			out = append(out, r)
		}
	}
	return out
}
