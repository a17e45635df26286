package solaris

import (
	"context"
	"fmt"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// A rescue's capture (issue 23 item 3, docs/rescue.md; the platform facts
// in docs/platform/kz-rescue.md): both zones read from this host
// (zoneadm list, zonecfg info), the zone's boot device and the volume of
// this host behind it, and the root pool's label where a label reader is
// there. The steps are in steps_rescue.go.

// rescueDeviceID is the device id the broken disk gets in the rescue
// zone: the id it has in its own zone, so that the import and export
// there write the phys_path that zone boots from (/zvnex/zvblk@0:b).
const rescueDeviceID = kz.RescueDeviceID

// BootLabel is what the rescue needs of a kernel zone's boot disk label,
// read from the storage host without importing the pool (check-boot's
// reader, CheckBoot, by default: rescue_label.go).
type BootLabel struct {
	// Pool and PoolGUID are the root pool's, as the label says.
	Pool     string
	PoolGUID uint64
	// PhysPath is the leaf's phys_path; Boots says whether it is the
	// zone's kernel zone path, Says is a sentence for people either way.
	PhysPath string
	Boots    bool
	Says     string
}

// LabelReader reads a kernel zone's boot disk label (read-only). It is the
// rescue's consumer-side view of check-boot (issue 23 item 2).
type LabelReader interface {
	ReadBootLabel(ctx context.Context, run execx.RunFunc, zone string) (BootLabel, error)
}

func (b *Backend) readBootLabel(ctx context.Context, run execx.RunFunc, zone string) (BootLabel, error) {
	return b.labels().ReadBootLabel(ctx, run, zone) // rescue_label.go
}

// CaptureRescue implements engine.Rescuer.
func (b *Backend) CaptureRescue(ctx context.Context, run execx.RunFunc, o store.RescueOptions) (store.Identity, []string, error) {
	for _, z := range []string{o.Zone, o.With} {
		if err := kz.ValidateZoneName(z); err != nil {
			return store.Identity{}, nil, fmt.Errorf("zone %q: %v: %w", z, err, engine.ErrInvalid)
		}
	}
	// The zone's name is the pool's temporary name in the rescue zone.
	if err := kz.ValidatePoolName(o.Zone); err != nil {
		return store.Identity{}, nil, fmt.Errorf("zone %s's name is the temporary name of its root pool in %s, and zpool would refuse it: %v: %w",
			o.Zone, o.With, err, engine.ErrInvalid)
	}
	ex, err := b.readExports(ctx, run)
	if err != nil {
		return store.Identity{}, nil, err
	}
	zone, with := findZone(ex, o.Zone), findZone(ex, o.With)
	var on *zones.Report // the peer both zones are on (rescue_peer.go)
	if zone == nil && with == nil && b.Peers != nil {
		if zone, with, on, err = b.rescueZonesOnPeer(ctx, o); err != nil {
			return store.Identity{}, nil, err
		}
	}
	if zone == nil || with == nil {
		return store.Identity{}, nil, b.rescueElsewhere(ctx, o, zone == nil, with == nil)
	}
	if on == nil && b.Paths.Zlogin == "" {
		return store.Identity{}, nil, fmt.Errorf("no zlogin configured ([commands] zlogin = \"/usr/sbin/zlogin\" in volctld.toml): the rescue imports the pool inside %s through it: %w",
			o.With, engine.ErrPrecondition)
	}
	r := &store.Rescue{Zone: o.Zone, With: o.With, DeviceID: rescueDeviceID, WithState: with.zone.State,
		Pool: "rpool", TempName: o.Zone, Altroot: kz.RescueAltroot, Zpool: kz.ZpoolInZone}
	if err := checkRescueZones(zone, with); err != nil {
		return store.Identity{}, nil, err
	}
	boot, err := bootDevice(zone)
	if err != nil {
		return store.Identity{}, nil, err
	}
	r.Storage = boot.Storage
	if err := checkRescueDevices(with, o.Zone, boot.Storage); err != nil {
		return store.Identity{}, nil, err
	}
	m := &diskMap{b: b, run: run, lus: ex.lus, targets: ex.targets}
	vol, err := m.volume(ctx, boot.Storage, on == nil)
	if err != nil {
		return store.Identity{}, nil, fmt.Errorf("zone %s's boot device %s: %w", o.Zone, boot.Storage, err)
	}
	if vol == "" {
		return store.Identity{}, nil, fmt.Errorf("zone %s's boot device %s is not a volume of this host: the rescue runs on the host that serves the zone's boot disk: %w",
			o.Zone, boot.Storage, engine.ErrPrecondition)
	}
	var warnings []string
	lbl, err := b.readBootLabel(ctx, run, o.Zone)
	switch {
	case err != nil:
		// Imported by name: the pool on the one disk the rescue zone sees
		// that it has not imported itself.
		warnings = append(warnings, fmt.Sprintf("the boot disk's label was not read (%v): the pool is imported by its name, %s", err, r.Pool))
	case lbl.Boots:
		warnings = append(warnings, fmt.Sprintf("%s: the rescue changes nothing that matters, but is harmless", lbl.Says))
		fallthrough
	default:
		if lbl.Pool != "" {
			r.Pool = lbl.Pool
		}
		r.PoolGUID = lbl.PoolGUID
	}
	id := store.Identity{Volume: vol, Rescue: r, Zones: []store.Zone{
		{Name: o.Zone, State: zone.zone.State, Brand: zone.zone.Brand, Storage: zone.storage},
		{Name: o.With, State: with.zone.State, Brand: with.zone.Brand, Storage: with.storage},
	}}
	if on != nil {
		rescueOnPeer(&id, on) // rescue_peer.go
	}
	return id, warnings, nil
}

// other is the zone of the rescue that is not name.
func other(o store.RescueOptions, name string) string {
	if name == o.Zone {
		return o.With
	}
	return o.Zone
}

func findZone(ex exports, name string) *zoneStorage {
	for i := range ex.zones {
		if ex.zones[i].zone.Name == name {
			return &ex.zones[i]
		}
	}
	return nil
}

// rescueElsewhere is the refusal for a zone not configured here: on a
// peer while the other is here (both zones must be on one host), or
// nowhere.
func (b *Backend) rescueElsewhere(ctx context.Context, o store.RescueOptions, zoneMissing, withMissing bool) error {
	var missing []string
	if zoneMissing {
		missing = append(missing, o.Zone)
	}
	if withMissing {
		missing = append(missing, o.With)
	}
	if b.Peers != nil {
		for _, name := range missing {
			for _, r := range b.Peers.Find(ctx, zones.Query{Zone: name}) {
				if r.Err != nil {
					return fmt.Errorf("zone %s is not on this host and peer %s did not answer (%v): %w", name, r.Peer, r.Err, engine.ErrPrecondition)
				}
				for _, z := range r.Zones {
					if z.Name == name {
						return fmt.Errorf("zone %s is on peer %s and zone %s on this host: a rescue adds one zone's disk to the other, so both must be on one host: %w",
							name, r.Peer, other(o, name), engine.ErrPrecondition)
					}
				}
			}
		}
	}
	return fmt.Errorf("zone %s is not configured on this host: %w", strings.Join(missing, " and "), engine.ErrNotFound)
}

// checkRescueDevices refuses a rescue zone that uses the rescue's device
// id, or has the broken zone's boot disk (storage) already.
func checkRescueDevices(with *zoneStorage, zone, storage string) error {
	w := with.zone.Name
	for _, d := range with.devices {
		switch {
		case d.ID == rescueDeviceID:
			what := "a device"
			if d.BootPri >= 0 {
				what = "its own boot disk"
			}
			return fmt.Errorf("rescue zone %s uses device id %d for %s (%s): the broken disk must be id %d in it, as in %s, for the import there to write the path %s boots from; use a rescue zone whose boot disk has another id (zonecfg: set id=1): %w",
				w, rescueDeviceID, what, d.Storage, rescueDeviceID, zone, zone, engine.ErrPrecondition)
		case d.Storage == storage:
			return fmt.Errorf("rescue zone %s has %s as a device already (id %d): remove it first (zonecfg -z %s 'remove device id=%d'): %w",
				w, storage, d.ID, w, d.ID, engine.ErrPrecondition)
		}
	}
	return nil
}

// checkRescueZones refuses zones unfit for a rescue: not kernel zones,
// the zone not installed (running: its pool is in use; configured: it has
// no disk to repair), the rescue zone not installed. A running rescue zone
// is refused: whether a device added to a running kernel zone's
// configuration reaches it without a reboot is not verified
// (docs/platform/kz-rescue.md §2 [UNV]).
func checkRescueZones(zone, with *zoneStorage) error {
	for _, z := range []*zoneStorage{zone, with} {
		if z.zone.Brand != "solaris-kz" {
			return fmt.Errorf("zone %s is a %s zone, not a kernel zone (solaris-kz): a rescue repairs a kernel zone's boot disk in another kernel zone: %w",
				z.zone.Name, z.zone.Brand, engine.ErrPrecondition)
		}
	}
	n := zone.zone.Name
	switch zone.zone.State {
	case "installed":
	case "running", "ready", "shutting_down", "down":
		return fmt.Errorf("zone %s is %s: its root pool is in use and a second import would damage it; shut it down first (zoneadm -z %s shutdown), then rescue it: %w",
			n, zone.zone.State, n, engine.ErrPrecondition)
	default:
		return fmt.Errorf("zone %s is %s, not installed: a rescue repairs an installed zone's boot disk: %w", n, zone.zone.State, engine.ErrPrecondition)
	}
	if aux := zone.aux; aux != "" && aux != "none" && aux != auxUnknown {
		return fmt.Errorf("zone %s is installed but %s: its boot disk holds state the rescue would not keep; %w", n, aux, engine.ErrPrecondition)
	}
	w := with.zone.Name
	switch with.zone.State {
	case "installed":
	case "running":
		return fmt.Errorf("rescue zone %s is running: volctl adds the disk to an installed rescue zone and boots it (whether a running kernel zone sees a device added to its configuration is not verified); shut it down first (zoneadm -z %s shutdown): %w",
			w, w, engine.ErrPrecondition)
	default:
		return fmt.Errorf("rescue zone %s is %s, not installed: %w", w, with.zone.State, engine.ErrPrecondition)
	}
	return nil
}

// bootDevice is the zone's one boot device: the device with a boot
// priority, else the device with id 0 (a kernel zone boots from id 0
// when no device has one; docs/platform/kz-rescue.md §1). A zone with
// several (a mirrored root pool) is refused: the rescue repairs one disk.
func bootDevice(z *zoneStorage) (kz.Device, error) {
	var boot, id0 []kz.Device
	for _, d := range z.devices {
		if d.Resource != "device" {
			continue
		}
		if d.BootPri >= 0 {
			boot = append(boot, d)
		}
		if d.ID == 0 {
			id0 = append(id0, d)
		}
	}
	if len(boot) == 0 {
		boot = id0
	}
	n := z.zone.Name
	switch len(boot) {
	case 0:
		return kz.Device{}, fmt.Errorf("zone %s has no boot device (no device with a bootpri, none with id 0): %w", n, engine.ErrPrecondition)
	case 1:
	default:
		return kz.Device{}, fmt.Errorf("zone %s has %d boot devices (a mirrored root pool): a rescue repairs one disk; volctl does not rescue a mirror: %w", n, len(boot), engine.ErrPrecondition)
	}
	if boot[0].ID != rescueDeviceID {
		return kz.Device{}, fmt.Errorf("zone %s boots from device id %d: a rescue gives the disk id %d in the rescue zone, which writes /zvnex/zvblk@%d:b, not the path %s boots from: %w",
			n, boot[0].ID, rescueDeviceID, rescueDeviceID, n, engine.ErrPrecondition)
	}
	if err := kz.CheckStorage(boot[0].Storage); err != nil {
		return kz.Device{}, fmt.Errorf("zone %s's boot device: %w: %w", n, err, engine.ErrPrecondition)
	}
	return boot[0], nil
}
