package solaris

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// A zone's disks: every device of the zone and the volume of this host
// behind it (issue 12: the disks of a zone go back together, or the admin
// says they may not).

// disk is one device of a zone and the volume behind it here ("" when
// its storage is not a volume of this host).
type disk struct {
	dev    zones.Device
	volume string
}

// diskMap resolves storage URIs to this host's volumes: luname GUIDs
// through the LUs' data files, dev: URIs directly, and target.IQN,lun.N
// through the views (read only when such a URI comes up).
type diskMap struct {
	b      *Backend
	run    execx.RunFunc
	lus    []comstar.LU
	paths  map[string]string // lower(target)|lun -> volume
	loaded bool
}

func (m *diskMap) volume(ctx context.Context, uri string) (string, error) {
	if g, ok := kz.StorageGUID(uri); ok {
		for _, lu := range m.lus {
			if lu.Registered && strings.EqualFold(lu.GUID, g) {
				return comstar.ZvolOfPath(lu.DataFile), nil
			}
		}
		return "", nil
	}
	if v, ok := kz.StorageZvol(uri); ok {
		return v, nil
	}
	t, n, ok := kz.StorageTargetLUN(uri)
	if !ok {
		return "", nil
	}
	if !m.loaded {
		if err := m.load(ctx); err != nil {
			return "", err
		}
	}
	return m.paths[strings.ToLower(t)+"|"+strconv.Itoa(n)], nil
}

func (m *diskMap) load(ctx context.Context) error {
	c := m.b.stmf(m.run)
	targets, err := c.ListTargets(ctx)
	if err != nil {
		return fmt.Errorf("list targets: %w", err)
	}
	tgs, err := c.TargetGroups(ctx)
	if err != nil {
		return fmt.Errorf("list target groups: %w", err)
	}
	m.paths = map[string]string{}
	for _, lu := range m.lus {
		vol := comstar.ZvolOfPath(lu.DataFile)
		if !lu.Registered || vol == "" {
			continue
		}
		views, err := c.ListView(ctx, lu.GUID)
		if err != nil {
			return fmt.Errorf("list views of %s: %w", lu.GUID, err)
		}
		for _, p := range comstar.Paths(views, targets, tgs) {
			m.paths[strings.ToLower(p.Target)+"|"+strconv.Itoa(p.LUN)] = vol
		}
	}
	m.loaded = true
	return nil
}

// disksOf resolves every device of a zone.
func (m *diskMap) disksOf(ctx context.Context, devs []zones.Device) ([]disk, error) {
	var out []disk
	for _, d := range devs {
		v, err := m.volume(ctx, d.Storage)
		if err != nil {
			return nil, err
		}
		out = append(out, disk{dev: d, volume: v})
	}
	return out, nil
}

func localDevices(zs zoneStorage) []zones.Device {
	var out []zones.Device
	for _, d := range zs.devices {
		out = append(out, zones.Device{ID: d.ID, Storage: d.Storage, BootPri: d.BootPri})
	}
	return out
}

// checkDisks refuses, unless the caller consents (--only-these-disks), a
// rollback that leaves out some of the disks of a zone on the volume: the
// guest would see its disks at different times, and the halves of a
// mirrored root pool (several boot devices) resilver the rolled-back half
// from the other, undoing the rollback.
func checkDisks(zone string, where string, disks []disk, group []string, opts store.Options) ([]string, error) {
	var left []string
	boot := 0
	for _, d := range disks {
		if d.dev.BootPri >= 0 {
			boot++
		}
		if d.volume != "" && slices.Contains(group, d.volume) {
			continue
		}
		name := d.volume
		if name == "" {
			name = d.dev.Storage + " (not a volume of this host)"
		}
		if d.dev.BootPri >= 0 {
			name += fmt.Sprintf(" (boot device, bootpri %d)", d.dev.BootPri)
		}
		left = append(left, name)
	}
	if len(left) == 0 {
		return nil, nil
	}
	msg := fmt.Sprintf("zone %s%s has other disks that this rollback leaves out: %s", zone, where, strings.Join(left, ", "))
	if boot > 1 {
		msg += fmt.Sprintf("; %d of its devices have a bootpri, so they look like the halves of a mirrored root pool: the guest would resilver the rolled-back half from the other, undoing the rollback", boot)
	}
	if opts.OnlyTheseDisks {
		return []string{msg + " (consent only_these_disks given)"}, nil
	}
	return []string{msg}, fmt.Errorf("%s; roll them back together (zone %s, or each volume's snapshot named), or consent to leaving them out: %w",
		msg, zone, engine.NeedsConsent(engine.ConsentOnlyTheseDisks))
}

// ZoneDisks implements engine.ZoneDisks: the volumes behind every device
// of the zone, on this host or (asked by name) on a peer. Every device must
// be a volume of this host: a group snapshot or rollback that could not
// include one would not be the zone's.
func (b *Backend) ZoneDisks(ctx context.Context, run execx.RunFunc, zone string) ([]string, error) {
	if err := kz.ValidateZoneName(zone); err != nil {
		return nil, fmt.Errorf("zone %q: %v: %w", zone, err, engine.ErrInvalid)
	}
	ex, err := b.readExports(ctx, run)
	if err != nil {
		return nil, err
	}
	var devs []zones.Device
	found := ""
	for _, zs := range ex.zones {
		if zs.zone.Name == zone {
			devs, found = localDevices(zs), "this host"
		}
	}
	if found == "" && b.Peers != nil {
		for _, r := range b.Peers.Find(ctx, zones.Query{Zone: zone}) {
			if r.Err != nil {
				return nil, fmt.Errorf("%v: volctl cannot tell whether zone %s is there: %w", r.Err, zone, engine.ErrPrecondition)
			}
			for _, z := range r.Zones {
				if z.Name == zone && (found == "" || z.State != "configured") {
					devs, found = z.Devices, "peer "+r.Peer
				}
			}
		}
	}
	if found == "" {
		return nil, fmt.Errorf("zone %s is not configured on this host or any peer: %w", zone, engine.ErrNotFound)
	}
	m := &diskMap{b: b, run: run, lus: ex.lus}
	disks, err := m.disksOf(ctx, devs)
	if err != nil {
		return nil, err
	}
	var vols []string
	for _, d := range disks {
		if d.volume == "" {
			return nil, fmt.Errorf("zone %s (on %s): device %d's storage %s is not a volume of this host, so it cannot go with the others: %w",
				zone, found, d.dev.ID, d.dev.Storage, engine.ErrPrecondition)
		}
		if !slices.Contains(vols, d.volume) {
			vols = append(vols, d.volume)
		}
	}
	if len(vols) == 0 {
		return nil, fmt.Errorf("zone %s (on %s) has no devices: %w", zone, found, engine.ErrPrecondition)
	}
	return vols, nil
}
