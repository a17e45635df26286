package kz

import (
	"context"
	"fmt"
	"strconv"

	"github.com/volctl/volctl/daemon/execx"
)

// Cmd runs zoneadm and zonecfg. Paths are absolute (from the daemon's
// configuration); Run records what ran.
type Cmd struct {
	Zoneadm string
	Zonecfg string
	// Zlogin is zlogin's path (the rescue's commands inside a zone;
	// rescue.go).
	Zlogin string
	Run    execx.RunFunc
}

// List returns every configured zone (zoneadm list -cp).
func (k Cmd) List(ctx context.Context) ([]Zone, error) {
	res, err := k.Run(ctx, []string{k.Zoneadm, "list", "-cp"})
	if err != nil {
		return nil, err
	}
	return ParseZoneadmList(res.Stdout)
}

// AuxArgv is `zoneadm list -s`: alone, because Solaris 11.4 documents -s
// only by itself (combined with -c it is unverified) and illumos has no -s
// at all (docs/platform/zones.md §1).
func (k Cmd) AuxArgv() []string { return []string{k.Zoneadm, "list", "-s"} }

// Aux returns the auxiliary state of every zone zoneadm list -s shows:
// "suspended" means the next boot resumes a memory image. A zone it does not
// show has no auxiliary state that volctl can know.
func (k Cmd) Aux(ctx context.Context) (map[string]string, error) {
	res, err := k.Run(ctx, k.AuxArgv())
	if err != nil {
		return nil, err
	}
	return ParseListAux(res.Stdout)
}

// ProbeListS asks zoneadm whether it has `list -s` (Solaris 11.4: yes;
// illumos: usage, exit 2). It returns what it saw. An error is a zoneadm
// that failed otherwise (not there, not runnable).
func (k Cmd) ProbeListS(ctx context.Context) (bool, string, error) {
	res, err := k.Run(ctx, k.AuxArgv())
	if err == nil {
		return true, "zoneadm list -s: accepted", nil
	}
	if res != nil && res.Err == nil && res.Exit == 2 {
		return false, "zoneadm list -s: exit 2: " + firstLine(res.Stderr, res.Stdout), nil
	}
	return false, "", fmt.Errorf("probe zoneadm list -s: %w", err)
}

func firstLine(outs ...[]byte) string {
	for _, o := range outs {
		for _, l := range lines(o) {
			if l != "" {
				return l
			}
		}
	}
	return ""
}

// StateArgv reads one zone's state (zoneadm -z Z list -p).
func (k Cmd) StateArgv(zone string) []string { return []string{k.Zoneadm, "-z", zone, "list", "-p"} }

// State returns the state of one zone.
func (k Cmd) State(ctx context.Context, zone string) (string, error) {
	res, err := k.Run(ctx, k.StateArgv(zone))
	if err != nil {
		return "", err
	}
	zs, err := ParseZoneadmList(res.Stdout)
	if err != nil {
		return "", err
	}
	for _, z := range zs {
		if z.Name == zone {
			return z.State, nil
		}
	}
	return "", fmt.Errorf("zoneadm -z %s list -p: zone missing from output", zone)
}

// Argv builds `zoneadm -z ZONE args...`.
func (k Cmd) Argv(zone string, args ...string) []string {
	return append([]string{k.Zoneadm, "-z", zone}, args...)
}

// AttachArgv attaches the zone; fresh host data (a new key) unless
// keepHostdata. The rolled-back disk carries the host data of the snapshot:
// an old key, an old owner, maybe a suspend record.
func (k Cmd) AttachArgv(zone string, initHostdata bool) []string {
	if initHostdata {
		return k.Argv(zone, "attach", "-x", "initialize-hostdata")
	}
	return k.Argv(zone, "attach")
}

// Do runs `zoneadm -z ZONE args...`.
func (k Cmd) Do(ctx context.Context, zone string, args ...string) error {
	_, err := k.Run(ctx, k.Argv(zone, args...))
	return err
}

// Device is one storage reference of a zone (docs/platform/zone-storage.md):
// a device resource's storage URI or match path (written
// "match=PATH"), or one storage URI of its rootzpool or zpool resources.
type Device struct {
	ID      int // -1 when not set (and for a rootzpool's or zpool's storage)
	Storage string
	// BootPri is the device's boot priority, -1 when not specified; the
	// storage of a rootzpool counts as boot devices (bootpri 0): several
	// make a mirrored root pool.
	BootPri int
	// Resource is "device", "rootzpool" or "zpool".
	Resource string
}

// InfoArgv reads a zone's whole configuration (zonecfg -z Z info): its
// devices, and a solaris-brand zone's rootzpool and zpool resources, in
// one command that every platform has (illumos has no rootzpool, so
// "info rootzpool" would be refused there).
func (k Cmd) InfoArgv(zone string) []string { return []string{k.Zonecfg, "-z", zone, "info"} }

// Devices returns the zone's storage references: each device's storage URI
// (kernel zones, docs/platform/zones.md §4.1, §4.2) or match path, with ids
// and boot priorities (the devices with a bootpri are boot devices), and the
// storage URIs of its rootzpool and zpool resources (zones on shared
// storage). What it cannot read whole is an error: a device with both a
// storage and a match, a property given twice in a device, a rootzpool or
// zpool without storage.
func (k Cmd) Devices(ctx context.Context, zone string) ([]Device, error) {
	res, err := k.Run(ctx, k.InfoArgv(zone))
	if err != nil {
		return nil, err
	}
	rs, err := ParseInfo(res.Stdout)
	if err != nil {
		return nil, err
	}
	return Devices(rs)
}

// Devices picks the storage references out of a parsed zonecfg info.
func Devices(rs []Resource) ([]Device, error) {
	var out []Device
	for _, r := range rs {
		switch r.Type {
		case "":
			for _, t := range []string{"device", "rootzpool", "zpool"} {
				if _, ok := r.Props[t]; ok {
					return nil, fmt.Errorf("zonecfg info printed a %s resource without properties: refusing to guess its storage", t)
				}
			}
		case "device":
			for _, p := range []string{"storage", "match", "id", "bootpri"} {
				if len(r.Values(p)) > 1 {
					return nil, fmt.Errorf("zonecfg info printed a device with %d %s properties: refusing to guess which one it uses", len(r.Values(p)), p)
				}
			}
			storage, match := r.Props["storage"], r.Props["match"]
			if storage != "" && match != "" {
				return nil, fmt.Errorf("zonecfg info printed a device with both storage %q and match %q (zonecfg allows one): refusing to guess", storage, match)
			}
			if storage == "" && match == "" {
				continue
			}
			d := Device{ID: -1, Storage: storage, BootPri: -1, Resource: r.Type}
			if match != "" {
				d.Storage = MatchPrefix + match
			}
			if v, err := strconv.Atoi(r.Props["id"]); err == nil && v >= 0 {
				d.ID = v
			}
			if v, err := strconv.Atoi(r.Props["bootpri"]); err == nil && v >= 0 {
				d.BootPri = v
			}
			out = append(out, d)
		case "rootzpool", "zpool":
			vs := r.Values("storage")
			if len(vs) == 0 {
				return nil, fmt.Errorf("zonecfg info printed a %s resource without storage: refusing to guess where its pool is", r.Type)
			}
			pri := -1
			if r.Type == "rootzpool" {
				pri = 0
			}
			for _, v := range vs {
				if v == "" {
					return nil, fmt.Errorf("zonecfg info printed an empty storage in a %s resource", r.Type)
				}
				out = append(out, Device{ID: -1, Storage: v, BootPri: pri, Resource: r.Type})
			}
		}
	}
	return out, nil
}
