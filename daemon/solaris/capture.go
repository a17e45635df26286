package solaris

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// exports is what one look at the host finds: every LU and every zone with
// its storage. A listing of many volumes reads it once.
type exports struct {
	lus   []comstar.LU
	zones []zoneStorage
	// auxKnown: zoneadm list -s was read. A zone it does not show has no
	// auxiliary state volctl can know.
	auxKnown bool
	// targets are the targets and target groups, read only when a zone
	// names an LU by target and LUN (nil otherwise).
	targets *lunTargets
}

type zoneStorage struct {
	zone kz.Zone
	// storage are the zone's storage references (kz.Device.Storage): its
	// devices' storage URIs or match paths, its rootzpool's and zpools'
	// storage URIs.
	storage []string
	aux     string
	// auxListed: zoneadm list -s showed the zone (Solaris documents -s
	// with running zones; whether it shows installed ones is unverified).
	auxListed bool
	devices   []kz.Device
}

// readExports lists the LUs (list-lu -v) and the zones with their storage
// (readZones), and, when a zone names an LU by target and LUN, the targets
// and target groups that say which LU that is (zonestorage.go).
func (b *Backend) readExports(ctx context.Context, run execx.RunFunc) (exports, error) {
	var ex exports
	var err error
	if ex.lus, err = b.stmf(run).ListLU(ctx); err != nil {
		return ex, fmt.Errorf("list LUs: %w", err)
	}
	if ex.zones, ex.auxKnown, err = b.readZones(ctx, run); err != nil {
		return ex, err
	}
	ex.targets, err = b.readTargets(ctx, run, ex.zones)
	return ex, err
}

// readZones lists the zones with their storage (zoneadm list -cp, zonecfg
// -z Z info for each: devices, rootzpool, zpool) and auxiliary states
// (zoneadm list -s).
func (b *Backend) readZones(ctx context.Context, run execx.RunFunc) ([]zoneStorage, bool, error) {
	k := b.kz(run)
	zones, err := k.List(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("list zones: %w", err)
	}
	// zoneadm list always shows the global zone: output without it is not
	// to be trusted (a zone missed here would keep running on a disk that
	// goes back under it).
	if !slices.ContainsFunc(zones, func(z kz.Zone) bool { return z.Name == "global" }) {
		return nil, false, fmt.Errorf("zoneadm list -cp did not list the global zone: refusing to trust its output")
	}
	// Auxiliary states (suspended) exist for kernel zones only; illumos
	// has neither them nor `zoneadm list -s` (probed), so the listing is
	// read only where the host has it, and required where a kernel zone is
	// configured.
	kernelZones := slices.ContainsFunc(zones, func(z kz.Zone) bool { return z.Brand == "solaris-kz" })
	var aux map[string]string
	switch {
	case b.capabilities().Has(store.CapZoneadmListS):
		if aux, err = k.Aux(ctx); err != nil {
			return nil, false, fmt.Errorf("list zones' auxiliary states: %w", err)
		}
	case kernelZones:
		return nil, false, fmt.Errorf("a kernel zone is configured but zoneadm has no list -s (probed): its auxiliary state (suspended, migrating) cannot be read; refusing to act on it blind")
	}
	auxKnown := aux != nil
	var out []zoneStorage
	for _, z := range zones {
		if z.Name == "global" {
			continue
		}
		// A name from one command's output goes into the next argv only
		// once it is a name the platform itself would accept.
		if err := kz.ValidateZoneName(z.Name); err != nil {
			return nil, false, fmt.Errorf("zoneadm list -cp reported zone name %q, which volctl will not pass to zonecfg: %v: %w", z.Name, err, engine.ErrPrecondition)
		}
		devices, err := k.Devices(ctx, z.Name)
		if err != nil {
			return nil, false, fmt.Errorf("read storage of zone %s: %w", z.Name, err)
		}
		var storage []string
		for _, d := range devices {
			storage = append(storage, d.Storage)
		}
		if len(storage) == 0 && z.Brand == "solaris-kz" {
			// A kernel zone always has a boot device.
			return nil, false, fmt.Errorf("zonecfg -z %s info showed no device storage for a kernel zone: refusing to trust its output", z.Name)
		}
		a, listed := aux[z.Name]
		out = append(out, zoneStorage{z, storage, a, auxKnown && listed, devices})
	}
	return out, auxKnown, nil
}

