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
// target through which a view exposes an LU (docs/platform/comstar.md §7.2).

// refusedAux are the auxiliary states in which a zone is never rolled
// back under (docs/platform/zones.md §7: refused, not warned).
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
			return fmt.Errorf("skip_peers %q: no such peer (%s): %w", p, known, engine.InvalidOptions(engine.ConsentSkipPeers))
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
	f.refs = lunRefs(lus, &lunTargets{targets: f.targets, targetGroups: f.targetGroups})
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
func (b *Backend) askPeers(ctx context.Context, vol string, refs []zones.LURef, opts store.Options) (peerView, []string, []error) {
	if b.Peers == nil || len(refs) == 0 {
		return peerView{}, nil, nil
	}
	var zs []store.Zone
	var warnings []string
	var consent []error
	var unanswered []string
	initiators := map[string][]string{}
	devices := map[string][]zones.Device{}
	for _, r := range b.Peers.Find(ctx, zones.Query{LUs: refs}) {
		engine.RecordRemote(ctx, r.Commands)
		if r.Err != nil {
			if slices.Contains(opts.SkipPeers, r.Peer) {
				unanswered = append(unanswered, r.Peer)
				warnings = append(warnings, fmt.Sprintf("%v; skipped (skip_peers): a zone there on %s would not be stopped, and its initiators are not known", r.Err, vol))
				continue
			}
			consent = append(consent, fmt.Errorf("%v: volctl cannot tell whether a zone there uses %s; start its volctld, or, if you know none does, consent to going on without peer %s (its initiators' sessions then count as unknown, see accept_sessions): %w",
				r.Err, vol, r.Peer, &engine.ConsentError{Consent: engine.ConsentSkipPeers, Peer: r.Peer}))
			unanswered = append(unanswered, r.Peer)
			continue
		}
		initiators[r.Peer] = r.Initiators
		for _, z := range r.Zones {
			sz := store.Zone{Name: z.Name, State: z.State, Brand: z.Brand, Storage: z.Storage, Aux: z.Aux, Host: r.Peer, Zoneadm: r.Zoneadm}
			devices[r.Peer+"/"+z.Name] = z.Devices
			if !z.AuxListed && z.Brand == "solaris-kz" && z.State != "configured" && z.Aux == "" {
				sz.Aux = auxUnknown
			}
			zs = append(zs, sz)
		}
	}
	return peerView{zones: zs, initiators: initiators, unanswered: unanswered, devices: devices}, warnings, consent
}

// peerView is what the peers said: their zones on the LUs, each answering
// peer's initiators, and the peers that did not answer.
type peerView struct {
	zones      []store.Zone
	initiators map[string][]string
	unanswered []string
	// devices are every device of each zone, by peer and zone name.
	devices map[string][]zones.Device
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
func (b *Backend) checkSessions(id store.Identity, f fabric, pv peerView, opts store.Options) ([]string, error) {
	peerInitiators := pv.initiators
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
	var unexpected, seenLUs []string
	for _, lu := range id.LUs {
		// One line per initiator and LU, naming every target it sees the
		// LU through.
		var order []string
		seen := map[string][]comstar.Exposure{}
		for _, e := range comstar.Exposed(comstarViews(lu), f.targets, f.hostGroups, f.targetGroups) {
			k := strings.ToLower(e.Initiator)
			if seen[k] == nil {
				order = append(order, k)
			}
			seen[k] = append(seen[k], e)
		}
		for _, k := range order {
			es := seen[k]
			who := es[0].Initiator
			if es[0].Alias != "" {
				who += " (" + es[0].Alias + ")"
			}
			var via []string
			for _, e := range es {
				via = append(via, fmt.Sprintf("%s (LUN %d)", e.Target, e.LUN))
			}
			if h, ok := expected[k]; ok {
				warnings = append(warnings, fmt.Sprintf("initiator %s of %s sees LU %s through %s: expected, its zones on the LU are detached",
					who, h, lu.GUID, strings.Join(via, ", ")))
				continue
			}
			warnings = append(warnings, fmt.Sprintf("initiator %s sees LU %s through %s: it loses the disk for the outage window, and its cached data goes stale",
				who, lu.GUID, strings.Join(via, ", ")))
			if !slices.Contains(unexpected, who) {
				unexpected = append(unexpected, who)
			}
			if !slices.Contains(seenLUs, lu.GUID) {
				seenLUs = append(seenLUs, lu.GUID)
			}
		}
	}
	if len(unexpected) == 0 || opts.AcceptSessions {
		return warnings, nil
	}
	why := "none of them is an initiator of a host whose zones on the LU are detached"
	if len(unexpected) == 1 {
		why = "it is not an initiator of a host whose zones on the LU are detached"
	}
	if len(pv.unanswered) > 0 {
		why += fmt.Sprintf(" (peer %s did not answer, so its initiators are not known)", strings.Join(pv.unanswered, ", "))
	}
	// Which LU, and of which volume: in a group each volume's refusal is
	// one line of several.
	lus := "LU " + strings.Join(seenLUs, ", ")
	if len(seenLUs) > 1 {
		lus = "LUs " + strings.Join(seenLUs, ", ")
	}
	return warnings, fmt.Errorf("initiator %s can see %s of %s, and %s: stop it using the LU, or consent to its sessions: %w",
		strings.Join(unexpected, ", "), lus, id.Volume, why, engine.NeedsConsent(engine.ConsentAcceptSessions))
}
