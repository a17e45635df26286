package solaris

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
)

// This file is a zone host's side of the zone service: what the storage
// host's volctld asks of the volctld here (daemon/zonehost journals the
// calls and daemon/server serves them).

// FindZones answers a storage host's question: this host's zones whose
// storage (devices, rootzpool, zpool) names one of the LUs (by GUID, or by
// target IQN and LUN), or may (a reference it cannot read), or the zone
// q.Zone whatever its storage.
func (b *Backend) FindZones(ctx context.Context, run execx.RunFunc, q zones.Query) (zones.Report, error) {
	r := zones.Report{Zoneadm: b.Paths.Zoneadm, Zonecfg: b.Paths.Zonecfg, Zlogin: b.Paths.Zlogin}
	r.Hostname, _ = os.Hostname()
	if b.capabilities() == nil {
		// The engine probes at start; a zone host may be asked first.
		if _, err := b.Probe(ctx, run); err != nil {
			return r, fmt.Errorf("probe this host's commands: %w", err)
		}
	}
	zs, auxKnown, err := b.readZones(ctx, run)
	if err != nil {
		return r, err
	}
	if b.Paths.Hostid != "" {
		// hostid(1) prints the global zone's hostid, 8 hex digits: the id
		// an "in use by host with hostid ..." error names
		// (docs/platform/zones.md §5.2, §5.6, §9 item 9).
		res, err := run(ctx, []string{b.Paths.Hostid})
		if err != nil {
			return r, fmt.Errorf("hostid: %w", err)
		}
		if h := strings.TrimSpace(string(res.Stdout)); hostidRE.MatchString(h) {
			r.HostID = h
		} else {
			return r, fmt.Errorf("hostid printed %q, not 8 hex digits: refusing to trust it", h)
		}
	}
	r.AuxKnown = auxKnown
	for _, z := range zs {
		var on []string
		for _, uri := range z.storage {
			if q.Zone == z.zone.Name || namesLU(uri, q.LUs) {
				on = append(on, uri)
			}
		}
		if len(on) == 0 && q.Zone != z.zone.Name {
			continue
		}
		zn := zones.Zone{Name: z.zone.Name, State: z.zone.State, Brand: z.zone.Brand, Aux: z.aux,
			Storage: on, AuxListed: z.auxListed}
		for _, d := range z.devices {
			zn.Devices = append(zn.Devices, zones.Device{ID: d.ID, Storage: d.Storage, BootPri: d.BootPri})
		}
		r.Zones = append(r.Zones, zn)
	}
	return r, nil
}

var hostidRE = regexp.MustCompile(`^[0-9a-f]{8}$`)

// namesLU reports whether a storage reference of a zone here names one
// of the storage host's LUs (zones.Names: by GUID, or by a target and LUN
// the LU is exposed at; docs/platform/zone-storage.md). One this host cannot
// read counts too: it goes to the storage host, which refuses naming the
// zone (checkPeerStorage) rather than have it left out. A zvol path names
// this host's own volume, never the storage host's.
func namesLU(s string, lus []zones.LURef) bool {
	r, err := kz.ParseRef(s)
	return err != nil || zones.Names(r, lus)
}

// ZoneAct brings a zone on this host to what verb leads to, reading its
// state first (a zone already there is left alone) and back after. A
// shutdown that fails or outlasts ShutdownTimeout is followed by a halt;
// note says so.
func (b *Backend) ZoneAct(ctx context.Context, run execx.RunFunc, zone string, verb zones.Verb, note func(string, ...any)) (string, error) {
	if err := kz.ValidateZoneName(zone); err != nil {
		return "", fmt.Errorf("zone name %q: %w", zone, err)
	}
	k := b.kz(run)
	from, want := verb.Wanted()
	if verb != zones.Shutdown {
		return zoneTo(ctx, k, zone, from, k.Argv(zone, verb.Args()...), want...)
	}
	sctx, cancel := context.WithTimeout(ctx, b.shutdownTimeout())
	st, err := zoneTo(sctx, k, zone, from, k.Argv(zone, "shutdown"), want...)
	cancel()
	if err == nil {
		return st, nil
	}
	if note != nil {
		note("zone %s did not shut down cleanly (%v); halting it", zone, err)
	}
	return zoneTo(ctx, k, zone, from, k.Argv(zone, "halt"), want...)
}

// zoneTo runs argv (`zoneadm -z Z verb`) unless the zone is already in one
// of the wanted states, then reads the state back. want[0] is what the
// command leads to; the others also count as done (an undo that finds a
// zone attached and running has nothing to attach).
func zoneTo(ctx context.Context, k kz.Cmd, zone, from string, argv []string, want ...string) (string, error) {
	st, err := k.State(ctx, zone)
	if err != nil {
		return "", fmt.Errorf("read state of zone %s: %w", zone, err)
	}
	if slices.Contains(want, st) {
		return st, nil
	}
	if st != from {
		return st, fmt.Errorf("zone %s is %s, expected %s or %s", zone, st, from, strings.Join(want, " or "))
	}
	if _, err := k.Run(ctx, argv); err != nil {
		return st, fmt.Errorf("zone %s: %w", zone, err)
	}
	if st, err = k.State(ctx, zone); err != nil {
		return "", fmt.Errorf("read state of zone %s: %w", zone, err)
	}
	if st != want[0] {
		return st, fmt.Errorf("zone %s is %s after %s, expected %s", zone, st, strings.Join(argv[1:], " "), want[0])
	}
	return st, nil
}

// ZoneErrorKind classifies a ZoneAct error for the storage host: a key
// error cannot be retried away; an in-use error may be taken over.
// A rescue verb's refusal (RescueAct: engine.Permanent) is permanent too.
func (b *Backend) ZoneErrorKind(err error) (permanent, inUse bool) {
	permanent, inUse = ZoneErrorKind(err)
	return permanent || engine.IsPermanent(err), inUse
}

// ZoneErrorKind is Backend.ZoneErrorKind.
func ZoneErrorKind(err error) (permanent, inUse bool) {
	stderr := execx.Stderr(err)
	return kz.IsKeyError(stderr), kz.IsInUseByHost(stderr)
}

// zoneActLimit is how long ZoneAct may take for verb where each zoneadm
// command gets cmd and a clean shutdown shutdown: the state read, the verb
// and the read-back, each within cmd; a shutdown cut at shutdown (or
// sooner) and then a halt, read and read back. A zone action on a peer
// waits that long for it (plus the peer's call timeout), by this host's
// configuration.
func zoneActLimit(verb zones.Verb, cmd, shutdown time.Duration) time.Duration {
	one := 3 * cmd
	if verb != zones.Shutdown {
		return one
	}
	return min(shutdown, one) + one
}