// lusOf captures every registered LU whose data file is the zvol, with its
// views.
func (b *Backend) lusOf(ctx context.Context, run execx.RunFunc, ex exports, vol string) ([]store.LU, error) {
	c := b.stmf(run)
	var out []store.LU
	for _, lu := range ex.lus {
		if !lu.Registered || !comstar.IsZvolPath(lu.DataFile, vol) {
			continue
		}
		if err := comstar.ValidateGUID(lu.GUID); err != nil {
			return nil, fmt.Errorf("stmfadm list-lu reported LU name %q, which volctl will not pass to list-view: %v: %w", lu.GUID, err, engine.ErrPrecondition)
		}
		views, err := c.ListView(ctx, lu.GUID)
		if err != nil {
			return nil, fmt.Errorf("list views of %s: %w", lu.GUID, err)
		}
		// Two sources must agree before the identity is trusted: a view
		// missed here would be missed when restoring.
		if lu.ViewEntryCount >= 0 && lu.ViewEntryCount != len(views) {
			return nil, fmt.Errorf("LU %s: list-lu counts %d views but list-view shows %d: refusing to capture an uncertain identity",
				lu.GUID, lu.ViewEntryCount, len(views))
		}
		out = append(out, toStoreLU(lu, views))
	}
	return out, nil
}

func toStoreLU(lu comstar.LU, views []comstar.View) store.LU {
	s := store.LU{
		GUID: comstar.NormalizeGUID(lu.GUID), DataFile: lu.DataFile, Alias: lu.Alias, Size: lu.Size,
		BlockSize: lu.BlockSize, VendorID: lu.VendorID, ProductID: lu.ProductID, Serial: lu.SerialNum,
		MgmtURL: lu.MgmtURL, WriteProtect: lu.WriteProtect, WritebackCacheDisabled: lu.WritebackCacheDisabled,
		OperationalStatus: lu.OperationalStatus,
	}
	for _, v := range views {
		s.Views = append(s.Views, store.View{Entry: v.Entry, HostGroup: v.HostGroup, TargetGroup: v.TargetGroup, LUN: v.LUN})
	}
	return s
}

// zonesOf picks the zones whose storage names the volume: a dev: path or
// device match of it, or one of its LUs (refs: by GUID, or by a target
// and LUN a view gives it; zones.Names, the same test a zone host applies
// to its zones). A storage reference volctl cannot read is a refusal that
// names the zone: it might be this volume (docs/platform/zone-storage.md).
func zonesOf(ex exports, vol string, refs []zones.LURef) ([]store.Zone, error) {
	var out []store.Zone
	for _, zs := range ex.zones {
		var on []string
		for _, s := range zs.storage {
			used, err := usesVolume(s, vol, refs)
			if err != nil {
				return nil, fmt.Errorf("zone %s: %v, so volctl cannot tell whether the zone uses %s; correct the zone's configuration (zonecfg -z %s info): %w",
					zs.zone.Name, err, vol, zs.zone.Name, engine.ErrPrecondition)
			}
			if used {
				on = append(on, s)
			}
		}
		if len(on) > 0 {
			z := store.Zone{Name: zs.zone.Name, State: zs.zone.State, Brand: zs.zone.Brand, Storage: on, Aux: zs.aux}
			if !zs.auxListed && zs.zone.Brand == "solaris-kz" && zs.zone.State != "configured" {
				z.Aux = auxUnknown
			}
			out = append(out, z)
		}
	}
	return out, nil
}

// auxUnknown marks a kernel zone that zoneadm list -s did not show: it may
// be suspended for all volctl knows.
const auxUnknown = "unknown"

// usesVolume reports whether a storage reference of a zone of this host
// names vol (its own zvol path) or one of its LUs.
func usesVolume(s, vol string, refs []zones.LURef) (bool, error) {
	r, err := kz.ParseRef(s)
	if err != nil {
		return false, err
	}
	return r.NamesZvol(vol) || zones.Names(r, refs), nil
}

