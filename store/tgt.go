package store

import (
	"fmt"
	"strconv"
	"strings"
)

// TGTLU is a tgt (Linux) LU's identity: what an initiator sees of it and
// everything needed to re-create it, so that recovery never has to ask tgtd
// what used to be there (tgtd keeps nothing across an LU delete,
// docs/platform/linux-tgt.md §4.3, §8). Journals before schema 6 held it as the tgt.* keys of
// LU.Properties (migration 6 turns them into this; Properties gives them
// back, as the API shows them).
type TGTLU struct {
	TID    int    `json:"tid"`    // target id
	Target string `json:"target"` // target IQN
	LUN    int    `json:"lun"`
	Type   string `json:"type"` // device type, "disk"
	// SCSIID is as shown, inner spaces kept (VPD 0x83); SCSISN as shown
	// (VPD 0x80).
	SCSIID string `json:"scsi_id"`
	SCSISN string `json:"scsi_sn"`
	// VendorShown: tgtadm showed vendor_id, product_id and product_rev
	// (1.0.85 does not); only then are they set.
	VendorShown bool   `json:"vendor_shown,omitempty"`
	VendorID    string `json:"vendor_id,omitempty"`
	ProductID   string `json:"product_id,omitempty"`
	ProductRev  string `json:"product_rev,omitempty"`
	// BackingStore is the backing file or /dev/zvol/POOL/VOL.
	BackingStore string `json:"backing_store"`
	BSType       string `json:"bstype"`   // "rdwr", "aio", ...
	BSOFlags     string `json:"bsoflags"` // "", "sync", "direct", "sync:direct"
	BlockSize    uint32 `json:"block_size"`
	Readonly     bool   `json:"readonly"`
	Thin         bool   `json:"thin_provisioning"`
	Removable    bool   `json:"removable"`
	Online       bool   `json:"online"`
	// ACLAddress are the target's address rules (-I) and ACLName its
	// initiator-name rules, each in tgtd's order.
	ACLAddress []string `json:"acl_address,omitempty"`
	ACLName    []string `json:"acl_name,omitempty"`
	// Accounts are the target's accounts, informational.
	Accounts []TGTAccount `json:"accounts,omitempty"`
	// Backing is "zvol" or "file".
	Backing string `json:"backing"`
}

// TGTAccount is one of a target's accounts.
type TGTAccount struct {
	User     string `json:"user"`
	Outgoing bool   `json:"outgoing,omitempty"`
}

// The tgt.* keys of LU.Properties, as journals before schema 6 held a tgt
// LU and as the API still shows it (LogicalUnit.properties). Boolean values
// are "0" or "1"; lists are one item per line, in tgtd's order.
const (
	propTID          = "tgt.tid"           // target id, e.g. "1"
	propTarget       = "tgt.target"        // target IQN
	propLUN          = "tgt.lun"           // LUN number, e.g. "1"
	propType         = "tgt.type"          // device type, "disk"
	propSCSIID       = "tgt.scsi_id"       // as shown, inner spaces kept (VPD 0x83)
	propSCSISN       = "tgt.scsi_sn"       // as shown (VPD 0x80)
	propVendorID     = "tgt.vendor_id"     // only when tgtadm shows it (1.0.85 does not)
	propProductID    = "tgt.product_id"    // idem
	propProductRev   = "tgt.product_rev"   // idem
	propBackingStore = "tgt.backing_store" // backing file or /dev/zvol/POOL/VOL
	propBSType       = "tgt.bstype"        // "rdwr", "aio", ...
	propBSOFlags     = "tgt.bsoflags"      // "", "sync", "direct", "sync:direct"
	propBlockSize    = "tgt.block_size"    // logical block size in bytes
	propReadonly     = "tgt.readonly"      // "0" / "1"
	propThin         = "tgt.thin_provisioning"
	propRemovable    = "tgt.removable"
	propOnline       = "tgt.online"
	propACLAddress   = "tgt.acl.address" // the target's address rules (-I), one per line
	propACLName      = "tgt.acl.name"    // the target's initiator-name rules, one per line
	propAccounts     = "tgt.accounts"    // the target's accounts ("user" or "user (outgoing)"), informational
	propBacking      = "tgt.backing"     // "zvol" or "file"

	tgtPrefix = "tgt."
	outgoing  = " (outgoing)"
)

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

