package linuxtgt

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

const (
	iqn1 = "iqn.2026-11.test:t1"
	iqn2 = "iqn.2026-11.test:t2"
	dev  = "/dev/zvol/tank/vol"
)

// facts are what the rows start from, as Capture reads them: the zvol
// tank/vol with its snapshot s1 (used 8192), written@s1 4096, and target 1
// exporting it as LUN 1 (LUN 0 the controller) to everyone, no initiator
// connected. Each edit changes one fact.
func facts(edits ...func(*hostFacts)) *hostFacts {
	h := &hostFacts{vol: "tank/vol", snapshot: "tank/vol@s1",
		ds: zfs.Info{Name: "tank/vol", Type: "volume", Volsize: 1 << 30},
		tree: []zfs.Info{{Name: "tank/vol", Type: "volume", Volsize: 1 << 30},
			{Name: "tank/vol@s1", Type: "snapshot", CreateTxg: 10, Used: 8192}},
		exports: true, written: true, writtenAt: 4096,
		targets: []tgt.Target{{TID: 1, Name: iqn1, ACL: []tgt.ACLRule{{Rule: "ALL", Kind: tgt.ACLAddress}},
			LUNs: []tgt.LUN{{LUN: 0, Type: "controller"},
				{LUN: 1, Type: "disk", BackingType: "rdwr", BackingPath: dev, SCSIID: "IET     00010001", SCSISN: "beaf11"}}}},
	}
	for _, e := range edits {
		e(h)
	}
	return h
}

// newer adds snapshots after s1; held ones have a user hold.
func newer(names []string, held ...string) func(*hostFacts) {
	return func(h *hostFacts) {
		for i, n := range names {
			s := zfs.Info{Name: "tank/vol@" + n, Type: "snapshot", CreateTxg: uint64(20 + i)}
			for _, x := range held {
				if x == n {
					s.Userrefs = 1
				}
			}
			h.tree = append(h.tree, s)
		}
	}
}

func sessions(tid int, ns ...tgt.Nexus) func(*hostFacts) {
	return func(h *hostFacts) {
		for i := range h.targets {
			if h.targets[i].TID == tid {
				h.targets[i].Nexuses = ns
			}
		}
	}
}

// lun1 changes target 1's LUN 1.
func lun1(edit func(*tgt.LUN)) func(*hostFacts) {
	return func(h *hostFacts) { edit(&h.targets[0].LUNs[1]) }
}

// target2 adds a target that exports another volume, with a session.
func target2(h *hostFacts) {
	h.targets = append(h.targets, tgt.Target{TID: 2, Name: iqn2,
		Nexuses: []tgt.Nexus{{ID: 9, Initiator: "iqn.2026-11.test:i9"}},
		LUNs:    []tgt.LUN{{LUN: 1, Type: "disk", BackingPath: "/dev/zvol/tank/other", SCSIID: "x", SCSISN: "y"}}})
}

func unread(h *hostFacts) { h.exports, h.written, h.writtenAt, h.targets = false, false, 0, nil }

var (
	i1 = tgt.Nexus{ID: 7, Initiator: "iqn.2026-11.test:i1"}
	i2 = tgt.Nexus{ID: 8, Initiator: "iqn.2026-11.test:i2"}
)

// The warnings' and errors' texts, as the plan and the caller get them.
const (
	wVendor   = "tgtadm does not show vendor_id/product_id: an LU comes back with tgtd's (IET, VIRTUAL-DISK) unless they were the defaults"
	wNoLU     = "no tgt LU is backed by tank/vol: only the zfs rollback will run"
	wDropped  = "target " + iqn1 + ": the connections of iqn.2026-11.test:i1 (session 7), iqn.2026-11.test:i2 (session 8) are dropped; they may replay queued writes when they reconnect after the rollback, and their caches hold pre-rollback data"
	wOtherLUN = "target " + iqn1 + " also exports LUN 2 (/dev/zvol/tank/other), which is not on tank/vol: no new login reaches it while the bindings are removed"
	wNoACL    = "target " + iqn1 + " has no ACL rule: no initiator can log in now, and none will after"
	wSame     = "tank/vol has not changed since tank/vol@s1: the rollback changes no data"
	wUsed0    = "tank/vol@s1 holds no space of its own (used 0): either tank/vol has not changed since, or its changes are not synced yet; this zfs has no written@, so a rollback that fails is judged by used@ alone"

	eNewer    = "rolling back to tank/vol@s1 destroys the newer snapshots tank/vol@s2, tank/vol@s3: needs consent destroy_newer"
	eSessions = "initiators are connected to target " + iqn1 + ": iqn.2026-11.test:i1 (session 7), iqn.2026-11.test:i2 (session 8); the rollback changes the data under them. Log them out first, or consent to dropping their connections (they reconnect once the LU is back): needs consent accept_sessions"
	eHeld     = "the newer snapshots tank/vol@s3 have user holds: zfs rollback -r would destroy the others and then fail; release the holds first: failed precondition"
	eNoSnap   = "snapshot tank/vol@s1 does not exist (volctl snapshots tank/vol lists them): not found"
)

