package comstar

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Target is one target from `stmfadm list-target -v` (docs/platform/comstar.md
// §7.1, from stmfadm.c printTargetProps/printSessionProps, the same on
// Solaris 11 and illumos):
//
//	Target: iqn.1986-03.com.sun:02:3a5e1a6b-9f1c-4d2e-8a6e-5b2c1d0e7f11
//	    Operational Status: Online
//	    Provider Name     : iscsit
//	    Alias             : -
//	    Protocol          : iSCSI
//	    Sessions          : 1
//	        Initiator: iqn.1986-03.com.sun:01:kzhost
//	            Alias: kzhost
//	            Logged in since: Tue Dec  1 18:47:19 2026
type Target struct {
	Name     string
	Status   string
	Sessions []Session
}

// Session is one initiator logged in to a target.
type Session struct {
	Initiator string
	Alias     string // "" for "-"
	Since     string // ctime() text, as printed
}

// ParseListTarget parses `stmfadm list-target -v`. The "Sessions" count
// must equal the session blocks that follow it: a session missed here is
// an initiator that loses its disk unwarned, so a mismatch is an error.
func ParseListTarget(out []byte) ([]Target, error) {
	var ts []Target
	counts := []int{}
	var cur *Session
	for _, l := range lines(out) {
		label, raw, ok := splitLabel(l.text)
		if !ok {
			continue
		}
		v := strings.TrimSpace(raw)
		switch label {
		case "Target":
			if v == "" {
				return nil, fmt.Errorf("list-target line %d: empty target name", l.n)
			}
			ts = append(ts, Target{Name: v})
			counts = append(counts, -1)
			cur = nil
			continue
		}
		if len(ts) == 0 {
			continue
		}
		t := &ts[len(ts)-1]
		switch label {
		case "Operational Status":
			t.Status = v
		case "Sessions":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("list-target line %d: sessions count %q", l.n, v)
			}
			counts[len(counts)-1] = n
		case "Initiator":
			if v == "" {
				return nil, fmt.Errorf("list-target line %d: empty initiator name", l.n)
			}
			t.Sessions = append(t.Sessions, Session{Initiator: v})
			cur = &t.Sessions[len(t.Sessions)-1]
		case "Alias":
			// A target's alias comes before its sessions; a session's after
			// its Initiator line.
			if cur != nil && v != "-" {
				cur.Alias = v
			}
		case "Logged in since":
			if cur != nil {
				cur.Since = v
			}
		}
	}
	for i, t := range ts {
		if counts[i] >= 0 && counts[i] != len(t.Sessions) {
			return nil, fmt.Errorf("list-target: target %s counts %d sessions but lists %d: refusing to trust its output", t.Name, counts[i], len(t.Sessions))
		}
	}
	return ts, nil
}

// Exposure is one initiator that can reach an LU: logged in to Target,
// through a view with that LUN.
type Exposure struct {
	Initiator string
	Alias     string
	Target    string
	LUN       int
	View      int    // the entry of the view that exposes it
	Since     string // the session's login time, as printed
}

// Exposed lists the logged-in initiators that can see an LU
// (docs/platform/comstar.md §7.2): a view whose host group is All or has the
// initiator as member, and whose target group is All or has the target the
// initiator is logged in to. hostGroups and targetGroups are list-hg -v /
// list-tg -v (name -> members); iSCSI names compare case-insensitively.
func Exposed(views []View, targets []Target, hostGroups, targetGroups map[string][]string) []Exposure {
	member := func(groups map[string][]string, group, name string) bool {
		if group == "" || group == "All" {
			return true
		}
		return slices.ContainsFunc(groups[group], func(m string) bool { return strings.EqualFold(m, name) })
	}
	var out []Exposure
	seen := map[string]bool{}
	for _, t := range targets {
		for _, s := range t.Sessions {
			for _, v := range views {
				if !member(targetGroups, v.TargetGroup, t.Name) || !member(hostGroups, v.HostGroup, s.Initiator) {
					continue
				}
				k := strings.ToLower(s.Initiator + " " + t.Name)
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, Exposure{Initiator: s.Initiator, Alias: s.Alias, Target: t.Name, LUN: v.LUN, View: v.Entry, Since: s.Since})
			}
		}
	}
	return out
}

// Path is a target and the LUN an LU has there.
type Path struct {
	Target string
	LUN    int
}

// Paths lists, for an LU's views, every target it is exposed through and the
// LUN there: how a zone's iscsi://host/target.IQN,lun.N storage URI names it
// (docs/platform/comstar.md §7.3). A view with target group All exposes it
// through every target.
func Paths(views []View, targets []Target, targetGroups map[string][]string) []Path {
	var out []Path
	for _, v := range views {
		for _, t := range targets {
			if v.TargetGroup == "" || v.TargetGroup == "All" ||
				slices.ContainsFunc(targetGroups[v.TargetGroup], func(m string) bool { return strings.EqualFold(m, t.Name) }) {
				out = append(out, Path{Target: t.Name, LUN: v.LUN})
			}
		}
	}
	return out
}