// Properties are the LU's identity as tgt.* keys: what journals before
// schema 6 held, key for key.
func (t *TGTLU) Properties() map[string]string {
	acc := make([]string, len(t.Accounts))
	for i, a := range t.Accounts {
		acc[i] = a.User
		if a.Outgoing {
			acc[i] += outgoing
		}
	}
	p := map[string]string{
		propTID: strconv.Itoa(t.TID), propTarget: t.Target, propLUN: strconv.Itoa(t.LUN), propType: t.Type,
		propSCSIID: t.SCSIID, propSCSISN: t.SCSISN, propBackingStore: t.BackingStore, propBSType: t.BSType,
		propBSOFlags: t.BSOFlags, propBlockSize: strconv.FormatUint(uint64(t.BlockSize), 10),
		propReadonly: b01(t.Readonly), propThin: b01(t.Thin), propRemovable: b01(t.Removable), propOnline: b01(t.Online),
		propACLAddress: strings.Join(t.ACLAddress, "\n"), propACLName: strings.Join(t.ACLName, "\n"), propAccounts: strings.Join(acc, "\n"),
		propBacking: t.Backing,
	}
	if t.VendorShown {
		p[propVendorID], p[propProductID], p[propProductRev] = t.VendorID, t.ProductID, t.ProductRev
	}
	return p
}

// AllProperties are the LU's properties as the API shows them
// (LogicalUnit.properties): Properties, and a tgt LU's identity as its
// tgt.* keys.
func (l LU) AllProperties() map[string]string {
	if l.TGT == nil {
		return l.Properties
	}
	p := l.TGT.Properties()
	for k, v := range l.Properties {
		p[k] = v
	}
	return p
}

// TGTFromProperties reads a tgt LU's identity from the tgt.* keys a
// journal before schema 6 holds (the LU's GUID names it in errors), as the
// Linux backend read them then. A key recovery needs that is missing, or a
// number that is not one, is an error, never a default: such an LU was not
// written by the Linux backend.
func TGTFromProperties(guid string, p map[string]string) (*TGTLU, error) {
	var err error
	str := func(k string) string {
		v, ok := p[k]
		if !ok && err == nil {
			err = fmt.Errorf("journaled LU %s: property %s missing", guid, k)
		}
		return v
	}
	num := func(k string) int {
		v := str(k)
		if err != nil {
			return 0
		}
		n, e := strconv.Atoi(v)
		if e != nil {
			err = fmt.Errorf("journaled LU %s: %s %q is not a number", guid, k, v)
		}
		return n
	}
	t := &TGTLU{TID: num(propTID), LUN: num(propLUN)}
	bs := num(propBlockSize)
	t.BlockSize = uint32(bs)
	t.Target, t.Type = str(propTarget), str(propType)
	t.SCSIID, t.SCSISN = str(propSCSIID), str(propSCSISN)
	t.BackingStore, t.BSType, t.BSOFlags = str(propBackingStore), str(propBSType), str(propBSOFlags)
	t.Readonly, t.Thin = str(propReadonly) == "1", str(propThin) == "1"
	t.Removable, t.Online = str(propRemovable) == "1", str(propOnline) == "1"
	t.ACLAddress, t.ACLName = lines(str(propACLAddress)), lines(str(propACLName))
	if err != nil {
		return nil, err
	}
	// The accounts and the backing's kind are informational: recovery
	// never needed them, so a journal without them was read as whole.
	for _, a := range lines(p[propAccounts]) {
		user, out := strings.CutSuffix(a, outgoing)
		t.Accounts = append(t.Accounts, TGTAccount{User: user, Outgoing: out})
	}
	t.Backing = p[propBacking]
	if v, ok := p[propVendorID]; ok {
		t.VendorShown, t.VendorID, t.ProductID, t.ProductRev = true, v, p[propProductID], p[propProductRev]
	}
	return t, nil
}

// typeTGT moves a tgt LU's identity from its tgt.* properties into TGT
// (migration 6) and reports whether it did. It moves only what comes back
// whole: every key Properties gives back must be there with the same value,
// so nothing recovery reads is lost. An LU it cannot read whole is left as
// it is, and the Linux backend reads its properties as before (and says
// what is wrong with them); a tgt.* key the typed field does not know stays
// in Properties.
func typeTGT(l *LU) bool {
	if l.TGT != nil || !hasTGTKeys(l.Properties) {
		return false
	}
	t, err := TGTFromProperties(l.GUID, l.Properties)
	if err != nil {
		return false
	}
	back := t.Properties()
	for k, v := range back {
		if w, ok := l.Properties[k]; !ok || w != v {
			return false
		}
	}
	for k := range back {
		delete(l.Properties, k)
	}
	if len(l.Properties) == 0 {
		l.Properties = nil
	}
	l.TGT = t
	return true
}

func hasTGTKeys(p map[string]string) bool {
	for k := range p {
		if strings.HasPrefix(k, tgtPrefix) {
			return true
		}
	}
	return false
}
