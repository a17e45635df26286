package solaris

import (
	"context"
	"strings"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// What ls and show add to a volume besides its identity: the LUs that
// cannot be read whole (the capture refuses them, lus.go checkReadable),
// and, for show, who is logged in that can see its LUs
// (docs/platform/comstar.md §7).

// flagUnreadable marks, on v, the LUs list-lu -v did not print whole: those
// on v that lack a property volctl restores (Unreadable, by GUID) and the
// registered ones whose data file it did not print, which may be on any
// volume (Unplaced).
func flagUnreadable(lus []comstar.LU, v *engine.Volume) {
	for _, lu := range lus {
		if !lu.Registered {
			continue
		}
		if u := lu.UnreadDataFile(); u != nil {
			v.Unplaced = append(v.Unplaced, engine.UnreadableLU{GUID: comstar.NormalizeGUID(lu.GUID), What: unreadText(unreadAll(lu, *u))})
			continue
		}
		if !comstar.IsZvolPath(lu.DataFile, v.Name) {
			continue
		}
		if us := lu.UnreadIdentity(); len(us) > 0 {
			if v.Unreadable == nil {
				v.Unreadable = map[string]string{}
			}
			v.Unreadable[comstar.NormalizeGUID(lu.GUID)] = unreadText(us)
		}
	}
}

// unreadText is what list-lu -v printed instead of values, and whether
// that means the LU is in standby on this node.
func unreadText(us []comstar.Unread) string {
	s := "stmfadm list-lu -v: " + comstar.Unreads(us)
	if comstar.Standby(us) {
		s += " (not Active on this node)"
	}
	return s
}

// sessionsOf reads the targets' sessions and the groups (readFabric) and
// lists every initiator logged in to a target through which a view
// exposes one of lus. A failure to read any of them is reported as such,
// never as nobody.
func (b *Backend) sessionsOf(ctx context.Context, run execx.RunFunc, lus []store.LU) *engine.Sessions {
	f, err := b.readFabric(ctx, run, lus)
	if err != nil {
		return &engine.Sessions{Err: err}
	}
	s := &engine.Sessions{}
	for _, lu := range lus {
		for _, e := range comstar.Exposed(comstarViews(lu), f.targets, f.hostGroups, f.targetGroups) {
			view := e.View
			s.List = append(s.List, engine.Session{GUID: lu.GUID, Initiator: e.Initiator, Alias: e.Alias, Target: e.Target,
				View: &view, LUN: e.LUN, Since: strings.TrimSpace(e.Since)})
		}
	}
	return s
}
