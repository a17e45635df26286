package linuxtgt

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// hostFacts is what Capture read of the host for one snapshot, before
// anything is decided: assess decides from it, identity records it.
type hostFacts struct {
	vol, snapshot string
	ds            zfs.Info   // the volume: a zvol or a filesystem
	tree          []zfs.Info // it and everything below it (children, snapshots)
	// exports: what follows was read. Capture reads it only when the
	// snapshots alone do not refuse.
	exports bool
	// written: the host's zfs has written@ (probed); writtenAt is then
	// written@snapshot.
	written   bool
	writtenAt uint64
	targets   []tgt.Target // every target, as tgtadm shows them
	// A keep rollback or an undo (readKeep): the kept dataset's name, the
	// dataset an undo brings back, the clone's properties, the volume's
	// used.
	kept, restore string
	local         map[string]string
	keptUsed      uint64
}

// snapshots are the volume's snapshots, oldest first, their names and the
// index of the one to roll back to (-1 when it is not there).
func (h *hostFacts) snapshots() ([]zfs.Info, []string, int) {
	snaps := zfs.SnapshotsOf(h.tree, h.vol)
	names := make([]string, len(snaps))
	for i, s := range snaps {
		names[i] = s.Name
	}
	return snaps, names, slices.Index(names, h.snapshot)
}

// writtenBefore is what changed since the snapshot: written@ where the
// host has it, else the snapshot's used.
func (h *hostFacts) writtenBefore() uint64 {
	if h.written {
		return h.writtenAt
	}
	// zfs-fuse: the snapshot's used is the signal (docs/platform/zfs.md §9.2).
	snaps, _, at := h.snapshots()
	if at < 0 {
		return 0
	}
	return snaps[at].Used
}

// identity is what the capture journals of the facts.
func (h *hostFacts) identity() store.Identity {
	id := store.Identity{Volume: h.vol, Snapshot: h.snapshot, Volsize: h.ds.Volsize, WrittenBefore: h.writtenBefore()}
	if _, names, at := h.snapshots(); at >= 0 {
		id.NewerSnapshots = append(id.NewerSnapshots, names[at+1:]...)
	}
	for _, f := range h.lus() {
		id.LUs = append(id.LUs, toStoreLU(f.t, f.u, f.kind))
	}
	id.Kept, id.Restore, id.LocalProps, id.KeptUsed = h.kept, h.restore, h.local, h.keptUsed
	return id
}

// lus are the LUs on the volume, once the exports are read.
func (h *hostFacts) lus() []onVolume {
	if !h.exports {
		return nil
	}
	return lusOn(h.targets, h.ds, h.tree)
}

// refused reports whether err is a refusal, not missing consents alone.
func refused(err error) bool { return err != nil && !errors.Is(err, engine.ErrNeedsConsent) }

// assess makes every decision of a capture from the host's facts alone,
// and changes nothing: what it refuses (ErrNotFound, ErrPrecondition: the
// refusal comes alone), the consents it needs (ErrNeedsConsent, several
// joined, in order) and the plan's warnings. Before the exports are read
// it decides from the snapshots alone.
func assess(h *hostFacts, opts store.Options) ([]string, error) {
	// A missing consent does not stop the capture: the dry run shows the
	// whole plan and says which consent it lacks.
	var consent []error
	if err := assessSnapshots(h, opts); refused(err) {
		return nil, err
	} else if err != nil {
		consent = append(consent, err)
	}
	if !h.exports {
		return nil, errors.Join(consent...)
	}
	if err := assessLUs(h.lus()); err != nil {
		return nil, err
	}
	warnings, sessions := assessTargets(h, opts)
	consent = append(consent, sessions...)
	if keeps(opts) {
		// Whether it took effect is read from the datasets' origins, not
		// from what changed since the snapshot: only the LU warnings and
		// what is kept.
		if len(h.lus()) == 0 {
			warnings = append(warnings, fmt.Sprintf("no tgt LU is backed by %s: only the zfs steps will run", h.vol))
		}
		return append(warnings, keepWarnings(h, opts)...), errors.Join(consent...)
	}
	if id := h.identity(); zvol.ProvedUnchanged(id, h.written, len(opts.Group) > 0) {
		// Nothing but a read runs (zvol.UnchangedStep): the consents are
		// for what would have run, and so are the other warnings.
		return []string{zvol.UnchangedWarning(id)}, nil
	}
	return append(warnings, volumeWarnings(h)...), errors.Join(consent...)
}

