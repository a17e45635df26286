package solaris

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// A rescue whose zones run on a zone host (docs/rescue.md §4): the
// storage host captures and journals it as it does a local one, reads
// both zones from the peer (FindZones), reads the label itself (the disk
// is its volume), and runs every zone command through the peer's zone
// service: zoneadm boot and shutdown of the rescue zone as the rollback's
// zone steps do (ZoneAction BOOT, SHUTDOWN), the device and the pool as
// the rescue verbs (RESCUE_ADD_DEVICE, RESCUE_REMOVE_DEVICE,
// RESCUE_IMPORT, RESCUE_EXPORT), each under its idempotency key. The zone
// host runs the same converging functions as a local rescue
// (steps_rescue.go), after checking the arguments (daemon/zonehost) and
// the zones itself (RescueAct). Why both zones must be on one host, and
// what the label read back relies on: docs/platform/kz-rescue.md §5.

// rescueZonesOnPeer finds both zones, neither of which is on this host,
// on the peers: nil, nil, nil when neither is anywhere. A zone attached
// (installed or running) on one peer is read there; one only configured
// (detached) is read where it is configured, and refused as not
// installed. A peer that does not answer is a refusal: the zone may be
// there.
func (b *Backend) rescueZonesOnPeer(ctx context.Context, o store.RescueOptions) (zone, with *zoneStorage, on *zones.Report, err error) {
	type found struct {
		rep zones.Report
		z   zones.Zone
	}
	at := map[string]*found{}
	for _, name := range []string{o.Zone, o.With} {
		var attached []string
		for _, r := range b.Peers.Find(ctx, zones.Query{Zone: name}) {
			engine.RecordRemote(ctx, r.Commands)
			if r.Err != nil {
				return nil, nil, nil, fmt.Errorf("zone %s is not on this host and peer %s did not answer (%v): %w", name, r.Peer, r.Err, engine.ErrPrecondition)
			}
			for _, z := range r.Zones {
				if z.Name != name {
					continue
				}
				if z.State != "configured" {
					attached = append(attached, r.Peer)
				}
				if at[name] == nil || at[name].z.State == "configured" {
					at[name] = &found{r, z}
				}
			}
		}
		if len(attached) > 1 {
			return nil, nil, nil, fmt.Errorf("zone %s is attached on peers %s: volctl will not guess which one owns its disk: %w",
				name, strings.Join(attached, " and "), engine.ErrPrecondition)
		}
	}
	fz, fw := at[o.Zone], at[o.With]
	switch {
	case fz == nil && fw == nil:
		return nil, nil, nil, nil
	case fz == nil || fw == nil:
		here, missing := fz, o.With
		if fz == nil {
			here, missing = fw, o.Zone
		}
		return nil, nil, nil, fmt.Errorf("zone %s is on peer %s, and zone %s is not configured on this host or any peer: %w",
			here.z.Name, here.rep.Peer, missing, engine.ErrNotFound)
	case fz.rep.Peer != fw.rep.Peer:
		return nil, nil, nil, fmt.Errorf("zone %s is on peer %s and zone %s on peer %s: a rescue adds one zone's disk to the other, so both must be on one host: %w",
			o.Zone, fz.rep.Peer, o.With, fw.rep.Peer, engine.ErrPrecondition)
	}
	on = &fz.rep
	if on.Zlogin == "" {
		return nil, nil, nil, fmt.Errorf("peer %s has no zlogin configured ([commands] zlogin in its volctld.toml): the rescue imports the pool inside %s through it: %w",
			on.Peer, o.With, engine.ErrPrecondition)
	}
	return peerZone(fz.z), peerZone(fw.z), on, nil
}

// peerZone is a zone a peer reported as the capture reads a local one.
// A peer reports a zone's device resources (a kernel zone has no other
// storage: docs/platform/zone-storage.md); an aux it could not list is
// unknown.
func peerZone(z zones.Zone) *zoneStorage {
	zs := &zoneStorage{zone: kz.Zone{Name: z.Name, State: z.State, Brand: z.Brand}, aux: z.Aux, auxListed: z.AuxListed}
	if !z.AuxListed && z.Brand == "solaris-kz" && z.State != "configured" && (z.Aux == "" || z.Aux == "unknown") {
		zs.aux = auxUnknown
	}
	for _, d := range z.Devices {
		zs.devices = append(zs.devices, kz.Device{ID: d.ID, Storage: d.Storage, BootPri: d.BootPri, Resource: "device"})
		zs.storage = append(zs.storage, d.Storage)
	}
	return zs
}

