package linuxtgt

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

// lu is a captured LU, decoded from store.LU.TGT.
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

// toStoreLU records LUN u of target t.
func toStoreLU(t tgt.Target, u tgt.LUN, backing string) store.LU {
	var hosts []string
	id := &store.TGTLU{
		TID: t.TID, Target: t.Name, LUN: u.LUN, Type: u.Type, SCSIID: u.SCSIID, SCSISN: u.SCSISN,
		BackingStore: u.BackingPath, BSType: u.BackingType, BSOFlags: u.BackingFlags, BlockSize: u.BlockSize,
		Readonly: u.Readonly, Thin: u.Thin, Removable: u.Removable, Online: u.Online, Backing: backing,
	}
	for _, r := range t.ACL {
		if r.Kind == tgt.ACLName {
			id.ACLName = append(id.ACLName, r.Rule)
		} else {
			id.ACLAddress = append(id.ACLAddress, r.Rule)
		}
		hosts = append(hosts, r.Rule)
	}
	for _, a := range t.Accounts {
		id.Accounts = append(id.Accounts, store.TGTAccount{User: a.User, Outgoing: a.Outgoing})
	}
	if u.VendorShown {
		id.VendorShown, id.VendorID, id.ProductID, id.ProductRev = true, u.VendorID, u.ProductID, u.ProductRev
	}
	status := "Offline"
	if u.Online {
		status = "Online"
	}
	// GUID carries scsi_id: it is what the initiator sees as the LU's
	// designator (T10 vendor id, and the NAA-6 value when it is 32 hex
	// digits starting with 6, docs/platform/linux-tgt.md §6.4). The single
	// view says where the LU is exported: target IQN (target group), LUN,
	// the ACL as host group.
	return store.LU{
		GUID: u.SCSIID, DataFile: u.BackingPath, BlockSize: u.BlockSize, VendorID: u.VendorID, ProductID: u.ProductID,
		Serial: u.SCSISN, WriteProtect: u.Readonly, OperationalStatus: status,
		Views: []store.View{{Entry: t.TID, HostGroup: strings.Join(hosts, ","), TargetGroup: t.Name, LUN: u.LUN}},
		TGT:   id,
	}
}

// fromStoreLU decodes a journaled LU. One without a typed identity is
// read from its tgt.* properties, as migration 6 left an LU it could not
// type; a journal that lacks a key there is not one this backend wrote: an
// error, never a default.
func fromStoreLU(s store.LU) (lu, error) {
	id := s.TGT
	if id == nil {
		var err error
		if id, err = store.TGTFromProperties(s.GUID, s.Properties); err != nil {
			return lu{}, err
		}
	}
	l := lu{
		TID: id.TID, LUN: id.LUN, Target: id.Target, Type: id.Type, SCSIID: id.SCSIID, SCSISN: id.SCSISN,
		Spec:     tgt.LUSpec{Path: id.BackingStore, BSType: id.BSType, BSOFlags: id.BSOFlags, BlockSize: id.BlockSize},
		Readonly: id.Readonly, Thin: id.Thin, Removable: id.Removable, Online: id.Online,
	}
	for _, r := range id.ACLAddress {
		l.ACL = append(l.ACL, tgt.ACLRule{Rule: r, Kind: tgt.ACLAddress})
	}
	for _, r := range id.ACLName {
		l.ACL = append(l.ACL, tgt.ACLRule{Rule: r, Kind: tgt.ACLName})
	}
	if id.VendorShown {
		l.VendorShown, l.Vendor, l.Product, l.Rev = true, id.VendorID, id.ProductID, id.ProductRev
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