// assessSnapshots: the snapshot must be there, the newer ones need
// destroy_newer, and none of them may be held.
func assessSnapshots(h *hostFacts, opts store.Options) error {
	snaps, names, _ := h.snapshots()
	scratch := store.Identity{Volume: h.vol, Snapshot: h.snapshot}
	resolve := opts
	if keeps(opts) {
		// Nothing is destroyed: the newer snapshots move to the kept
		// dataset with their holds, so they need no consent.
		resolve.DestroyNewer = true
	}
	at, consent := zvol.Resolve(&scratch, names, resolve)
	if refused(consent) || keeps(opts) {
		return consent
	}
	var held []string
	for _, s := range snaps[at+1:] {
		if s.Userrefs > 0 {
			held = append(held, s.Name)
		}
	}
	if len(held) > 0 {
		// rollback -r destroys the newer snapshots one by one and stops at a
		// held one, after the others are gone (docs/platform/zfs.md §3.4).
		return fmt.Errorf("the newer snapshots %s have user holds: zfs rollback -r would destroy the others and then fail; release the holds first: %w",
			strings.Join(held, ", "), engine.ErrPrecondition)
	}
	return consent
}

// assessLUs refuses an LU volctl cannot restore: not a disk, or an identity
// tgtadm --params could not give back.
func assessLUs(found []onVolume) error {
	for _, f := range found {
		if f.u.LUN == 0 || f.u.Type != "disk" {
			return fmt.Errorf("LUN %d of target %s (%s) is a %s: volctl restores disk LUs only: %w",
				f.u.LUN, f.t.Name, f.u.BackingPath, f.u.Type, engine.ErrPrecondition)
		}
		for _, p := range []struct{ k, v string }{{"scsi_id", f.u.SCSIID}, {"scsi_sn", f.u.SCSISN}} {
			if err := tgt.ValidateParam(p.k, p.v, 0); err != nil {
				return fmt.Errorf("LUN %d of target %s: %v: it could not be restored after the rollback: %w",
					f.u.LUN, f.t.Name, err, engine.ErrPrecondition)
			}
		}
	}
	return nil
}

// assessTargets: the targets of the LUs, in tgtd's order. Connected
// initiators need accept_sessions and are warned about; so are the other
// LUNs of those targets and a target without an ACL rule.
func assessTargets(h *hostFacts, opts store.Options) (warnings []string, consent []error) {
	tids := map[int]bool{}
	for _, f := range h.lus() {
		tids[f.t.TID] = true
	}
	for _, t := range h.targets {
		if !tids[t.TID] {
			continue
		}
		if len(t.Nexuses) > 0 {
			var who []string
			for _, n := range t.Nexuses {
				who = append(who, fmt.Sprintf("%s (session %d)", n.Initiator, n.ID))
			}
			if !opts.AcceptSessions {
				consent = append(consent, fmt.Errorf("initiators are connected to target %s: %s; the rollback changes the data under them. Log them out first, or consent to dropping their connections (they reconnect once the LU is back): %w",
					t.Name, strings.Join(who, ", "), engine.NeedsConsent(engine.ConsentAcceptSessions)))
			}
			warnings = append(warnings, fmt.Sprintf("target %s: the connections of %s are dropped; they may replay queued writes when they reconnect after the rollback, and their caches hold pre-rollback data",
				t.Name, strings.Join(who, ", ")))
		}
		for _, u := range t.LUNs {
			if _, on := backs(u.BackingPath, h.ds, h.tree); !on && u.LUN != 0 {
				warnings = append(warnings, fmt.Sprintf("target %s also exports LUN %d (%s), which is not on %s: no new login reaches it while the bindings are removed",
					t.Name, u.LUN, u.BackingPath, h.vol))
			}
		}
		if len(t.ACL) == 0 {
			warnings = append(warnings, fmt.Sprintf("target %s has no ACL rule: no initiator can log in now, and none will after", t.Name))
		}
	}
	return warnings, consent
}

// volumeWarnings: no LU on the volume, tgtadm's hidden vendor strings, and
// a volume that has not changed since the snapshot.
func volumeWarnings(h *hostFacts) []string {
	var warnings []string
	if len(h.lus()) == 0 {
		warnings = append(warnings, fmt.Sprintf("no tgt LU is backed by %s: only the zfs rollback will run", h.vol))
	} else {
		warnings = append(warnings, "tgtadm does not show vendor_id/product_id: an LU comes back with tgtd's (IET, VIRTUAL-DISK) unless they were the defaults")
	}
	switch {
	case h.writtenBefore() == 0 && h.written:
		warnings = append(warnings, fmt.Sprintf("%s has not changed since %s: the rollback changes no data", h.vol, h.snapshot))
	case h.writtenBefore() == 0:
		warnings = append(warnings, fmt.Sprintf("%s holds no space of its own (used 0): either %s has not changed since, or its changes are not synced yet; this zfs has no written@, so a rollback that fails is judged by used@ alone",
			h.snapshot, h.vol))
	}
	if id := h.identity(); !h.written && len(id.NewerSnapshots) == 0 {
		warnings = append(warnings, zvol.CannotTellWarning(id))
	}
	return warnings
}
