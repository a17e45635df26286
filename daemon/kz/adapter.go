package kz

import (
	"context"
	"fmt"

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

// Aux returns every zone's auxiliary state (zoneadm list -cs): "suspended"
// means the next boot resumes a memory image.
func (k Cmd) Aux(ctx context.Context) (map[string]string, error) {
	res, err := k.Run(ctx, []string{k.Zoneadm, "list", "-cs"})
	if err != nil {
		return nil, err
	}
	return ParseListAux(res.Stdout)
}

// State returns the state of one zone.
func (k Cmd) State(ctx context.Context, zone string) (string, error) {
	res, err := k.Run(ctx, []string{k.Zoneadm, "-z", zone, "list", "-p"})
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

// Storage returns the storage URIs of the zone's devices.
func (k Cmd) Storage(ctx context.Context, zone string) ([]string, error) {
	res, err := k.Run(ctx, []string{k.Zonecfg, "-z", zone, "info", "device"})
	if err != nil {
		return nil, err
	}
	rs, err := ParseInfo(res.Stdout)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		if r.Type == "device" && r.Props["storage"] != "" {
			out = append(out, r.Props["storage"])
		}
	}
	return out, nil
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
