package solaris

import (
	"errors"
	"fmt"
	"slices"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// assess is the capture's decision, from what read found (facts), the
// request's options and the host's capabilities; it runs nothing, and is
// tested by table (assess_test.go). It returns the warnings, in the order
// the plan shows them, and either a refusal (wrapping ErrPrecondition: the
// first one found, in the order below) or the consents the request lacks,
// joined (each wraps NeedsConsent: destroy_newer, skip_peers,
// accept_sessions, only_these_disks, halt_zones, in that order). A missing
// consent does not stop the assessment: the dry run shows the whole plan
// and says which consents it lacks.
func assess(f facts, opts store.Options, caps store.Capabilities) ([]string, error) {
	var a assessment
	vol := f.id.Volume
	// zvol.Resolve reads no host: given the snapshots, it says whether
	// destroy_newer is needed.
	newer := store.Identity{Volume: vol, Snapshot: f.id.Snapshot}
	// A keep destroys none: the newer snapshots go to the kept dataset.
	if _, err := zvol.Resolve(&newer, f.snapshots, opts); errors.Is(err, engine.ErrNeedsConsent) && !keeps(opts) {
		a.consent = append(a.consent, err)
	}
	// An LU list-lu -v could not show whole is not "no LU" (lus.go).
	if err := checkReadable(f.ex.lus, vol); err != nil {
		return nil, err
	}
	if err := unmappable(f.ex.zones, vol); err != nil {
		return nil, err
	}
	a.add(peerConsents(f.answers, vol, opts))
	if err := checkPeerStorage(f.pv, vol); err != nil {
		return a.warnings, err
	}
	_, w, err := mergeZones(f.local, f.pv.zones)
	if err != nil {
		return a.warnings, err
	}
	a.warnings = append(a.warnings, w...)
	if err := checkNames(f.id); err != nil {
		return nil, err
	}
	a.need(checkSessions(f.id, f.fabric, f.pv, f.initiators, opts))
	if err := a.disks(f, opts); err != nil {
		return a.warnings, err
	}
	if err := a.volume(f.id, opts, caps); err != nil {
		return nil, err
	}
	if err := a.zones(f.id, opts); err != nil {
		return a.warnings, err
	}
	if !keeps(opts) && zvol.ProvedUnchanged(f.id, caps.Has(store.CapWritten), len(opts.Group) > 0) {
		// Nothing but a read runs (zvol.UnchangedStep): the consents are
		// for what would have run, and so are the other warnings.
		return []string{zvol.UnchangedWarning(f.id)}, nil
	}
	return a.warnings, errors.Join(a.consent...)
}

// assessment is what assess has found so far.
type assessment struct {
	warnings []string
	consent  []error
}

// add takes warnings and missing consents.
func (a *assessment) add(w []string, consent []error) {
	a.warnings = append(a.warnings, w...)
	a.consent = append(a.consent, consent...)
}

// need takes warnings and a missing consent (nil: none).
func (a *assessment) need(w []string, err error) {
	a.warnings = append(a.warnings, w...)
	if err != nil {
		a.consent = append(a.consent, err)
	}
}

// disks: the zone's other disks go back with this one, or the caller says
// they need not (checkDisks). A zone whose devices could not be mapped
// (read stopped there) is refused, naming it.
func (a *assessment) disks(f facts, opts store.Options) error {
	group := groupVolumes(f.id.Volume, opts)
	for _, zd := range f.disks {
		zn := zd.zone
		where := onPeer(zn)
		if zd.err != nil {
			return fmt.Errorf("zone %s%s: %w", zn.Name, where, zd.err)
		}
		a.need(checkDisks(zn.Name, where, zd.disks, group, opts))
	}
	return nil
}

// onPeer is " on peer HOST" for a zone on a peer, "" for one here.
func onPeer(zn store.Zone) string {
	if zn.Host != "" {
		return " on peer " + zn.Host
	}
	return ""
}

// volume: the volume's LUs (none: a warning; some: delete-lu -k is
// required), zpool history, each LU's state, create-lu fallback, views
// and size, and written@.
func (a *assessment) volume(id store.Identity, opts store.Options, caps store.Capabilities) error {
	vol, snapshot := id.Volume, id.Snapshot
	if len(id.LUs) == 0 {
		a.warnings = append(a.warnings, fmt.Sprintf("no COMSTAR LU is backed by %s: only the zfs rollback will run", vol))
	} else if !caps.Has(store.CapDeleteLUKeep) {
		return fmt.Errorf("this host's stmfadm has no delete-lu -k (probed: %s): a delete-lu without it removes every view of the LU, so volctl will not roll back an exported volume here: %w",
			capDetail(caps, store.CapDeleteLUKeep), engine.ErrPrecondition)
	}
	if !id.HistoryKnown && !keeps(opts) {
		// (a keep runs no zfs rollback: zpool history is not its proof)
		a.warnings = append(a.warnings, fmt.Sprintf("zpool history of %s could not be read whole: if the rollback is interrupted, whether it took effect is decided by running it again", vol))
	}
	for _, lu := range id.LUs {
		if wantStatus(lu) == comstar.StatusOffline {
			a.warnings = append(a.warnings, fmt.Sprintf("LU %s is Offline: once imported it is taken Offline again (stmfadm offline-lu), as it was", lu.GUID))
		}
		if _, err := (comstar.Cmd{}).CreateLUArgv(toComstarLU(lu)); err != nil && !keeps(opts) {
			// (with keep, a refusal: assessKeep)
			a.warnings = append(a.warnings, fmt.Sprintf("no create-lu fallback for LU %s: %v; if import-lu finds no LU metadata in %s after the rollback (meta file error), the operation stops there and needs attention",
				lu.GUID, err, lu.DataFile))
		}
		if len(lu.Views) == 0 {
			a.warnings = append(a.warnings, fmt.Sprintf("LU %s has no views: no host can see it now, and none will after", lu.GUID))
		}
	}
	for _, lu := range id.LUs {
		switch {
		case id.SnapshotVolsize == 0:
			a.warnings = append(a.warnings, fmt.Sprintf("the LU's size may change: this platform does not say what size %s had at %s; after the rollback LU %s (%d bytes) is shrunk to the volume's size if it is larger (modify-lu -s)",
				vol, snapshot, lu.GUID, lu.Size))
		case lu.Size > id.SnapshotVolsize:
			a.warnings = append(a.warnings, fmt.Sprintf("LU %s is %d bytes but %s was %d bytes at %s: the rollback shrinks the volume, so the LU is resized to %d (modify-lu -s)",
				lu.GUID, lu.Size, vol, id.SnapshotVolsize, snapshot, id.SnapshotVolsize))
		}
	}
	switch {
	case opts.Undo != 0:
		// An undo swaps the data the operation undone kept back in, which
		// written@ of the volume does not see.
	case caps.Has(store.CapWritten) && id.WrittenBefore == 0 && len(id.NewerSnapshots) == 0:
		// A one-volume rollback changes nothing (assess); in a group
		// the volume goes back with the others.
		a.warnings = append(a.warnings, fmt.Sprintf("%s has not changed since %s: the rollback changes no data", vol, snapshot))
	case !caps.Has(store.CapWritten) && len(id.NewerSnapshots) == 0:
		a.warnings = append(a.warnings, zvol.CannotTellWarning(id))
	}
	return nil
}

// zones: each zone's auxiliary state (refused, unknown, or said) and
// state (running needs halt_zones; installed is detached for the
// rollback; configured stays so; any other is refused).
func (a *assessment) zones(id store.Identity, opts store.Options) error {
	for _, zn := range id.Zones {
		where := onPeer(zn)
		switch {
		case slices.Contains(refusedAux, zn.Aux):
			// docs/platform/zones.md §7: a rollback in the middle of a
			// migration, or under a suspend image, loses the guest.
			return fmt.Errorf("zone %s is %s%s: a rollback now would lose the guest (a suspend image or a migration in flight resumes against a different disk); finish or cancel the migration, or boot and shut the zone down, first: %w",
				zn.Name, zn.Aux, where, engine.ErrPrecondition)
		case zn.Aux == auxUnknown && opts.KeepHostdata:
			return fmt.Errorf("zone %s is not shown by zoneadm list -s, so volctl cannot tell whether it is suspended; with --keep-hostdata a suspended zone would resume a memory image against a different disk. Roll back without --keep-hostdata: %w",
				zn.Name, engine.ErrPrecondition)
		case zn.Aux == auxUnknown:
			a.warnings = append(a.warnings, fmt.Sprintf("zone %s is not shown by zoneadm list -s, so its auxiliary state is unknown; fresh host data discards any suspend image", zn.Name))
		case zn.Aux != "":
			a.warnings = append(a.warnings, fmt.Sprintf("zone %s is in auxiliary state %q", zn.Name, zn.Aux))
		}
		switch zn.State {
		case "running":
			if !opts.HaltZones {
				a.consent = append(a.consent, fmt.Errorf("zone %s is running%s on %s; stopping it for the rollback (shut down, halted if that hangs; booted again afterwards) %w",
					zn.Name, where, id.Volume, engine.NeedsConsent(engine.ConsentHaltZones)))
			}
		case "installed":
		case "configured":
			a.warnings = append(a.warnings, fmt.Sprintf("zone %s is configured (detached) and stays so; its disk's host data goes back to %s", zn.Name, id.Snapshot))
		default:
			return fmt.Errorf("zone %s is %s: volctl acts only on zones that are running, installed or configured; bring it to one of those first: %w",
				zn.Name, zn.State, engine.ErrPrecondition)
		}
	}
	return nil
}

// unmappable refuses a capture when a storage reference of one of this
// host's zones cannot be read: it might name vol
// (docs/platform/zone-storage.md). It names the zone.
func unmappable(zs []zoneStorage, vol string) error {
	for _, z := range zs {
		for _, s := range z.storage {
			if _, err := kz.ParseRef(s); err != nil {
				return fmt.Errorf("zone %s: %v, so volctl cannot tell whether the zone uses %s; correct the zone's configuration (zonecfg -z %s info): %w",
					z.zone.Name, err, vol, z.zone.Name, engine.ErrPrecondition)
			}
		}
	}
	return nil
}

// checkNames validates every name the platform reported that a later step
// puts into an argv (GUIDs, host and target groups, zone names) against the
// platform's own rules: a name that could read as an option or carry shell
// text is refused before anything changes.
func checkNames(id store.Identity) error {
	bad := func(what string, err error) error {
		return fmt.Errorf("the platform reported %s, which volctl will not pass to a command: %v: %w", what, err, engine.ErrPrecondition)
	}
	for _, lu := range id.LUs {
		if err := comstar.ValidateGUID(lu.GUID); err != nil {
			return bad(fmt.Sprintf("LU GUID %q", lu.GUID), err)
		}
		for _, v := range lu.Views {
			for _, g := range []string{v.HostGroup, v.TargetGroup} {
				if g == "All" {
					continue
				}
				if err := comstar.ValidateGroupName(g); err != nil {
					return bad(fmt.Sprintf("group %q in a view of %s", g, lu.GUID), err)
				}
			}
			if v.LUN < 0 || v.LUN > 16383 {
				return bad(fmt.Sprintf("LUN %d in a view of %s", v.LUN, lu.GUID), errors.New("out of range 0..16383"))
			}
		}
	}
	for _, z := range id.Zones {
		if err := kz.ValidateZoneName(z.Name); err != nil {
			return bad(fmt.Sprintf("zone name %q", z.Name), err)
		}
	}
	return nil
}