// rescueOnPeer marks a rescue's identity as on peer on: both zones there, and
// the peer's command paths for the plan.
func rescueOnPeer(id *store.Identity, on *zones.Report) {
	id.Rescue.Host = on.Peer
	id.Rescue.Zoneadm, id.Rescue.Zonecfg, id.Rescue.Zlogin = on.Zoneadm, on.Zonecfg, on.Zlogin
	for i := range id.Zones {
		id.Zones[i].Host, id.Zones[i].Zoneadm = on.Peer, on.Zoneadm
	}
}

// The storage host's side: the steps of a rescue on a peer.

// peerCmd is the zone commands with the peer's paths, for the plan.
func (s *rescueSteps) peerCmd() kz.Cmd {
	or := func(p, def string) string {
		if p == "" {
			return def
		}
		return p
	}
	return kz.Cmd{Zoneadm: or(s.r.Zoneadm, "zoneadm"), Zonecfg: or(s.r.Zonecfg, "zonecfg"), Zlogin: or(s.r.Zlogin, "zlogin")}
}

// onPeer turns the rescue's steps into their peer form, step by step
// name: what runs on a zone host goes through its zone service, the
// label is read here. A step this file does not know (one added since)
// refuses to run rather than run on the wrong host.
func (s *rescueSteps) onPeer(steps []engine.Step) []engine.Step {
	r, k := s.r, s.peerCmd()
	on := func(argvs ...[]string) [][]string {
		var out [][]string
		for _, a := range argvs {
			out = append(out, engine.OnHost(r.Host, a))
		}
		return out
	}
	state := []string{k.Zoneadm, "list", "-cp"}
	act := func(verb zones.Verb) [][]string {
		return on(k.StateArgv(r.With), k.Argv(r.With, verb.Args()...), k.StateArgv(r.With))
	}
	pools := must(k.ZpoolListArgv(r.With))
	removeArgv := engine.OnHost(r.Host, must(k.RemoveDeviceArgv(r.With, r.DeviceID)))
	exportArgv := engine.OnHost(r.Host, must(k.ZpoolExportArgv(r.With, r.TempName)))
	out := make([]engine.Step, 0, len(steps))
	for _, st := range steps {
		st.Check = nil
		switch st.Name {
		case "check":
			st.Planned = on(state, k.InfoArgv(r.Zone), k.InfoArgv(r.With))
			st.Do = s.peerCheck
		case "add-device":
			st.Planned = on(k.InfoArgv(r.With), must(k.AddDeviceArgv(r.With, r.Storage, r.DeviceID)), k.InfoArgv(r.With))
			st.Do, st.Undo = s.peerRescue(zones.RescueAddDevice, st.Planned[1]), s.peerRescue(zones.RescueRemoveDevice, removeArgv)
		case "boot-rescue":
			st.Planned = act(zones.Boot)
			st.Do, st.Undo = s.peerAct(zones.Boot), s.peerAct(zones.Shutdown)
		case "import":
			st.Planned = on(k.StateArgv(r.With), pools, must(k.ZpoolImportArgv(r.With, r.Altroot, r.TempName, s.poolArg())), pools)
			st.Do, st.Undo = s.peerRescue(zones.RescueImport, st.Planned[2]), s.peerRescue(zones.RescueExport, exportArgv)
		case "export":
			// No Check: whether the pool is imported is the peer's to
			// read, and RESCUE_EXPORT converges (a resume goes forward).
			st.Planned = on(k.StateArgv(r.With), pools, must(k.ZpoolExportArgv(r.With, r.TempName)), pools)
			st.Do = s.peerRescue(zones.RescueExport, st.Planned[2])
		case "halt-rescue":
			st.Planned = act(zones.Shutdown)
			st.Do = s.peerAct(zones.Shutdown)
		case "remove-device":
			st.Planned = on(k.InfoArgv(r.With), must(k.RemoveDeviceArgv(r.With, r.DeviceID)), k.InfoArgv(r.With))
			st.Do = s.peerRescue(zones.RescueRemoveDevice, st.Planned[1])
		case "shell":
			// rescue --shell waits here. The import step's RESCUE_IMPORT
			// read the pool back imported on the peer before it
			// answered; whether it still is, is the peer's to read.
			st.Planned = nil
			st.Do = func(context.Context, *engine.Exec) error { return nil }
		case "check-label":
			// The label is read on this host, the disk's.
		default:
			name := st.Name
			st.Do = func(context.Context, *engine.Exec) error {
				return engine.Permanent(fmt.Errorf("step %s of a rescue has no form for zones on peer %s: %w", name, r.Host, engine.ErrPrecondition))
			}
			st.Undo = nil
		}
		out = append(out, st)
	}
	return out
}

