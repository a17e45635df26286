package linuxtgt

import (
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
)

// sessionsOf lists who is connected that can see the LUs on d, for show:
// tgt has no views, so every session (I_T nexus) on a target sees each of
// its LUNs (docs/platform/linux-tgt.md §3.2, §7). They come from the same tgtadm
// --op show the LUs were read from, which the parser reads whole or
// refuses.
func sessionsOf(ts []tgt.Target, d zfs.Info, tree []zfs.Info) *engine.Sessions {
	s := &engine.Sessions{}
	for _, f := range lusOn(ts, d, tree) {
		guid := toStoreLU(f.t, f.u, f.kind).GUID
		for _, n := range f.t.Nexuses {
			s.List = append(s.List, engine.Session{GUID: guid, Initiator: n.Initiator, Alias: n.Alias, Target: f.t.Name, LUN: f.u.LUN})
		}
	}
	return s
}
