package cli

import (
	"fmt"
	"sort"
	"strings"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
)

// What ls and show say besides a volume's identity: the LUs the platform
// would not show whole (a rollback refuses them), and, in show, who is
// logged in that can see the LUs. Unknown is said as unknown, never as
// "none".

// luFlag is what follows an LU's GUID in ls and show: empty, or that it
// cannot be read whole.
func luFlag(lu *v1.LogicalUnit) string {
	if lu.GetUnreadable() == "" {
		return ""
	}
	return " (unreadable)"
}

// unplacedMark is ls's LU column entry for "an LU whose data file could
// not be read may be on this volume" (warnUnplaced names them).
const unplacedMark = "?"

// warnUnplaced says on stderr, once for a listing, which LUs may be on
// any volume because their data file could not be read.
func (a *app) warnUnplaced(vols []*v1.Volume) {
	seen := map[string]bool{}
	for _, v := range vols {
		for _, lu := range v.GetUnplacedLogicalUnits() {
			if seen[lu.GetGuid()] {
				continue
			}
			seen[lu.GetGuid()] = true
			fmt.Fprintf(a.stderr, "volctl: LU %s cannot be read whole (%s): it may be on any volume (%q in the LU column), and volctl rollback refuses every volume until it can be read\n",
				lu.GetGuid(), lu.GetUnreadable(), unplacedMark)
		}
	}
}

// printShowExtra is show's last section: LUs that cannot be read whole,
// then the initiators that can see the LUs.
func (a *app) printShowExtra(v *v1.Volume) {
	for _, lu := range v.GetLogicalUnits() {
		if lu.GetUnreadable() != "" {
			a.printf("  LU %s cannot be read whole (%s): volctl rollback refuses this volume until it can\n", lu.GetGuid(), lu.GetUnreadable())
		}
	}
	for _, lu := range v.GetUnplacedLogicalUnits() {
		a.printf("  LU %s cannot be read whole (%s): it may be on this volume, and volctl rollback refuses this volume until it can be read\n",
			lu.GetGuid(), lu.GetUnreadable())
	}
	s := v.GetSessions()
	switch {
	case s == nil:
		a.printf("  initiators: not known (this volctld does not report them)\n")
		return
	case !s.GetRead():
		a.printf("  initiators: cannot be read: %s\n", s.GetError())
		return
	case len(v.GetLogicalUnits()) == 0:
		return
	case len(s.GetSessions()) == 0:
		a.printf("  initiators: none logged in can see its LUs\n")
		return
	}
	a.printf("  initiators that can see its LUs:\n")
	sessions := append([]*v1.Session(nil), s.GetSessions()...)
	sort.SliceStable(sessions, func(i, j int) bool {
		if sessions[i].GetGuid() != sessions[j].GetGuid() {
			return sessions[i].GetGuid() < sessions[j].GetGuid()
		}
		return strings.ToLower(sessions[i].GetInitiator()) < strings.ToLower(sessions[j].GetInitiator())
	})
	for _, ss := range sessions {
		who := ss.GetInitiator()
		if ss.GetAlias() != "" {
			who += " (" + ss.GetAlias() + ")"
		}
		via := "target " + ss.GetTarget()
		if ss.ViewEntry != nil {
			via += fmt.Sprintf(", view %d", ss.GetViewEntry())
		}
		lun := fmt.Sprint(ss.GetLun())
		if ss.GetLun() < 0 {
			lun = "Auto"
		}
		a.printf("    %s: LU %s as LUN %s through %s", who, ss.GetGuid(), lun, via)
		if ss.GetLoggedInSince() != "" {
			a.printf(", logged in since %s", ss.GetLoggedInSince())
		}
		a.printf("\n")
	}
}
