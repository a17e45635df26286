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
	Run     execx.RunFunc
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
// at all (spec/platform-matrix.md §3).
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

// Device is one device resource of a zone (zonecfg info device).
type Device struct {
	ID      int // -1 when not set
	Storage string
	BootPri int // -1 when not specified
}

// Devices returns the zone's device resources with their storage URIs,
// ids and boot priorities (kernel-zones.md §3.1, §3.2): the devices with a
// bootpri are boot devices (several make a mirrored root pool).
func (k Cmd) Devices(ctx context.Context, zone string) ([]Device, error) {
	res, err := k.Run(ctx, []string{k.Zonecfg, "-z", zone, "info", "device"})
	if err != nil {
		return nil, err
	}
	rs, err := ParseInfo(res.Stdout)
	if err != nil {
		return nil, err
	}
	var out []Device
	for _, r := range rs {
		if r.Type != "device" || r.Props["storage"] == "" {
			continue
		}
		d := Device{ID: -1, Storage: r.Props["storage"], BootPri: -1}
		if v, err := strconv.Atoi(r.Props["id"]); err == nil && v >= 0 {
			d.ID = v
		}
		if v, err := strconv.Atoi(r.Props["bootpri"]); err == nil && v >= 0 {
			d.BootPri = v
		}
		out = append(out, d)
	}
	return out, nil
}
