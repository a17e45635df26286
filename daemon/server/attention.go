package server

// What needs attention, for status, ls and show (issue 21): each
// operation that needs attention, what it holds and what it left.

import (
	"github.com/volctl/volctl/daemon/engine"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

func toAttention(a engine.Attention) *v1.AttentionOperation {
	p := &v1.AttentionOperation{Id: a.Op, Snapshot: a.Snapshot, Volumes: a.Volumes, Left: a.Left,
		Attention: a.Hold.Attention, NeedsRepersist: a.NeedsRepersist}
	for _, z := range a.Zones {
		name := z.Name
		if z.Host != "" {
			name += " on host " + z.Host
		}
		p.Zones = append(p.Zones, name)
	}
	return p
}

// heldBy sets each volume's held_by: the oldest operation that needs
// attention and holds the volume, or one of its zones on this host.
func heldBy(atts []engine.Attention, vols ...*v1.Volume) {
	for _, v := range vols {
	next:
		for _, a := range atts {
			for _, name := range a.Volumes {
				if name == v.GetName() {
					v.HeldBy = toAttention(a)
					break next
				}
			}
			for _, z := range a.Zones {
				for _, vz := range v.GetZones() {
					if z.Name == vz.GetName() && z.Host == vz.GetHost() {
						v.HeldBy = toAttention(a)
						break next
					}
				}
			}
		}
	}
}
