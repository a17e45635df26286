package solaris

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// Group snapshots as one moment (docs/platform/zfs-snapshot.md): Oracle
// Solaris takes one snapshot per zfs snapshot command, so where zfs
// snapshot -r does not fit, the volumes are taken one after the other, and
// that is one moment only while nothing writes to them. This file is what
// this backend knows of who writes: the zones on the volumes, on this host
// and on the peers (as a rollback's capture finds them), and the
// initiators logged in to a target that exposes their LUs.

// TakeSnapshots implements engine.SnapshotTaker: of volumes only, as one
// moment (zvol.TakeGroup).
func (b *Backend) TakeSnapshots(ctx context.Context, run execx.RunFunc, names []string) (engine.Taken, error) {
	for _, name := range names {
		vol, _, err := zvol.SplitSnapshot(name)
		if err != nil {
			return engine.Taken{}, err
		}
		if _, err := b.volume(ctx, run, vol); err != nil {
			return engine.Taken{}, err
		}
	}
	caps := b.capabilities()
	return zvol.TakeGroup(ctx, b.zfs(run), names, zvol.Group{
		Many:       caps.Has(store.CapSnapshotMany),
		ManyDetail: zfs.SnapshotManyAnswer(capDetail(caps, store.CapSnapshotMany)),
		Quiet: func(ctx context.Context, vols []string) (string, error) {
			return b.quiet(ctx, run, vols)
		},
	})
}

// zoneCopy is a zone on one of the volumes, as one host reports it.
type zoneCopy struct {
	name, state, aux, host string
	vols                   []string
}

// quiet says whether anything can write to vols: every zone on them, on
// any host, must be installed or configured (not running, not migrating),
// and every initiator that can see one of their LUs must be one of a host
// whose zones on it these are. It returns who was asked, for the caller;
// a refusal wraps engine.ErrPrecondition and says what to do.
func (b *Backend) quiet(ctx context.Context, run execx.RunFunc, vols []string) (string, error) {
	ex, err := b.readExports(ctx, run)
	if err != nil {
		return "", err
	}
	var copies zoneCopies
	var busy []string
	luCount := 0
	for _, vol := range vols {
		w, err := b.writers(ctx, run, ex, vol, &copies)
		if err != nil {
			return "", err
		}
		luCount += len(w.lus)
		busy = append(busy, w.unexpected(vol)...)
	}
	busy, seen := copies.judge(busy)
	if len(busy) > 0 {
		return "", fmt.Errorf("%s: %w", strings.Join(busy, "; "), engine.ErrPrecondition)
	}
	if len(seen) == 0 {
		seen = append(seen, "no zone uses them")
	}
	if luCount > 0 {
		seen = append(seen, "no other initiator can see their LUs")
	}
	return strings.Join(seen, "; "), nil
}

// zoneCopies are the zones on the volumes, one per name and host, in the
// order they were found.
type zoneCopies []*zoneCopy

func (cs *zoneCopies) add(name, state, aux, host, vol string) {
	for _, c := range *cs {
		if c.name == name && c.host == host {
			if !slices.Contains(c.vols, vol) {
				c.vols = append(c.vols, vol)
			}
			return
		}
	}
	*cs = append(*cs, &zoneCopy{name: name, state: state, aux: aux, host: host, vols: []string{vol}})
}

// judge adds to busy every zone that may write to its volumes, and says
// of the others what they are (seen).
func (cs zoneCopies) judge(busy []string) (_, seen []string) {
	for _, c := range cs {
		where := hostName(c.host)
		on := strings.Join(c.vols, ", ")
		switch {
		case c.aux == "migrating-in" || c.aux == "migrating-out":
			busy = append(busy, fmt.Sprintf("zone %s is %s on %s (on %s): its guest writes to the disks until the migration ends; take the snapshots after it", c.name, c.aux, where, on))
		case c.state == "running":
			busy = append(busy, fmt.Sprintf("zone %s is running on %s (on %s): shut it down first (zoneadm -z %s shutdown), take the snapshots, then boot it again", c.name, where, on, c.name))
		case c.state == "installed" || c.state == "configured":
			seen = append(seen, fmt.Sprintf("zone %s is %s on %s", c.name, c.state, where))
		default:
			busy = append(busy, fmt.Sprintf("zone %s is %s on %s (on %s): volctl takes snapshots one by one only while every zone on them is installed or configured; bring it to one of those first", c.name, c.state, where, on))
		}
	}
	return busy, seen
}

// volWriters is what may write to one volume: its LUs, the fabric they
// are exposed on, and the initiators of the hosts of the zones on it.
type volWriters struct {
	lus      []store.LU
	f        fabric
	expected map[string]bool // lower-case IQN
}

// writers reads who may write to vol: its LUs, their fabric, the zones on
// it here and on the peers (added to copies), and the initiators of
// those zones' hosts. A peer that does not answer is a refusal.
func (b *Backend) writers(ctx context.Context, run execx.RunFunc, ex exports, vol string, copies *zoneCopies) (volWriters, error) {
	var w volWriters
	var err error
	if w.lus, err = b.lusOf(ctx, run, ex, vol); err != nil {
		return w, err
	}
	hosts := map[string]bool{}
	if w.f, err = b.readFabric(ctx, run, w.lus); err != nil {
		return w, err
	}
	local, err := zonesOf(ex, vol, w.f.refs)
	if err != nil {
		return w, err
	}
	for _, z := range local {
		copies.add(z.Name, z.State, z.Aux, "", vol)
		hosts[""] = true
	}
	initiators := map[string][]string{"": b.Initiators}
	if b.Peers != nil && len(w.f.refs) > 0 {
		for _, r := range b.Peers.Find(ctx, zones.Query{LUs: w.f.refs}) {
			engine.RecordRemote(ctx, r.Commands)
			if r.Err != nil {
				return w, fmt.Errorf("%v: volctl cannot tell whether a zone on peer %s writes to %s; start its volctld and take the snapshots again: %w",
					r.Err, r.Peer, vol, engine.ErrPrecondition)
			}
			initiators[r.Peer] = r.Initiators
			for _, z := range r.Zones {
				copies.add(z.Name, z.State, z.Aux, r.Peer, vol)
				hosts[r.Peer] = true
			}
		}
	}
	// Who can see the LUs: only the hosts of the zones on them (which
	// are down, or the zone check below refuses).
	w.expected = map[string]bool{}
	for h := range hosts {
		for _, in := range initiators[h] {
			w.expected[strings.ToLower(in)] = true
		}
	}
	return w, nil
}

// unexpected names every initiator that can see an LU of vol and is not
// one of the hosts of the zones on it.
func (w volWriters) unexpected(vol string) []string {
	var busy []string
	for _, lu := range w.lus {
		for _, e := range comstar.Exposed(comstarViews(lu), w.f.targets, w.f.hostGroups, w.f.targetGroups) {
			if w.expected[strings.ToLower(e.Initiator)] {
				continue
			}
			who := e.Initiator
			if e.Alias != "" {
				who += " (" + e.Alias + ")"
			}
			busy = append(busy, fmt.Sprintf("initiator %s is logged in to %s, through which LU %s of %s is exposed (LUN %d), and it is not a host of the zones on %s: it may be writing to it; stop its use of the LU (log it out, or remove the view)",
				who, e.Target, lu.GUID, vol, e.LUN, vol))
		}
	}
	return busy
}
