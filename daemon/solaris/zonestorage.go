package solaris

import (
	"context"
	"fmt"
	"slices"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/store"
)

// How a zone's storage references are mapped to this host's volumes and
// LUs (docs/platform/zone-storage.md). The parsing is kz.ParseRef, the
// test against LUs zones.Names: one mapping for this host's zones, for the
// zones the peers report, and for a zone's other disks (disks.go).

// lunTargets are the targets and target groups: with an LU's views they say
// which (target, LUN) pairs name it.
type lunTargets struct {
	targets      []comstar.Target
	targetGroups map[string][]string
}

// readTargets reads the targets and target groups (stmfadm list-target
// -v, list-tg -v) when one of the zones names an LU by target and LUN,
// and nothing otherwise.
func (b *Backend) readTargets(ctx context.Context, run execx.RunFunc, zs []zoneStorage) (*lunTargets, error) {
	if !slices.ContainsFunc(zs, func(z zoneStorage) bool { return slices.ContainsFunc(z.storage, isTargetRef) }) {
		return nil, nil
	}
	c := b.stmf(run)
	var t lunTargets
	var err error
	if t.targets, err = c.ListTargets(ctx); err != nil {
		return nil, fmt.Errorf("list targets (a zone names its LU by target and LUN): %w", err)
	}
	if t.targetGroups, err = c.TargetGroups(ctx); err != nil {
		return nil, fmt.Errorf("list target groups (a zone names its LU by target and LUN): %w", err)
	}
	return &t, nil
}

func isTargetRef(s string) bool {
	r, err := kz.ParseRef(s)
	_, _, ok := r.TargetLUN()
	return err == nil && ok
}

// lunRefs names each LU both ways a storage URI may: its GUID, and every
// target and LUN its views give it (none when t is nil: no zone names an
// LU that way).
func lunRefs(lus []store.LU, t *lunTargets) []zones.LURef {
	var refs []zones.LURef
	for _, lu := range lus {
		ref := zones.LURef{GUID: lu.GUID}
		if t != nil {
			for _, p := range comstar.Paths(comstarViews(lu), t.targets, t.targetGroups) {
				ref.Paths = append(ref.Paths, zones.TargetLUN{Target: p.Target, LUN: p.LUN})
			}
		}
		refs = append(refs, ref)
	}
	return refs
}

// checkPeerStorage reads again, here, every storage reference the peers
// reported for their zones on the volume: a zone host reports a reference
// it cannot read along with those that name the LUs, and it is a refusal
// naming the zone, its host and the reference.
func checkPeerStorage(pv peerView, vol string) error {
	for _, z := range pv.zones {
		for _, s := range z.Storage {
			if _, err := kz.ParseRef(s); err != nil {
				return fmt.Errorf("zone %s on peer %s: %v, so volctl cannot tell whether the zone uses %s; correct the zone's configuration there (zonecfg -z %s info): %w",
					z.Name, z.Host, err, vol, z.Name, engine.ErrPrecondition)
			}
		}
	}
	return nil
}