// assessRow is one case of assess: the facts, the options, and what it
// decides.
type assessRow struct {
	name     string
	h        *hostFacts
	opts     store.Options
	warnings []string
	err      string   // the error's text, "" for none
	is       error    // what the error is (ErrNotFound, ErrPrecondition), nil for consents alone
	consents []string // the consents it needs, in order
}

// assessRows has a row for every consent a capture can need, every refusal
// and every warning, with their texts; the refusals and a consent also
// with the facts before the exports are read (Capture asks tgtd nothing
// when the snapshots alone refuse).
func assessRows() []assessRow {
	consent := store.Options{DestroyNewer: true, AcceptSessions: true}
	return []assessRow{
		// Nothing to decide.
		{"an LU, changed since: the vendor warning alone", facts(), store.Options{},
			[]string{wVendor}, "", nil, nil},

		// Consents.
		{"newer snapshots: destroy_newer", facts(newer([]string{"s2", "s3"})), store.Options{},
			[]string{wVendor}, eNewer, nil, []string{engine.ConsentDestroyNewer}},
		{"newer snapshots with destroy_newer", facts(newer([]string{"s2", "s3"})), store.Options{DestroyNewer: true},
			[]string{wVendor}, "", nil, nil},
		{"newer snapshots, exports not read yet: destroy_newer, no warnings", facts(newer([]string{"s2", "s3"}), unread), store.Options{},
			nil, eNewer, nil, []string{engine.ConsentDestroyNewer}},
		{"initiators connected: accept_sessions, and the warning", facts(sessions(1, i1, i2)), store.Options{},
			[]string{wDropped, wVendor}, eSessions, nil, []string{engine.ConsentAcceptSessions}},
		{"initiators connected with accept_sessions: the warning alone", facts(sessions(1, i1, i2)), store.Options{AcceptSessions: true},
			[]string{wDropped, wVendor}, "", nil, nil},
		{"both consents missing: joined, destroy_newer first", facts(newer([]string{"s2", "s3"}), sessions(1, i1, i2)), store.Options{},
			[]string{wDropped, wVendor}, eNewer + "\n" + eSessions, nil, []string{engine.ConsentDestroyNewer, engine.ConsentAcceptSessions}},
		{"both consents given", facts(newer([]string{"s2", "s3"}), sessions(1, i1, i2)), consent,
			[]string{wDropped, wVendor}, "", nil, nil},
		{"initiators on a target without the volume's LUs: nothing about them", facts(target2), store.Options{},
			[]string{wVendor}, "", nil, nil},

		// Refusals (Fail closed): they come alone, without warnings or the
		// consents also missing.
		{"no such snapshot", facts(func(h *hostFacts) { h.tree = h.tree[:1] }), consent,
			nil, eNoSnap, engine.ErrNotFound, nil},
		{"no such snapshot, exports not read yet", facts(func(h *hostFacts) { h.tree = h.tree[:1] }, unread), consent,
			nil, eNoSnap, engine.ErrNotFound, nil},
		{"a newer snapshot is held", facts(newer([]string{"s2", "s3"}, "s3")), consent,
			nil, eHeld, engine.ErrPrecondition, nil},
		{"a newer snapshot is held, exports not read yet, destroy_newer missing", facts(newer([]string{"s2", "s3"}, "s3"), unread), store.Options{},
			nil, eHeld, engine.ErrPrecondition, nil},
		{"the LU is not a disk", facts(lun1(func(u *tgt.LUN) { u.Type = "cd/dvd" })), consent,
			nil, "LUN 1 of target " + iqn1 + " (" + dev + ") is a cd/dvd: volctl restores disk LUs only: failed precondition", engine.ErrPrecondition, nil},
		{"LUN 0 is on the volume", facts(func(h *hostFacts) { h.targets[0].LUNs = h.targets[0].LUNs[1:]; h.targets[0].LUNs[0].LUN = 0 }), consent,
			nil, "LUN 0 of target " + iqn1 + " (" + dev + ") is a disk: volctl restores disk LUs only: failed precondition", engine.ErrPrecondition, nil},
		{"a scsi_id tgtadm --params cannot give back", facts(lun1(func(u *tgt.LUN) { u.SCSIID = "" })), consent,
			nil, "LUN 1 of target " + iqn1 + ": invalid scsi_id: empty value (tgtd refuses it): it could not be restored after the rollback: failed precondition", engine.ErrPrecondition, nil},
		{"a scsi_sn tgtadm --params cannot give back", facts(lun1(func(u *tgt.LUN) { u.SCSISN = "a,b" })), consent,
			nil, `LUN 1 of target ` + iqn1 + `: invalid scsi_sn "a,b": a ',' cannot be passed through tgtadm --params: it could not be restored after the rollback: failed precondition`, engine.ErrPrecondition, nil},
		{"a refusal wins over the consents missing", facts(newer([]string{"s2", "s3"}), sessions(1, i1, i2), lun1(func(u *tgt.LUN) { u.Type = "cd/dvd" })), store.Options{},
			nil, "LUN 1 of target " + iqn1 + " (" + dev + ") is a cd/dvd: volctl restores disk LUs only: failed precondition", engine.ErrPrecondition, nil},

		// Warnings.
		{"no LU on the volume", facts(func(h *hostFacts) { h.targets = nil }), store.Options{},
			[]string{wNoLU}, "", nil, nil},
		{"the target exports another volume's LUN too", facts(func(h *hostFacts) {
			h.targets[0].LUNs = append(h.targets[0].LUNs, tgt.LUN{LUN: 2, Type: "disk", BackingPath: "/dev/zvol/tank/other"})
		}), store.Options{}, []string{wOtherLUN, wVendor}, "", nil, nil},
		{"the target has no ACL rule", facts(func(h *hostFacts) { h.targets[0].ACL = nil }), store.Options{},
			[]string{wNoACL, wVendor}, "", nil, nil},
		{"written@ 0: nothing changed", facts(func(h *hostFacts) { h.writtenAt = 0 }), store.Options{},
			[]string{wVendor, wSame}, "", nil, nil},
		{"no written@, used 0: maybe nothing changed", facts(func(h *hostFacts) { h.written, h.tree[1].Used = false, 0 }), store.Options{},
			[]string{wVendor, wUsed0}, "", nil, nil},
		{"no written@, used > 0: changed", facts(func(h *hostFacts) { h.written = false }), store.Options{},
			[]string{wVendor}, "", nil, nil},
		{"every warning of a target, in order", facts(sessions(1, i1, i2), func(h *hostFacts) {
			h.targets[0].ACL = nil
			h.targets[0].LUNs = append(h.targets[0].LUNs, tgt.LUN{LUN: 2, Type: "disk", BackingPath: "/dev/zvol/tank/other"})
			h.writtenAt = 0
		}), consent, []string{wDropped, wOtherLUN, wNoACL, wVendor, wSame}, "", nil, nil},
	}
}