// peerKey is the idempotency key of a zone host call: this host, the
// operation (its id and creation time), the step, undo or not, the zone
// and the verb (as the rollback's zone steps key theirs).
func (s *rescueSteps) peerKey(x *engine.Exec, verb zones.Verb) string {
	host, _ := os.Hostname()
	op := x.Op()
	return fmt.Sprintf("%s/op-%d-%d/%s/%s/%s", host, op.ID, op.Created.UnixNano(), x.Step().Name, s.r.With, verb)
}

// peerCheck is the check step on a peer: both zones read there
// (FindZones) still as captured.
func (s *rescueSteps) peerCheck(ctx context.Context, x *engine.Exec) error {
	if s.b.Peers == nil {
		return engine.Permanent(fmt.Errorf("the rescue's zones are on peer %s, but this volctld has no [[peers]] configured: restore the configuration and recover", s.r.Host))
	}
	r := s.r
	for _, z := range []struct{ name, want string }{{r.Zone, "installed"}, {r.With, r.WithState}} {
		x.Starting(r.Host, []string{s.peerCmd().Zoneadm, "list", "-cp"})
		var st string
		asked, found := false, false
		for _, rep := range s.b.Peers.Find(ctx, zones.Query{Zone: z.name}) {
			if rep.Peer != r.Host {
				continue
			}
			asked = true
			x.Record(rep.Commands)
			if rep.Err != nil {
				return fmt.Errorf("read state of zone %s: %w", z.name, rep.Err)
			}
			for _, pz := range rep.Zones {
				if pz.Name == z.name {
					st, found = pz.State, true
				}
			}
		}
		if !asked {
			return engine.Permanent(fmt.Errorf("no peer %q is configured (the rescue's zones are there): restore the configuration and recover: %w", r.Host, engine.ErrPrecondition))
		}
		if !found {
			return engine.Permanent(fmt.Errorf("zone %s is no longer configured on peer %s: nothing changed; plan the rescue again: %w", z.name, r.Host, engine.ErrPrecondition))
		}
		resumed := len(x.Op().Resumes) > 0 && z.name == r.With && st == "running"
		if st != z.want && !resumed {
			return engine.Permanent(fmt.Errorf("zone %s is %s on peer %s now, %s at capture: nothing changed; plan the rescue again: %w", z.name, st, r.Host, z.want, engine.ErrPrecondition))
		}
	}
	return nil
}

// peerAct boots or shuts down the rescue zone on its peer (ZoneAction).
func (s *rescueSteps) peerAct(verb zones.Verb) func(context.Context, *engine.Exec) error {
	return func(ctx context.Context, x *engine.Exec) error {
		if s.b.Peers == nil {
			return s.noPeers()
		}
		k := s.peerCmd()
		argv := k.Argv(s.r.With, verb.Args()...)
		x.Starting(s.r.Host, argv)
		limit := zoneActLimit(verb, x.Timeout(argv), s.b.shutdownTimeout())
		res, err := s.b.Peers.Act(ctx, s.r.Host, s.peerKey(x, verb), s.r.With, verb, limit)
		return s.peerResult(x, verb, res, err)
	}
}

// peerRescue runs a rescue verb on the rescue zone on its peer; planned
// (marked with the host) is the command it changes things with, streamed
// as starting.
func (s *rescueSteps) peerRescue(verb zones.Verb, planned []string) func(context.Context, *engine.Exec) error {
	return func(ctx context.Context, x *engine.Exec) error {
		if s.b.Peers == nil {
			return s.noPeers()
		}
		r := s.r
		host, argv := engine.SplitHost(planned)
		x.Starting(host, argv)
		// The zone host runs a few zonecfg or zlogin commands, each
		// within its own deadline: wait for as many of this host's.
		limit := 6 * x.Timeout([]string{s.peerCmd().Zlogin})
		res, err := s.b.Peers.ActRescue(ctx, r.Host, s.peerKey(x, verb), r.With, verb, zones.Rescue{Zone: r.Zone, Storage: r.Storage,
			DeviceID: r.DeviceID, Pool: r.Pool, PoolGUID: r.PoolGUID, TempName: r.TempName, Altroot: r.Altroot}, limit)
		return s.peerResult(x, verb, res, err)
	}
}

func (s *rescueSteps) noPeers() error {
	return engine.Permanent(fmt.Errorf("the rescue's zones are on peer %s, but this volctld has no [[peers]] configured: restore the configuration and recover", s.r.Host))
}

// peerResult journals what the peer ran and says how the call ended: the
// peer's refusal of a permanent kind is permanent here too.
func (s *rescueSteps) peerResult(x *engine.Exec, verb zones.Verb, res zones.Result, err error) error {
	x.Record(res.Commands)
	if err != nil {
		return fmt.Errorf("zone %s %s: %w", s.r.With, verb, err) // err names the peer
	}
	if res.Err == "" {
		return nil
	}
	e := fmt.Errorf("on peer %s: %s", s.r.Host, res.Err)
	if res.Permanent {
		return engine.Permanent(e)
	}
	return e
}

