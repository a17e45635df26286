package solaris

import (
	"context"
	"errors"
	"fmt"

	"github.com/volctl/volctl/daemon/bootcheck"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
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
