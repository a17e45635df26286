package solaris

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/bootcheck"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// check-boot (issue 23 item 2): will a kernel zone boot from its boot
// disk as it is now? The zone's boot devices (bootcheck.BootDevices) from
// its configuration, here or on the peer it is on (FindZones), the
// volumes of this host behind them (diskMap, as capture maps them), and
// each volume's root pool label read from its raw device, read-only
// (bootcheck.CheckVolume; docs/platform/kz-boot-path.md).

func (b *Backend) zvolDeviceDir() string {
	if b.ZvolDeviceDir != "" {
		return b.ZvolDeviceDir
	}
	return bootcheck.DefaultZvolDeviceDir
}

// CheckBoot implements engine.BootChecker. A disk whose label gives no
// answer is an error (a failed precondition naming what was read), never
// a verdict.
func (b *Backend) CheckBoot(ctx context.Context, run execx.RunFunc, zone string) (bootcheck.Report, error) {
	rep := bootcheck.Report{Zone: zone}
	if err := kz.ValidateZoneName(zone); err != nil {
		return rep, fmt.Errorf("zone %q: %v: %w", zone, err, engine.ErrInvalid)
	}
	ex, err := b.readExports(ctx, run)
	if err != nil {
		return rep, err
	}
	var devs []zones.Device
	found := false
	for _, zs := range ex.zones {
		if zs.zone.Name == zone {
			rep.State, rep.Brand, devs, found = zs.zone.State, zs.zone.Brand, localDevices(zs), true
		}
	}
	if !found && b.Peers != nil {
		for _, r := range b.Peers.Find(ctx, zones.Query{Zone: zone}) {
			if r.Err != nil {
				return rep, fmt.Errorf("%v: volctl cannot tell whether zone %s is there: %w", r.Err, zone, engine.ErrPrecondition)
			}
			for _, z := range r.Zones {
				// A zone configured on several hosts is read where it is
				// attached (installed or running).
				if z.Name == zone && (!found || z.State != "configured") {
					rep.Host, rep.State, rep.Brand, devs, found = r.Peer, z.State, z.Brand, z.Devices, true
				}
			}
		}
	}
	where := "this host"
	if rep.Host != "" {
		where = "peer " + rep.Host
	}
	switch {
	case !found:
		return rep, fmt.Errorf("zone %s is not configured on this host or any peer: %w", zone, engine.ErrNotFound)
	case rep.Brand != "solaris-kz":
		return rep, fmt.Errorf("zone %s (on %s) is a %s zone, not a kernel zone (solaris-kz): only a kernel zone imports its root pool from its boot disk: %w",
			zone, where, rep.Brand, engine.ErrPrecondition)
	}
	boot, err := bootcheck.BootDevices(devs)
	if err != nil {
		return rep, fmt.Errorf("zone %s (on %s): %w: %w", zone, where, err, engine.ErrPrecondition)
	}
	m := &diskMap{b: b, run: run, lus: ex.lus, targets: ex.targets}
	disks, err := m.disksOf(ctx, boot, rep.Host == "")
	if err != nil {
		return rep, fmt.Errorf("zone %s (on %s): %w", zone, where, err)
	}
	var errs []error
	for _, d := range disks {
		bd := b.checkDisk(ctx, run, d)
		rep.Disks = append(rep.Disks, bd)
		if bd.Err != nil {
			errs = append(errs, fmt.Errorf("boot device %d (%s): %w", d.dev.ID, d.dev.Storage, bd.Err))
		}
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("zone %s (on %s, %s): %w: %w", zone, where, rep.State, errors.Join(errs...), engine.ErrPrecondition)
	}
	return rep, nil
}

// checkDisk reads one boot device's label: its volume's volsize (zfs),
// then the raw device, read-only.
func (b *Backend) checkDisk(ctx context.Context, run execx.RunFunc, d disk) bootcheck.Disk {
	bd := bootcheck.Disk{Device: d.dev, Volume: d.volume}
	if d.volume == "" {
		bd.Err = fmt.Errorf("%w: its storage %s is not a volume of this host: the storage host cannot read it", bootcheck.ErrUnreadable, d.dev.Storage)
		return bd
	}
	bd.Path, _ = bootcheck.DevicePath(b.zvolDeviceDir(), d.volume)
	ds, err := b.volume(ctx, run, d.volume)
	if err != nil {
		bd.Err = fmt.Errorf("%w: read volsize of %s: %w", bootcheck.ErrUnreadable, d.volume, err)
		return bd
	}
	bd.Result, bd.Err = bootcheck.CheckVolume(b.zvolDeviceDir(), d.volume, ds.Volsize, d.dev.ID)
	return bd
}

