package solaris

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// The zone steps (stop-zones, detach-zones, attach-zones, boot-zones) and
// how a zone is acted on, here or on its peer.

// zoneArgv is `zoneadm -z Z args...` as the zone's host runs it, for
// the plan: a zone on a peer is marked with its host (engine.OnHost).
func (s *sagaSteps) zoneArgv(z store.Zone, args ...string) []string {
	if z.Host == "" {
		return s.b.kz(nil).Argv(z.Name, args...)
	}
	k := kz.Cmd{Zoneadm: z.Zoneadm}
	if k.Zoneadm == "" {
		k.Zoneadm = "zoneadm"
	}
	return engine.OnHost(z.Host, k.Argv(z.Name, args...))
}

// planZone is what acting on a zone runs: its state read, the verb's
// command, the state read back.
func (s *sagaSteps) planZone(z store.Zone, verb zones.Verb) [][]string {
	return [][]string{s.zoneArgv(z, "list", "-p"), s.zoneArgv(z, verb.Args()...), s.zoneArgv(z, "list", "-p")}
}

// act brings zone z to what verb leads to, where the zone is: on this
// host, or on its peer through the zone service (whose commands are
// journaled with the step, naming the peer).
func (s *sagaSteps) act(ctx context.Context, x *engine.Exec, z store.Zone, verb zones.Verb) error {
	if z.Host == "" {
		_, err := s.b.ZoneAct(ctx, x.Run, z.Name, verb, x.Note)
		return err
	}
	if s.b.Peers == nil {
		return engine.Permanent(fmt.Errorf("zone %s is on peer %s, but this volctld has no [[peers]] configured: restore the configuration and recover", z.Name, z.Host))
	}
	_, argv := engine.SplitHost(s.zoneArgv(z, verb.Args()...))
	x.Starting(z.Host, argv) // the peer's journal has the commands; this says what it is asked
	limit := zoneActLimit(verb, x.Timeout(argv), s.b.shutdownTimeout())
	res, err := s.b.Peers.Act(ctx, z.Host, s.key(x, z, verb), z.Name, verb, limit)
	x.Record(res.Commands)
	if err != nil {
		return fmt.Errorf("zone %s %s: %w", z.Name, verb, err) // err names the peer
	}
	if res.Err == "" {
		return nil
	}
	e := fmt.Errorf("on peer %s: %s", z.Host, res.Err)
	switch {
	case res.Permanent:
		return engine.Permanent(e)
	case res.InUse:
		return fmt.Errorf("%w: %w", errInUse, e)
	}
	return e
}

// errInUse marks an attach that another host's claim on the host data
// refused.
var errInUse = errors.New("the disk's host data is claimed by another host")

func inUse(err error) bool {
	_, in := ZoneErrorKind(err)
	return in || errors.Is(err, errInUse)
}

// key is the idempotency key of a remote zone action: this host, the
// operation (its id and creation time, so a new journal never reuses
// one), the step, the zone and the verb. A peer that already did it
// answers from its journal.
func (s *sagaSteps) key(x *engine.Exec, z store.Zone, verb zones.Verb) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/op-%d-%d/%s/%s/%s", host, s.op.ID, s.op.Created.UnixNano(), x.Step().Name, z.Name, verb)
}

func zoneNames(zs []store.Zone) string {
	var n []string
	for _, z := range zs {
		n = append(n, z.Name)
	}
	return strings.Join(n, ", ")
}

// eachZone is a step function that acts on every zone in turn, stopping
// at the first error.
func (s *sagaSteps) eachZone(zs []store.Zone, verb zones.Verb) func(context.Context, *engine.Exec) error {
	return func(ctx context.Context, x *engine.Exec) error {
		for _, z := range zs {
			if err := s.act(ctx, x, z, verb); err != nil {
				return err
			}
		}
		return nil
	}
}

// stopZones stops the running zones: a clean shutdown first (the guest's
// filesystems stay consistent), and a halt (a hard stop) only when the
// shutdown fails or does not finish within the shutdown timeout of the
// zone's host.
func (s *sagaSteps) stopZones(zs []store.Zone) engine.Step {
	st := engine.Step{Name: "stop-zones",
		Description: fmt.Sprintf("shut down the running zones %s (halt them if that takes over %s)", zoneNames(zs), s.b.shutdownTimeout())}
	for _, z := range zs {
		st.Planned = append(st.Planned, s.planZone(z, zones.Shutdown)...)
	}
	st.Do = s.eachZone(zs, zones.Shutdown)
	st.Undo = s.eachZone(zs, zones.Boot)
	return st
}

func (s *sagaSteps) detachZones(zs []store.Zone) engine.Step {
	st := engine.Step{Name: "detach-zones", Description: "detach " + zoneNames(zs) + " so nothing uses the disk while it goes back"}
	for _, z := range zs {
		st.Planned = append(st.Planned, s.planZone(z, zones.Detach)...)
	}
	st.Do = s.eachZone(zs, zones.Detach)
	// The disk is unchanged when this is undone, so its host data still
	// matches the zone's key: a plain attach.
	st.Undo = s.eachZone(zs, zones.Attach)
	return st
}