// Capture implements engine.Backend: validate, resolve the snapshot and the
// newer ones, capture LUs, views and zones, and refuse what needs consent.
func (b *Backend) Capture(ctx context.Context, run execx.RunFunc, snapshot string, opts store.Options) (store.Identity, []string, error) {
	vol, snap, err := zvol.SplitSnapshot(snapshot)
	if err != nil {
		return store.Identity{}, nil, err
	}
	id := store.Identity{Volume: vol, Snapshot: snapshot}
	if err := b.checkOptions(opts); err != nil {
		return id, nil, err
	}
	ds, err := b.volume(ctx, run, vol)
	if err != nil {
		return id, nil, err
	}
	id.Volsize = ds.Volsize
	z := b.zfs(run)
	snaps, err := z.Snapshots(ctx, vol)
	if err != nil {
		return id, nil, fmt.Errorf("list snapshots of %s: %w", vol, err)
	}
	names := make([]string, len(snaps))
	for i, s := range snaps {
		names[i] = s.Name
	}
	// A missing consent does not stop the capture: the dry run shows the
	// whole plan and says which consent it lacks.
	var consent []error
	if _, err := zvol.Resolve(&id, names, opts); errors.Is(err, engine.ErrNeedsConsent) {
		consent = append(consent, err)
	} else if err != nil {
		return id, nil, err
	}
	caps := b.capabilities()
	if caps.Has(store.CapWritten) {
		// Only for the plan's "nothing changed" warning: Oracle Solaris
		// has no written@ (docs/platform/zfs.md §1).
		if id.WrittenBefore, err = zvol.Written(ctx, z, vol, snap); err != nil {
			return id, nil, err
		}
	}
	if id.SnapshotVolsize, err = zvol.SnapshotVolsize(ctx, z, snapshot); err != nil {
		return id, nil, err
	}
	// The rollback's proof: zpool history gets one more record of it,
	// and only if it succeeded.
	zvol.CountHistory(ctx, b.zpool(run), &id)
	ex, err := b.readExports(ctx, run)
	if err != nil {
		return id, nil, err
	}
	// An LU list-lu -v could not show whole is not "no LU" (lus.go).
	if err := checkReadable(ex.lus, vol); err != nil {
		return id, nil, err
	}
	if id.LUs, err = b.lusOf(ctx, run, ex, vol); err != nil {
		return id, nil, err
	}
	var warnings []string
	// Who else uses the LU: zones here and on the peers, initiators
	// logged in.
	fab, err := b.readFabric(ctx, run, id.LUs)
	if err != nil {
		return id, nil, err
	}
	if id.Zones, err = zonesOf(ex, vol, fab.refs); err != nil {
		return id, nil, err
	}
	pv, w, errs := b.askPeers(ctx, vol, fab.refs, opts)
	warnings = append(warnings, w...)
	consent = append(consent, errs...)
	if err := checkPeerStorage(pv, vol); err != nil {
		return id, warnings, err
	}
	if id.Zones, w, err = mergeZones(id.Zones, pv.zones); err != nil {
		return id, warnings, err
	}
	warnings = append(warnings, w...)
	if err := checkNames(id); err != nil {
		return id, nil, err
	}
	w, err = b.checkSessions(id, fab, pv, opts)
	warnings = append(warnings, w...)
	if err != nil {
		consent = append(consent, err)
	}
	// The zone's other disks go back with this one, or the caller says
	// they need not.
	group := []string{vol}
	for _, g := range opts.Group {
		if v, _, err := zvol.SplitSnapshot(g); err == nil {
			group = append(group, v)
		}
	}
	m := &diskMap{b: b, run: run, lus: ex.lus, known: group, targets: ex.targets}
	for _, zn := range id.Zones {
		devs := pv.devices[zn.Host+"/"+zn.Name]
		if zn.Host == "" {
			for _, zs := range ex.zones {
				if zs.zone.Name == zn.Name {
					devs = localDevices(zs)
				}
			}
		}
		where := ""
		if zn.Host != "" {
			where = " on peer " + zn.Host
		}
		disks, err := m.disksOf(ctx, devs, zn.Host == "")
		if err != nil {
			return id, warnings, fmt.Errorf("zone %s%s: %w", zn.Name, where, err)
		}
		w, err := checkDisks(zn.Name, where, disks, group, opts)
		warnings = append(warnings, w...)
		if err != nil {
			consent = append(consent, err)
		}
	}
	if len(id.LUs) == 0 {
		warnings = append(warnings, fmt.Sprintf("no COMSTAR LU is backed by %s: only the zfs rollback will run", vol))
	} else if !caps.Has(store.CapDeleteLUKeep) {
		return id, nil, fmt.Errorf("this host's stmfadm has no delete-lu -k (probed: %s): a delete-lu without it removes every view of the LU, so volctl will not roll back an exported volume here: %w",
			capDetail(caps, store.CapDeleteLUKeep), engine.ErrPrecondition)
	}
	if !id.HistoryKnown {
		warnings = append(warnings, fmt.Sprintf("zpool history of %s could not be read whole: if the rollback is interrupted, whether it took effect is decided by running it again", vol))
	}
	for _, lu := range id.LUs {
		if wantStatus(lu) == comstar.StatusOffline {
			warnings = append(warnings, fmt.Sprintf("LU %s is Offline: once imported it is taken Offline again (stmfadm offline-lu), as it was", lu.GUID))
		}
		if _, err := b.stmf(nil).CreateLUArgv(toComstarLU(lu)); err != nil {
			warnings = append(warnings, fmt.Sprintf("no create-lu fallback for LU %s: %v; if import-lu finds no LU metadata in %s after the rollback (meta file error), the operation stops there and needs attention",
				lu.GUID, err, lu.DataFile))
		}
		if len(lu.Views) == 0 {
			warnings = append(warnings, fmt.Sprintf("LU %s has no views: no host can see it now, and none will after", lu.GUID))
		}
	}
	for _, lu := range id.LUs {
		switch {
		case id.SnapshotVolsize == 0:
			warnings = append(warnings, fmt.Sprintf("the LU's size may change: this platform does not say what size %s had at %s; after the rollback LU %s (%d bytes) is shrunk to the volume's size if it is larger (modify-lu -s)",
				vol, snapshot, lu.GUID, lu.Size))
		case lu.Size > id.SnapshotVolsize:
			warnings = append(warnings, fmt.Sprintf("LU %s is %d bytes but %s was %d bytes at %s: the rollback shrinks the volume, so the LU is resized to %d (modify-lu -s)",
				lu.GUID, lu.Size, vol, id.SnapshotVolsize, snapshot, id.SnapshotVolsize))
		}
	}
	if caps.Has(store.CapWritten) && id.WrittenBefore == 0 {
		warnings = append(warnings, fmt.Sprintf("%s has not changed since %s: the rollback changes no data", vol, snapshot))
	}
	for _, zn := range id.Zones {
		where := ""
		if zn.Host != "" {
			where = " on peer " + zn.Host
		}
		switch {
		case slices.Contains(refusedAux, zn.Aux):
			// docs/platform/zones.md §7: a rollback in the middle of a
			// migration, or under a suspend image, loses the guest.
			return id, warnings, fmt.Errorf("zone %s is %s%s: a rollback now would lose the guest (a suspend image or a migration in flight resumes against a different disk); finish or cancel the migration, or boot and shut the zone down, first: %w",
				zn.Name, zn.Aux, where, engine.ErrPrecondition)
		case zn.Aux == auxUnknown && opts.KeepHostdata:
			return id, warnings, fmt.Errorf("zone %s is not shown by zoneadm list -s, so volctl cannot tell whether it is suspended; with --keep-hostdata a suspended zone would resume a memory image against a different disk. Roll back without --keep-hostdata: %w",
				zn.Name, engine.ErrPrecondition)
		case zn.Aux == auxUnknown:
			warnings = append(warnings, fmt.Sprintf("zone %s is not shown by zoneadm list -s, so its auxiliary state is unknown; fresh host data discards any suspend image", zn.Name))
		case zn.Aux != "":
			warnings = append(warnings, fmt.Sprintf("zone %s is in auxiliary state %q", zn.Name, zn.Aux))
		}
		switch zn.State {
		case "running":
			if !opts.HaltZones {
				consent = append(consent, fmt.Errorf("zone %s is running%s on %s; stopping it for the rollback (shut down, halted if that hangs; booted again afterwards) %w",
					zn.Name, where, vol, engine.NeedsConsent(engine.ConsentHaltZones)))
			}
		case "installed":
		case "configured":
			warnings = append(warnings, fmt.Sprintf("zone %s is configured (detached) and stays so; its disk's host data goes back to %s", zn.Name, snapshot))
		default:
			return id, warnings, fmt.Errorf("zone %s is %s: volctl acts only on zones that are running, installed or configured; bring it to one of those first: %w",
				zn.Name, zn.State, engine.ErrPrecondition)
		}
	}
	return id, warnings, errors.Join(consent...)
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

// capDetail is what the probe said of a capability.
func capDetail(caps store.Capabilities, name string) string {
	for _, c := range caps {
		if c.Name == name {
			return c.Detail
		}
	}
	return "not probed"
}
