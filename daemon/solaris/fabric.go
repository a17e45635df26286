package solaris

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// The storage host's view of who else uses a volume's LUs: the zones on
// its peers (the zone hosts' volctld) and the initiators logged in to a
// target through which a view exposes an LU (platform-matrix.md §2.1).

// refusedAux are the auxiliary states in which a zone is never rolled
// back under (platform-matrix.md §3: refused, not warned).
var refusedAux = []string{"suspended", "migrating-out", "migrating-in"}

// fabric is what the capture reads of the targets: every target with its
// sessions, the groups, and how each LU is named on them.
type fabric struct {
	targets      []comstar.Target
	hostGroups   map[string][]string
	targetGroups map[string][]string
	refs         []zones.LURef
}

// checkOptions refuses what means nothing here before anything runs: a
// skipped peer that is not configured.
func (b *Backend) checkOptions(opts store.Options) error {
	var names []string
	if b.Peers != nil {
		names = b.Peers.Names()
	}
	for _, p := range opts.SkipPeers {
		if !slices.Contains(names, p) {
			known := "none are configured"
			if len(names) > 0 {
				known = "configured: " + strings.Join(names, ", ")
			}
			return fmt.Errorf("--skip-peer %q: no such peer (%s): %w", p, known, engine.ErrInvalid)
		}
	}
	return nil
}

// readFabric reads the targets with their sessions and the host and target
// groups (stmfadm list-target -v, list-hg -v, list-tg -v), once, when the
// volume has LUs.
func (b *Backend) readFabric(ctx context.Context, run execx.RunFunc, lus []store.LU) (fabric, error) {
	var f fabric
	if len(lus) == 0 {
		return f, nil
	}
	c := b.stmf(run)
	var err error
	if f.targets, err = c.ListTargets(ctx); err != nil {
		return f, fmt.Errorf("list targets and their sessions: %w", err)
	}
	if f.hostGroups, err = c.HostGroups(ctx); err != nil {
		return f, fmt.Errorf("list host groups: %w", err)
	}
	if f.targetGroups, err = c.TargetGroups(ctx); err != nil {
		return f, fmt.Errorf("list target groups: %w", err)
	}
	for _, lu := range lus {
		ref := zones.LURef{GUID: lu.GUID}
		for _, p := range comstar.Paths(comstarViews(lu), f.targets, f.targetGroups) {
			ref.Paths = append(ref.Paths, zones.TargetLUN{Target: p.Target, LUN: p.LUN})
		}
		f.refs = append(f.refs, ref)
	}
	return f, nil
}

func comstarViews(lu store.LU) []comstar.View {
	var vs []comstar.View
	for _, v := range lu.Views {
		vs = append(vs, comstar.View{Entry: v.Entry, HostGroup: v.HostGroup, TargetGroup: v.TargetGroup, LUN: v.LUN})
	}
	return vs
}

// askPeers asks every peer, concurrently and each within its deadline,
// which of its zones use the LUs. A peer that does not answer stops the
// rollback (a consent: --skip-peer NAME goes on without it, and says so).
// It returns the peers' zones (Host set), each answering peer's
// initiators, warnings and the consents missing.
func (b *Backend) askPeers(ctx context.Context, vol string, refs []zones.LURef, opts store.Options) ([]store.Zone, map[string][]string, []string, []error) {
	if b.Peers == nil || len(refs) == 0 {
		return nil, nil, nil, nil
	}
	var zs []store.Zone
	var warnings []string
	var consent []error
	initiators := map[string][]string{}
	for _, r := range b.Peers.Find(ctx, zones.Query{LUs: refs}) {
		engine.RecordRemote(ctx, r.Commands)
		if r.Err != nil {
			if slices.Contains(opts.SkipPeers, r.Peer) {
				warnings = append(warnings, fmt.Sprintf("peer %s did not answer (%v) and is skipped (--skip-peer): a zone there on %s would not be stopped", r.Peer, r.Err, vol))
				continue
			}
			consent = append(consent, fmt.Errorf("peer %s did not answer (%v): volctl cannot tell whether a zone there uses %s; start its volctld, or pass --skip-peer %s if you know none does: %w",
				r.Peer, r.Err, vol, r.Peer, engine.ErrNeedsConsent))
			continue
		}
		initiators[r.Peer] = r.Initiators
		for _, z := range r.Zones {
			sz := store.Zone{Name: z.Name, State: z.State, Brand: z.Brand, Storage: z.Storage, Aux: z.Aux, Host: r.Peer, Zoneadm: r.Zoneadm}
			if !z.AuxListed && z.Brand == "solaris-kz" && z.State != "configured" && z.Aux == "" {
				sz.Aux = auxUnknown
			}
			zs = append(zs, sz)
		}
	}
	return zs, initiators, warnings, consent
}

