package sim

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// Zones on other storage than the seed's kz1 (docs/platform/zone-storage.md
// in the repository): a solaris-brand zone on shared storage (rootzpool and
// zpool resources, each with storage URIs), an illumos zone with a
// device match, a kernel zone whose device storage is any suri(7) form or a
// match path. zonecfg info prints them as zonecfg does (zones.go).

// ZoneSpec describes a zone for AddZone. Devices are storage references:
// a storage URI, or "match=PATH" for a device match; the first device of
// a kernel zone is its boot device (bootpri 0). Zpools maps a zpool
// resource's name to its storage URIs.
type ZoneSpec struct {
	Name, Brand, State string
	Devices            []string
	RootZpool          []string
	Zpools             []*ZonePool
}

// AddZone configures a zone that is not a kernel zone (a kernel zone needs
// host data on its boot disk: see Seed's kz1 and SetDeviceStorage). Its
// state is State (default installed; running gets a zone id). A brand the
// flavor has no rootzpool for (illumos) is refused with RootZpool or
// Zpools set.
func AddZone(root string, spec ZoneSpec) error {
	return Update(root, func(s *State) error {
		if spec.Brand == "solaris-kz" {
			return fmt.Errorf("add zone %s: kernel zones need host data on their boot disk; change kz1's storage instead", spec.Name)
		}
		if s.Zone(spec.Name) != nil || spec.Name == "" || spec.Name == "global" {
			return fmt.Errorf("add zone %q: already configured or not a zone name", spec.Name)
		}
		if !s.kernelZones() && (len(spec.RootZpool) > 0 || len(spec.Zpools) > 0) {
			return fmt.Errorf("add zone %s: illumos zonecfg has no rootzpool or zpool resources", spec.Name)
		}
		state := spec.State
		if state == "" {
			state = ZoneInstalled
		}
		if _, ok := stateRank[state]; !ok {
			return fmt.Errorf("add zone %s: unknown state %q", spec.Name, state)
		}
		sum := sha256.Sum256([]byte(spec.Name))
		z := &Zone{Name: spec.Name, Brand: spec.Brand, IPType: "excl", State: state,
			UUID:      fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
			RootZpool: spec.RootZpool, Zpools: spec.Zpools}
		for i, ref := range spec.Devices {
			z.Devices = append(z.Devices, zoneDevice(i, ref))
		}
		if z.active() {
			z.ID = s.NextZoneID
			s.NextZoneID++
		}
		s.Zones = append(s.Zones, z)
		return nil
	})
}

func zoneDevice(id int, ref string) *ZoneDevice {
	if m, ok := strings.CutPrefix(ref, "match="); ok {
		return &ZoneDevice{ID: id, Match: m}
	}
	return &ZoneDevice{ID: id, Storage: ref}
}

// SetDeviceStorage sets the storage of device id of a zone: a storage URI,
// or "match=PATH" (as zonecfg "select device id=N; set storage=URI" does;
// the other of the two is cleared).
func SetDeviceStorage(root, zone string, id int, ref string) error {
	return Update(root, func(s *State) error {
		z := s.Zone(zone)
		if z == nil {
			return fmt.Errorf("zone %s: not configured", zone)
		}
		for _, d := range z.Devices {
			if d.ID == id {
				nd := zoneDevice(id, ref)
				d.Storage, d.Match = nd.Storage, nd.Match
				return nil
			}
		}
		return fmt.Errorf("zone %s: no device id=%d", zone, id)
	})
}

// manageZone runs "volctl-sim zone add|storage ...".
func manageZone(sub, root string, rest []string) error {
	switch sub {
	case "zone storage":
		if len(rest) != 3 {
			return errManageUsage
		}
		var id int
		if _, err := fmt.Sscanf(rest[1], "%d", &id); err != nil {
			return fmt.Errorf("device id %q: %v", rest[1], err)
		}
		return SetDeviceStorage(root, rest[0], id, rest[2])
	case "zone add":
		if len(rest) < 2 {
			return errManageUsage
		}
		spec := ZoneSpec{Name: rest[0], Brand: rest[1]}
		args := rest[2:]
		for len(args) > 0 {
			if len(args) < 2 {
				return errManageUsage
			}
			flag, val := args[0], args[1]
			args = args[2:]
			switch flag {
			case "--state":
				spec.State = val
			case "--device":
				spec.Devices = append(spec.Devices, val)
			case "--rootzpool":
				spec.RootZpool = append(spec.RootZpool, val)
			case "--zpool":
				name, uris, ok := strings.Cut(val, "=")
				if !ok || name == "" || uris == "" {
					return fmt.Errorf("--zpool %q: want NAME=URI[,URI...] (a URI with a comma: one --zpool per URI)", val)
				}
				var p *ZonePool
				for _, zp := range spec.Zpools {
					if zp.Name == name {
						p = zp
					}
				}
				if p == nil {
					p = &ZonePool{Name: name}
					spec.Zpools = append(spec.Zpools, p)
				}
				p.Storage = append(p.Storage, uris)
			default:
				return errManageUsage
			}
		}
		return AddZone(root, spec)
	}
	return errManageUsage
}

var errManageUsage = fmt.Errorf("usage")
