package solaris

import (
	"context"
	"errors"
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

// diskMap resolves storage references to this host's volumes, the way
// capture finds a volume's zones (kz.ParseRef, docs/platform/zone-storage.md):
// a GUID (luname.naa.GUID, a disk path carrying it) through the LUs' data
// files, a dev: path or device match of a zvol directly (on this host
// only: on a peer it names the peer's own volume), and target.IQN,lun.N
// through the views (read only when such a URI comes up).
type diskMap struct {
	b   *Backend
	run execx.RunFunc
	lus []comstar.LU
	// known are the volumes a device match pattern is tried against (the
	// request's): a pattern is not expanded over every volume.
	known []string
	// targets, when the capture has read them already (exports.targets).
	targets *lunTargets
	paths   map[string][]string // lower(target)|lun -> volumes
	loaded  bool
}

// volume returns the volume of this host that a storage reference names,
// "" when it names none, and an error for a reference volctl cannot read
// or one that names the LUs of several volumes.
func (m *diskMap) volume(ctx context.Context, s string, local bool) (string, error) {
	r, err := kz.ParseRef(s)
	if err != nil {
		return "", err
	}
	var vols []string
	add := func(v string) {
		if v != "" && !slices.Contains(vols, v) {
			vols = append(vols, v)
		}
	}
	if local {
		if v, ok := r.Zvol(); ok {
			return v, nil
		}
		for _, v := range m.known {
			if r.Glob && r.NamesZvol(v) {
				add(v)
			}
		}
	}
	for _, lu := range m.lus {
		if lu.Registered && r.NamesGUID(lu.GUID) {
			add(comstar.ZvolOfPath(lu.DataFile))
		}
	}
	if t, n, ok := r.TargetLUN(); ok {
		if !m.loaded {
			if err := m.load(ctx); err != nil {
				return "", err
			}
		}
		for _, v := range m.paths[strings.ToLower(t)+"|"+strconv.Itoa(n)] {
			add(v)
		}
	}
	switch len(vols) {
	case 0:
		return "", nil
	case 1:
		return vols[0], nil
	}
	return "", fmt.Errorf("storage %s names LUs of several volumes (%s): volctl will not guess which one the zone uses: %w",
		s, strings.Join(vols, ", "), engine.ErrPrecondition)
}

func (m *diskMap) load(ctx context.Context) error {
	c := m.b.stmf(m.run)
	t := m.targets
	if t == nil {
		t = &lunTargets{}
		var err error
		if t.targets, err = c.ListTargets(ctx); err != nil {
			return fmt.Errorf("list targets: %w", err)
		}
		if t.targetGroups, err = c.TargetGroups(ctx); err != nil {
			return fmt.Errorf("list target groups: %w", err)
		}
	}
	targets, tgs := t.targets, t.targetGroups
	m.paths = map[string][]string{}
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
			k := strings.ToLower(p.Target) + "|" + strconv.Itoa(p.LUN)
			if !slices.Contains(m.paths[k], vol) {
				m.paths[k] = append(m.paths[k], vol)
			}
		}
	}
	m.loaded = true
	return nil
}

// disksOf resolves every device of a zone; local: the zone is on this
// host (so its zvol paths are this host's volumes).
func (m *diskMap) disksOf(ctx context.Context, devs []zones.Device, local bool) ([]disk, error) {
	var out []disk
	for _, d := range devs {
		v, err := m.volume(ctx, d.Storage, local)
		if err != nil {
			if !errors.Is(err, engine.ErrPrecondition) {
				err = fmt.Errorf("%w: %w", err, engine.ErrPrecondition)
			}
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
		msg += fmt.Sprintf("; %d of its devices are boot devices (a bootpri, or the storage of its rootzpool), so they look like the halves of a mirrored root pool: the guest would resilver the rolled-back half from the other, undoing the rollback", boot)
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
	m := &diskMap{b: b, run: run, lus: ex.lus, targets: ex.targets}
	disks, err := m.disksOf(ctx, devs, found == "this host")
	if err != nil {
		return nil, fmt.Errorf("zone %s (on %s): %w", zone, found, err)
	}
	var vols []string
	for _, d := range disks {
		if d.volume == "" {
			what := "storage " + d.dev.Storage
			if d.dev.ID >= 0 {
				what = fmt.Sprintf("device %d's storage %s", d.dev.ID, d.dev.Storage)
			}
			return nil, fmt.Errorf("zone %s (on %s): %s is not a volume of this host, so it cannot go with the others: %w",
				zone, found, what, engine.ErrPrecondition)
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