// bootDisksOf records, for each kernel zone on the volume that runs (the
// rollback boots it again), its boot devices whose volumes the rollback
// takes back (the request's group): the check-boot step reads their
// labels before boot-zones. A boot device on another volume is not
// changed by the rollback and is not read. Boot devices that cannot be
// told are recorded as such: that zone is not booted (fail closed).
func bootDisksOf(f *facts, opts store.Options) {
	group := groupVolumes(f.id.Volume, opts)
	for i := range f.id.Zones {
		zn := &f.id.Zones[i]
		if !isKernelZone(*zn) || !zn.Ran() {
			continue
		}
		for _, zd := range f.disks {
			if zd.zone.Name != zn.Name || zd.zone.Host != zn.Host || zd.err != nil {
				continue
			}
			var devs []zones.Device
			for _, d := range zd.disks {
				devs = append(devs, d.dev)
			}
			boot, err := bootcheck.BootDevices(devs)
			if err != nil {
				zn.BootUnknown = err.Error()
				continue
			}
			for _, bd := range boot {
				for _, d := range zd.disks {
					if d.dev == bd && d.volume != "" && slices.Contains(group, d.volume) {
						zn.BootDisks = append(zn.BootDisks, store.BootDisk{ID: bd.ID, Volume: d.volume, Storage: bd.Storage})
					}
				}
			}
		}
	}
}

// bootChecked are the zones the check-boot step reads before boot-zones.
func bootChecked(zs []store.Zone) []store.Zone {
	var out []store.Zone
	for _, z := range zs {
		if len(z.BootDisks) > 0 || z.BootUnknown != "" {
			out = append(out, z)
		}
	}
	return out
}

// checkBoot is the check-boot step: before boot-zones, each kernel zone's
// boot disk labels, read-only. A label whose phys_path is not the zone's
// (the snapshot was taken while the pool was imported in a global zone), a
// label that cannot be read, or boot devices that could not be told stop
// the operation here, permanently: it needs attention, the zones stay
// attached and are not booted, and the text names each zone, the path and
// the rescue. Booting would panic the zone, or boot it blind.
func (s *sagaSteps) checkBoot(zs []store.Zone) engine.Step {
	var what []string
	var planned [][]string
	for _, z := range zs {
		for _, d := range z.BootDisks {
			dev, _ := bootcheck.DevicePath(s.b.zvolDeviceDir(), d.Volume)
			what = append(what, fmt.Sprintf("%s (%s, device %d: phys_path must be %s)", z.Name, dev, d.ID, bootcheck.KernelZonePhysPath(d.ID, "<slice>")))
			if s.volsizeOf(d.Volume) == 0 {
				// Its size is read after the rollback (zvol.VolsizeAfter).
				planned = append(planned, s.zfs(nil).GetArgv(d.Volume, "volsize"))
			}
		}
		if z.BootUnknown != "" {
			what = append(what, fmt.Sprintf("%s (boot devices unknown: %s)", z.Name, z.BootUnknown))
		}
	}
	st := engine.Step{Name: "check-boot",
		Description: "read the root pool label on each kernel zone's boot disk, read-only, before it boots: " + strings.Join(what, "; ") +
			"; a zone whose label says otherwise, or cannot be read, stays attached and is not booted", Planned: planned}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		var bad []string
		for _, z := range zs {
			if z.BootUnknown != "" {
				bad = append(bad, fmt.Sprintf("zone %s is not booted: volctl cannot tell its boot disk (%s)", z.Name, z.BootUnknown))
			}
			for _, d := range z.BootDisks {
				p, err := s.checkBootDisk(ctx, x, z, d)
				if err != nil {
					return err
				}
				if p != "" {
					bad = append(bad, p)
				}
			}
		}
		if len(bad) == 0 {
			return nil
		}
		msg := strings.Join(bad, "; ")
		if len(zs) > 1 {
			msg += fmt.Sprintf("; no zone was booted (%s stay attached)", zoneNames(zs))
		}
		return engine.Permanent(fmt.Errorf("%s; once repaired, volctl recover %d checks again and boots them", msg, s.op.ID))
	}
	return st
}

// checkBootDisk reads one boot disk's label once the volume is at the
// snapshot. It returns the problem ("" when the zone boots from it); an
// error only when the volume's size cannot be read (retried).
func (s *sagaSteps) checkBootDisk(ctx context.Context, x *engine.Exec, z store.Zone, d store.BootDisk) (string, error) {
	volsize, err := zvol.VolsizeAfter(ctx, s.zfs(x.Run), s.identityOf(d.Volume))
	if err != nil {
		return "", fmt.Errorf("zone %s: boot disk %s: %w", z.Name, d.Volume, err)
	}
	res, err := bootcheck.CheckVolume(s.b.zvolDeviceDir(), d.Volume, volsize, d.ID)
	switch {
	case err != nil:
		return fmt.Sprintf("zone %s is not booted: its boot disk %s (device %d) cannot be checked: %v", z.Name, d.Volume, d.ID, err), nil
	case !res.Boots:
		return fmt.Sprintf("zone %s is attached but not booted: %s; %s", z.Name, res.Problem(z.Name), bootcheck.Remedy(z.Name)), nil
	}
	x.Note("zone %s: boot disk %s (device %d): pool %s (guid %d, txg %d, last host %s), phys_path %s: the kernel zone's path",
		z.Name, d.Volume, d.ID, res.Pool, res.PoolGUID, res.TXG, res.LastHost(), res.PhysPath)
	return "", nil
}

// identityOf is the operation's identity of volume vol.
func (s *sagaSteps) identityOf(vol string) store.Identity {
	for _, v := range s.op.Volumes() {
		if v.Volume == vol {
			return v
		}
	}
	return store.Identity{Volume: vol}
}

// volsizeOf is vol's size at the snapshot when capture could read it, 0
// when it is only known after the rollback.
func (s *sagaSteps) volsizeOf(vol string) uint64 { return s.identityOf(vol).SnapshotVolsize }
