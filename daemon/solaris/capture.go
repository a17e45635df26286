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
	if err := unmappable(ex.zones, vol); err != nil {
		return nil, err
	}
	return localZones(ex, vol, refs), nil
}

// localZones is zonesOf once unmappable has found every storage reference
// readable.
func localZones(ex exports, vol string, refs []zones.LURef) []store.Zone {
	var out []store.Zone
	for _, zs := range ex.zones {
		var on []string
		for _, s := range zs.storage {
			if used, _ := usesVolume(s, vol, refs); used {
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
	return out
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

// Capture implements engine.Backend in two halves: read (the volume, the
// snapshot and the newer ones, LUs and views, zones and their storage, the
// fabric, the peers' answers, the zones' disks) and assess (assess.go: the
// consents missing, the refusals and the warnings, from what was read,
// running nothing). Bad options are refused before anything runs.
func (b *Backend) Capture(ctx context.Context, run execx.RunFunc, snapshot string, opts store.Options) (store.Identity, []string, error) {
	if opts.Forget != 0 {
		return b.captureForget(ctx, run, snapshot, opts)
	}
	vol, snap, err := zvol.SplitSnapshot(snapshot)
	if err != nil {
		return store.Identity{}, nil, err
	}
	id := store.Identity{Volume: vol, Snapshot: snapshot}
	if err := b.checkOptions(opts); err != nil {
		return id, nil, err
	}
	if err := checkKeepOptions(vol, opts); err != nil {
		return id, nil, err
	}
	caps := b.capabilities()
	f, err := b.read(ctx, run, id, snap, opts, caps)
	if err != nil {
		return f.id, nil, err
	}
	warnings, err := assess(f, opts, caps)
	if keeps(opts) && (err == nil || errors.Is(err, engine.ErrNeedsConsent)) {
		// A keep's own reads and refusals (capture_keep.go), once
		// nothing else refused.
		if kerr := b.readKeep(ctx, run, &f, opts); kerr != nil {
			return f.id, warnings, kerr
		}
		w, kerr := assessKeep(f.id, opts)
		warnings = append(warnings, w...)
		if kerr != nil {
			err = kerr
		}
	}
	if err == nil {
		bootDisksOf(&f, opts)
	}
	f.id.Unchanged = err == nil && !keeps(opts) && zvol.ProvedUnchanged(f.id, caps.Has(store.CapWritten), len(opts.Group) > 0)
	return f.id, warnings, err
}

// facts are what a capture reads of the host for one volume. Nothing in
// them is decided yet: assess decides from them.
type facts struct {
	// id is the identity as read: the volume and its sizes, written@,
	// the zpool history's count, the newer snapshots, the LUs with their
	// views, and the zones on the volume (this host's and the peers',
	// one entry per zone: mergeZones).
	id store.Identity
	// snapshots are the volume's snapshots, oldest first.
	snapshots []string
	// ex is every LU and every zone of this host, with their storage.
	ex exports
	// fabric is the targets with their sessions, and the groups.
	fabric fabric
	// local are this host's zones on the volume.
	local []store.Zone
	// answers are the peers' (none without peers or LUs); pv is what
	// they say.
	answers []zones.Report
	pv      peerView
	// disks are the devices of each zone of id.Zones mapped to this
	// host's volumes, zone by zone; the last may say why they could not
	// be.
	disks []zoneDisks
	// initiators are this host's own (Backend.Initiators).
	initiators []string
}

// zoneDisks are a zone's devices and the volumes of this host behind them
// (diskMap), or why they could not be mapped.
type zoneDisks struct {
	zone  store.Zone
	disks []disk
	err   error
}

// read reads the host for the capture of id, in the order the capture
// always has. A command that fails ends it with that error. Where one of
// assess's refusals is already certain from what has been read (the same
// checks: checkReadable, unmappable, checkPeerStorage, mergeZones,
// checkNames), it stops there without an error, so a refused capture runs
// no more commands and asks no more peers than it must; assess then finds
// the refusal before anything read later would count.
func (b *Backend) read(ctx context.Context, run execx.RunFunc, id store.Identity, snap string, opts store.Options, caps store.Capabilities) (facts, error) {
	f := facts{id: id, initiators: b.Initiators}
	if err := b.readVolume(ctx, run, &f, snap, opts, caps); err != nil {
		return f, err
	}
	vol := f.id.Volume
	var err error
	if f.ex, err = b.readExports(ctx, run); err != nil {
		return f, err
	}
	if checkReadable(f.ex.lus, vol) != nil {
		return f, nil
	}
	if f.id.LUs, err = b.lusOf(ctx, run, f.ex, vol); err != nil {
		return f, err
	}
	// Who else uses the LU: zones here and on the peers, initiators
	// logged in.
	if f.fabric, err = b.readFabric(ctx, run, f.id.LUs); err != nil {
		return f, err
	}
	if unmappable(f.ex.zones, vol) != nil {
		return f, nil
	}
	f.local = localZones(f.ex, vol, f.fabric.refs)
	f.answers = b.askPeers(ctx, f.fabric.refs)
	f.pv = peerViewOf(f.answers)
	if checkPeerStorage(f.pv, vol) != nil {
		return f, nil
	}
	if f.id.Zones, _, err = mergeZones(f.local, f.pv.zones); err != nil || checkNames(f.id) != nil {
		return f, nil
	}
	f.disks = b.readDisks(ctx, run, f, opts)
	return f, nil
}

// readVolume reads the volume (its volsize), its snapshots (the newer ones
// go into the identity; a snapshot that is not there ends the capture),
// written@ where the host has it, the snapshot's volsize and the zpool
// history's count.
func (b *Backend) readVolume(ctx context.Context, run execx.RunFunc, f *facts, snap string, opts store.Options, caps store.Capabilities) error {
	vol := f.id.Volume
	ds, err := b.volume(ctx, run, vol)
	if err != nil {
		return err
	}
	f.id.Volsize = ds.Volsize
	if keeps(opts) {
		f.id.KeptUsed = ds.Used // the most the kept dataset will hold
	}
	z := b.zfs(run)
	snaps, err := z.Snapshots(ctx, vol)
	if err != nil {
		return fmt.Errorf("list snapshots of %s: %w", vol, err)
	}
	for _, s := range snaps {
		f.snapshots = append(f.snapshots, s.Name)
	}
	// Whether the newer ones may go (destroy_newer) is assess's to ask.
	if _, err := zvol.Resolve(&f.id, f.snapshots, opts); err != nil && !errors.Is(err, engine.ErrNeedsConsent) {
		return err
	}
	if caps.Has(store.CapWritten) {
		// Only for the plan's "nothing changed" warning: Oracle Solaris
		// has no written@ (docs/platform/zfs.md §1).
		if f.id.WrittenBefore, err = zvol.Written(ctx, z, vol, snap); err != nil {
			return err
		}
	}
	if f.id.SnapshotVolsize, err = zvol.SnapshotVolsize(ctx, z, f.id.Snapshot); err != nil {
		return err
	}
	// The rollback's proof: zpool history gets one more record of it,
	// and only if it succeeded.
	zvol.CountHistory(ctx, b.zpool(run), &f.id)
	return nil
}

// readDisks maps the devices of every zone on the volume to this host's
// volumes (diskMap: the views are read only when a device names its LU by
// target and LUN), zone by zone, up to the first zone whose devices it
// cannot map.
func (b *Backend) readDisks(ctx context.Context, run execx.RunFunc, f facts, opts store.Options) []zoneDisks {
	m := &diskMap{b: b, run: run, lus: f.ex.lus, known: groupVolumes(f.id.Volume, opts), targets: f.ex.targets}
	var out []zoneDisks
	for _, zn := range f.id.Zones {
		devs := f.pv.devices[zn.Host+"/"+zn.Name]
		if zn.Host == "" {
			for _, zs := range f.ex.zones {
				if zs.zone.Name == zn.Name {
					devs = localDevices(zs)
				}
			}
		}
		disks, err := m.disksOf(ctx, devs, zn.Host == "")
		out = append(out, zoneDisks{zone: zn, disks: disks, err: err})
		if err != nil {
			break
		}
	}
	return out
}

// groupVolumes are vol and the volumes of the request's group.
func groupVolumes(vol string, opts store.Options) []string {
	group := []string{vol}
	for _, g := range opts.Group {
		if v, _, err := zvol.SplitSnapshot(g); err == nil {
			group = append(group, v)
		}
	}
	return group
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