// TestAssess runs assessRows.
func TestAssess(t *testing.T) {
	for _, tc := range assessRows() {
		t.Run(tc.name, func(t *testing.T) {
			warnings, err := assess(tc.h, tc.opts)
			tc.check(t, warnings, err)
		})
	}
}

// check compares what was decided with the row.
func (tc assessRow) check(t *testing.T, warnings []string, err error) {
	t.Helper()
	if !reflect.DeepEqual(warnings, tc.warnings) {
		t.Errorf("warnings\n %q\nwant\n %q", warnings, tc.warnings)
	}
	if got := errText(err); got != tc.err {
		t.Errorf("error\n %s\nwant\n %s", got, tc.err)
	}
	var names []string
	for _, c := range engine.Consents(err) {
		names = append(names, c.Consent)
	}
	if !reflect.DeepEqual(names, tc.consents) {
		t.Errorf("consents %q, want %q", names, tc.consents)
	}
	switch {
	case tc.is != nil && (!errors.Is(err, tc.is) || errors.Is(err, engine.ErrNeedsConsent)):
		t.Errorf("%v is not a refusal (%v)", err, tc.is)
	case tc.is == nil && err != nil && !errors.Is(err, engine.ErrNeedsConsent):
		t.Errorf("%v is a refusal, want consents alone", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestIdentityOfFacts: what the capture journals of the facts: the newer
// snapshots, what changed (written@, or the snapshot's used without it),
// and the LUs on the volume once the exports are read.
func TestIdentityOfFacts(t *testing.T) {
	id := facts(newer([]string{"s2", "s3"}), target2).identity()
	if id.Volume != "tank/vol" || id.Snapshot != "tank/vol@s1" || id.Volsize != 1<<30 || id.WrittenBefore != 4096 ||
		!reflect.DeepEqual(id.NewerSnapshots, []string{"tank/vol@s2", "tank/vol@s3"}) {
		t.Errorf("identity %+v", id)
	}
	if len(id.LUs) != 1 || id.LUs[0].TGT == nil || id.LUs[0].TGT.TID != 1 || id.LUs[0].TGT.LUN != 1 || id.LUs[0].TGT.Backing != "zvol" {
		t.Errorf("LUs %+v, want target 1's LUN 1 alone", id.LUs)
	}
	if id := facts(func(h *hostFacts) { h.written = false }).identity(); id.WrittenBefore != 8192 {
		t.Errorf("without written@: written before %d, want the snapshot's used 8192", id.WrittenBefore)
	}
	if id := facts(unread).identity(); len(id.LUs) != 0 || strings.Join(id.NewerSnapshots, "") != "" {
		t.Errorf("exports not read: %+v", id)
	}
}