// The zone host's side.

// RescueAct implements zonehost.Backend: a rescue verb on the rescue zone
// with, run here with this host's commands by the same functions a local
// rescue's steps run (steps_rescue.go). The arguments' form was checked
// (daemon/zonehost); the zones are checked here as the storage host's
// capture checks local ones, before the disk is added and before the
// pool is imported: this host refuses what a local rescue refuses.
// It returns the rescue zone's state.
func (b *Backend) RescueAct(ctx context.Context, run execx.RunFunc, with string, verb zones.Verb, a zones.Rescue, note func(string, ...any)) (string, error) {
	if err := kz.ValidateZoneName(with); err != nil {
		return "", engine.Permanent(fmt.Errorf("zone name %q: %w", with, err))
	}
	if (verb == zones.RescueImport || verb == zones.RescueExport) && b.Paths.Zlogin == "" {
		return "", engine.Permanent(fmt.Errorf("no zlogin configured on this host ([commands] zlogin in volctld.toml): the rescue imports the pool inside %s through it: %w", with, engine.ErrPrecondition))
	}
	s := &rescueSteps{b: b, r: store.Rescue{Zone: a.Zone, With: with, Storage: a.Storage, DeviceID: a.DeviceID, Pool: a.Pool,
		PoolGUID: a.PoolGUID, TempName: a.TempName, Altroot: a.Altroot, Zpool: kz.ZpoolInZone}}
	fit := func(booted bool) func() error { return func() error { return b.rescueFit(ctx, run, s.r, booted) } }
	var err error
	switch verb {
	case zones.RescueAddDevice:
		err = s.add(ctx, run, fit(false))
	case zones.RescueRemoveDevice:
		err = s.removeOurs(ctx, run)
	case zones.RescueImport:
		err = s.importIt(ctx, run, fit(true))
	case zones.RescueExport:
		err = s.export(ctx, run)
	default:
		return "", engine.Permanent(fmt.Errorf("%s is not a rescue verb: %w", verb, engine.ErrInvalid))
	}
	st, serr := b.kz(run).State(ctx, with)
	if err == nil && serr != nil {
		err = fmt.Errorf("read state of zone %s: %w", with, serr)
	}
	return st, err
}

// rescueFit reads both zones here and checks them as a capture does:
// kernel zones; the broken zone installed (not running, its pool not in
// use), whose one boot device is the storage asked for, with the
// rescue's id; the rescue zone installed before its disk is added and
// running before the pool is imported, with no other device of the
// rescue's id (booted: the import, after the rescue booted it). Every
// refusal is permanent: the rescue goes back.
func (b *Backend) rescueFit(ctx context.Context, run execx.RunFunc, r store.Rescue, booted bool) error {
	if b.capabilities() == nil {
		// readZones reads what the probe found (zoneadm list -s); a zone
		// host may be asked before it was asked anything else.
		if _, err := b.Probe(ctx, run); err != nil {
			return fmt.Errorf("probe this host's commands: %w", err)
		}
	}
	zs, _, err := b.readZones(ctx, run)
	if err != nil {
		return err
	}
	var zone, with *zoneStorage
	for i := range zs {
		switch zs[i].zone.Name {
		case r.Zone:
			zone = &zs[i]
		case r.With:
			with = &zs[i]
		}
	}
	if zone == nil || with == nil {
		missing := r.Zone
		if zone != nil {
			missing = r.With
		}
		return engine.Permanent(fmt.Errorf("zone %s is not configured on this host: %w", missing, engine.ErrNotFound))
	}
	// The rescue zone runs once the rescue booted it (the import): it is
	// checked as installed, as at capture.
	if booted && with.zone.State == "running" {
		c := *with
		c.zone.State = "installed"
		with = &c
	}
	if err := checkRescueZones(zone, with); err != nil {
		return engine.Permanent(err)
	}
	boot, err := bootDevice(zone)
	if err != nil {
		return engine.Permanent(err)
	}
	if boot.Storage != r.Storage {
		return engine.Permanent(fmt.Errorf("zone %s boots from %s here, not %s: %w", r.Zone, boot.Storage, r.Storage, engine.ErrPrecondition))
	}
	// The disk is in the rescue zone at the import: only another device
	// with the rescue's id (or the disk under another id) is refused.
	others := slices.DeleteFunc(slices.Clone(with.devices), func(d kz.Device) bool { return d.ID == r.DeviceID && d.Storage == r.Storage })
	if err := checkRescueDevices(&zoneStorage{zone: with.zone, devices: others}, r.Zone, r.Storage); err != nil {
		return engine.Permanent(err)
	}
	return nil
}