func (s *sagaSteps) attachZones(zs []store.Zone) engine.Step {
	// recover --initialize-hostdata overrides keep_hostdata: the plain
	// attach failed, and the caller consented to fresh host data.
	keep := s.op.Options.KeepHostdata && !s.op.Options.InitializeHostdata
	var kzs, plain []store.Zone
	for _, z := range zs {
		if isKernelZone(z) {
			kzs = append(kzs, z)
		} else {
			plain = append(plain, z)
		}
	}
	var descs []string
	switch {
	case len(kzs) > 0 && keep:
		descs = append(descs, "attach "+zoneNames(kzs)+" keeping the rolled-back host data (keep_hostdata)")
	case len(kzs) > 0 && s.op.Options.KeepHostdata:
		descs = append(descs, "attach "+zoneNames(kzs)+" with fresh host data after all (recover's initialize_hostdata: the rolled-back host data would not do)")
	case len(kzs) > 0:
		descs = append(descs, "attach "+zoneNames(kzs)+" with fresh host data (the rolled-back disk carries the snapshot's host data: old key, old owner)")
	}
	if len(plain) > 0 {
		// Only kernel zones have host data (docs/platform/zone-storage.md).
		descs = append(descs, "attach "+zoneNames(plain)+" (not kernel zones: no host data, a plain attach)")
	}
	desc := strings.Join(descs, "; ")
	st := engine.Step{Name: "attach-zones", Description: desc}
	verbFor := func(z store.Zone) zones.Verb {
		if isKernelZone(z) && !keep {
			return zones.AttachInit
		}
		return zones.Attach
	}
	for _, z := range zs {
		st.Planned = append(st.Planned, s.planZone(z, verbFor(z))...)
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		for _, z := range zs {
			err := s.attach(ctx, x, z, verbFor(z))
			if err != nil && kz.IsKeyError(execx.Stderr(err)) {
				// Messages name volctl's flags: the admin reads them.
				return engine.Permanent(fmt.Errorf("%w: the disk's host data is from %s and encrypted with an older key, so the zone cannot be attached keeping it (--keep-hostdata); to attach it with fresh host data (zoneadm attach -x initialize-hostdata), run: volctl recover %d --initialize-hostdata",
					err, s.op.Snapshot, s.op.ID))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return st
}

// attach attaches z on the host that detached it. When the disk's host
// data is claimed by another host (the snapshot was taken while the zone
// ran elsewhere, and --keep-hostdata kept that claim), it takes the zone
// over (attach -x force-takeover) only once every other host that has the
// zone configured reports it not running (docs/platform/zones.md §5.5, §9
// step 7).
func (s *sagaSteps) attach(ctx context.Context, x *engine.Exec, z store.Zone, verb zones.Verb) error {
	err := s.act(ctx, x, z, verb)
	if err == nil || !inUse(err) {
		return err
	}
	if why := s.runningElsewhere(ctx, x, z); why != "" {
		return fmt.Errorf("%w; not taking it over: %s", err, why)
	}
	x.Note("zone %s: the host data names another host, and no other host that has the zone configured runs it: attach -x force-takeover", z.Name)
	return s.act(ctx, x, z, zones.AttachTakeover)
}

// runningElsewhere asks every other host that has z configured for its
// state; it says which one runs it (or could not be asked), or "".
func (s *sagaSteps) runningElsewhere(ctx context.Context, x *engine.Exec, z store.Zone) string {
	for _, h := range z.ConfiguredOn {
		if h == "" {
			st, err := s.b.kz(x.Run).State(ctx, z.Name)
			if err != nil {
				return fmt.Sprintf("this host's state of %s cannot be read: %v", z.Name, err)
			}
			if st != "configured" && st != "installed" {
				return fmt.Sprintf("zone %s is %s on this host", z.Name, st)
			}
			continue
		}
		if s.b.Peers == nil {
			return "no peers are configured to ask " + h
		}
		for _, r := range s.b.Peers.Find(ctx, zones.Query{Zone: z.Name}) {
			if r.Peer != h {
				continue
			}
			if r.Err != nil {
				return fmt.Sprintf("peer %s, which has %s configured, did not answer: %v", h, z.Name, r.Err)
			}
			for _, pz := range r.Zones {
				if pz.Name == z.Name && pz.State != "configured" && pz.State != "installed" {
					return fmt.Sprintf("zone %s is %s on peer %s", z.Name, pz.State, h)
				}
			}
		}
	}
	return ""
}

func (s *sagaSteps) bootZones(zs []store.Zone) engine.Step {
	st := engine.Step{Name: "boot-zones", Description: "boot the zones that were running: " + zoneNames(zs)}
	for _, z := range zs {
		st.Planned = append(st.Planned, s.planZone(z, zones.Boot)...)
	}
	st.Do = s.eachZone(zs, zones.Boot)
	return st
}