// mergeZones joins this host's zones with the peers' into one entry per
// zone name: a zone configured on several hosts (migration) is acted on
// where it is attached (installed or running), and the others are kept in
// ConfiguredOn for a force-takeover decision. A zone attached on two hosts
// at once, or in a refused auxiliary state on any, is refused.
func mergeZones(local, remote []store.Zone) ([]store.Zone, []string, error) {
	var names []string
	byName := map[string][]store.Zone{}
	for _, z := range append(append([]store.Zone(nil), local...), remote...) {
		if byName[z.Name] == nil {
			names = append(names, z.Name)
		}
		byName[z.Name] = append(byName[z.Name], z)
	}
	var out []store.Zone
	var warnings []string
	for _, n := range names {
		copies := byName[n]
		var attached []store.Zone
		for _, z := range copies {
			if slices.Contains(refusedAux, z.Aux) {
				return nil, warnings, fmt.Errorf("zone %s is %s on %s: a rollback now would lose the guest; finish or cancel that first: %w",
					n, z.Aux, hostName(z.Host), engine.ErrPrecondition)
			}
			if z.State != "configured" {
				attached = append(attached, z)
			}
		}
		if len(attached) > 1 {
			var where []string
			for _, z := range attached {
				where = append(where, fmt.Sprintf("%s on %s", z.State, hostName(z.Host)))
			}
			return nil, warnings, fmt.Errorf("zone %s is attached on more than one host (%s): volctl will not guess which owns the disk: %w",
				n, strings.Join(where, ", "), engine.ErrPrecondition)
		}
		act := copies[0]
		if len(attached) == 1 {
			act = attached[0]
		}
		for _, z := range copies {
			if z.Host != act.Host {
				act.ConfiguredOn = append(act.ConfiguredOn, z.Host)
			}
		}
		if len(copies) > 1 {
			var other []string
			for _, h := range act.ConfiguredOn {
				other = append(other, hostName(h))
			}
			warnings = append(warnings, fmt.Sprintf("zone %s is also configured on %s (detached there); volctl acts on it on %s only",
				n, strings.Join(other, ", "), hostName(act.Host)))
		}
		out = append(out, act)
	}
	return out, warnings, nil
}

func hostName(h string) string {
	if h == "" {
		return "this host"
	}
	return "peer " + h
}

// checkSessions lists the initiators that can see an LU now (a session on
// a target through which a view exposes it). Those of the hosts whose zones
// on the LU are detached for the rollback (or already are) are expected;
// every other one loses its disk for the outage window and refuses the
// rollback unless --accept-sessions. All are named in the plan.
func (b *Backend) checkSessions(id store.Identity, f fabric, peerInitiators map[string][]string, opts store.Options) ([]string, error) {
	expected := map[string]string{} // lower-case IQN -> whose
	hosts := map[string]bool{}
	for _, z := range id.Zones {
		hosts[z.Host] = true
		for _, h := range z.ConfiguredOn {
			hosts[h] = true
		}
	}
	for h := range hosts {
		ins := peerInitiators[h]
		if h == "" {
			ins = b.Initiators
		}
		for _, in := range ins {
			expected[strings.ToLower(in)] = hostName(h)
		}
	}
	var warnings []string
	var unexpected []string
	seen := map[string]bool{}
	for _, lu := range id.LUs {
		for _, e := range comstar.Exposed(comstarViews(lu), f.targets, f.hostGroups, f.targetGroups) {
			k := strings.ToLower(e.Initiator + " " + lu.GUID)
			if seen[k] {
				continue
			}
			seen[k] = true
			who := e.Initiator
			if e.Alias != "" {
				who += " (" + e.Alias + ")"
			}
			if h, ok := expected[strings.ToLower(e.Initiator)]; ok {
				warnings = append(warnings, fmt.Sprintf("initiator %s of %s is logged in to %s and sees LU %s (LUN %d): expected, its zones on the LU are detached",
					who, h, e.Target, lu.GUID, e.LUN))
				continue
			}
			line := fmt.Sprintf("initiator %s is logged in to %s and sees LU %s (LUN %d): it loses the disk for the outage window, and its cached data goes stale",
				who, e.Target, lu.GUID, e.LUN)
			warnings = append(warnings, line)
			unexpected = append(unexpected, who)
		}
	}
	if len(unexpected) == 0 || opts.AcceptSessions {
		return warnings, nil
	}
	return warnings, fmt.Errorf("%s can see the LU and %s not a known consumer whose zones are detached: stop it using the LU, or pass --accept-sessions: %w",
		strings.Join(unexpected, ", "), isAre(len(unexpected)), engine.ErrNeedsConsent)
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
