package solaris_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/engine/backendtest"
	"github.com/volctl/volctl/daemon/solaris"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// TestBackendSuite runs the backend contract (daemon/engine/backendtest)
// against the Solaris backend on each Solaris-family flavor of the
// simulator.
func TestBackendSuite(t *testing.T) {
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		backendtest.Run(t, "solaris on "+flavor, func(t *testing.T) backendtest.Host { return newSimHost(t, flavor) }, solarisGaps)
	})
}

// solarisGaps are the contract cases the Solaris backend does not meet
// yet, and why: none (comstar.ParseListLU once read a list-lu that printed
// no listing as "no LU").
var solarisGaps = map[string]string{}

// simHost is the seed's simulated host (simtest), its commands behind a
// backendtest.Shim.
type simHost struct {
	root  string
	shim  *backendtest.Shim
	paths solaris.Paths
}

func newSimHost(t *testing.T, flavor string) *simHost {
	root := simtest.HostFlavor(t, flavor)
	h := &simHost{root: root, shim: backendtest.NewShim(t)}
	p := paths(root)
	h.paths = solaris.Paths{Zfs: h.shim.Wrap(t, p.Zfs), Zpool: h.shim.Wrap(t, p.Zpool), Stmfadm: h.shim.Wrap(t, p.Stmfadm),
		Zoneadm: h.shim.Wrap(t, p.Zoneadm), Zonecfg: h.shim.Wrap(t, p.Zonecfg)}
	return h
}

const simVolume = "pool/idisk0"

func (h *simHost) Backend() engine.Backend {
	b := solaris.New(h.paths)
	b.Initiators = []string{sim.SeedInitiator}
	simDisks(h.root, b)
	return b
}

func (h *simHost) Seed() backendtest.Seed {
	return backendtest.Seed{Volume: simVolume, Snapshot: simVolume + "@snap1", MissingSnapshot: simVolume + "@nope",
		MissingVolume: "pool/nosuch@snap1", NewerSnapshot: simVolume + "@newer"}
}

func (h *simHost) Snapshot(t *testing.T, name string) { host(t, h.root, "zfs", "snapshot", name) }

func (h *simHost) Reads(argv []string) bool { return len(argv) > 1 && isRead(argv) }

// Conditional: online-lu runs only where the host brings new LUs up
// Offline, and a resize whose size the plan cannot know (Solaris and
// illumos print "-" for a snapshot's volsize) only where the LU would end
// past the volume (daemon/solaris/doc.go).
func (h *simHost) Conditional(argv []string) bool {
	return len(argv) > 1 && argv[1] == "online-lu" || slices.ContainsFunc(argv, func(a string) bool { return strings.HasPrefix(a, "<") })
}

// Capabilities: Solaris and illumos have zones.
func (h *simHost) Capabilities() backendtest.Capabilities {
	return backendtest.Capabilities{Zones: true}
}

func (h *simHost) Inject(t *testing.T, f backendtest.Fault) bool {
	switch f {
	case backendtest.CommitFails:
		if err := sim.AddFault(h.root, sim.Fault{Command: "zfs", Match: "rollback", Action: sim.ActionFail, Exit: 1,
			Stderr: "cannot rollback '" + simVolume + "': " + backendtest.FaultText}); err != nil {
			t.Fatal(err)
		}
	case backendtest.LUListingGarbled:
		h.shim.Set(t, "stmfadm", backendtest.Rule{Match: "list-lu", Stdout: backendtest.FaultText + "\n"})
	case backendtest.VolumeListingGarbled:
		h.shim.Set(t, "zfs", backendtest.Rule{Match: "-t filesystem,volume", Stdout: backendtest.FaultText + "\n"})
	case backendtest.ForeignSession:
		// Target B: the seed's view of pool/idisk0 there is for all hosts
		// (on target A, for host group hg-kz only).
		if err := sim.AddSession(h.root, sim.SeedTargetB, "iqn.1986-03.com.sun:01:backendtest-foreign", "foreign"); err != nil {
			t.Fatal(err)
		}
	default:
		return false
	}
	return true
}

// State reads the simulator's state file: what the host has, whatever the
// backend believes.
func (h *simHost) State(t *testing.T) backendtest.State {
	st, err := sim.Load(h.root)
	if err != nil {
		return backendtest.State{Data: "unreadable: " + err.Error()}
	}
	var s backendtest.State
	file := "/dev/zvol/rdsk/" + simVolume
	views := func(guid string) []string {
		var out []string
		for _, v := range st.Views(guid) {
			hg, tg := v.HostGroup, v.TargetGroup
			if hg == "" {
				hg = "All"
			}
			if tg == "" {
				tg = "All"
			}
			out = append(out, backendtest.ViewString(store.View{HostGroup: hg, TargetGroup: tg, LUN: v.LUN}))
		}
		slices.Sort(out)
		return out
	}
	for guid, lu := range st.LUs {
		persisted, _ := simtest.Persisted(h.root, guid, lu.DataFile)
		if lu.DataFile != file {
			s.Other = append(s.Other, fmt.Sprintf("LU %s on %s: %s, views %q, persisted %v", guid, lu.DataFile, lu.State, views(guid), persisted))
			continue
		}
		l := *lu
		l.OnlineAt = 0 // when it came online, not what it is
		s.Exports = append(s.Exports, backendtest.Export{ID: guid, File: lu.DataFile, Views: views(guid),
			Props: []string{fmt.Sprintf("%+v", l), fmt.Sprintf("persisted %v", persisted)}})
	}
	for guid := range st.ViewTable {
		if st.LU(guid) == nil && len(st.Views(guid)) > 0 {
			s.Other = append(s.Other, fmt.Sprintf("views %q kept for %s, which is not registered", views(guid), guid))
		}
	}
	slices.SortFunc(s.Exports, func(a, b backendtest.Export) int { return strings.Compare(a.ID, b.ID) })
	vol := st.Zvol(simVolume)
	switch {
	case vol == nil:
		s.Data = simVolume + " is gone"
	case string(vol.Data) == simtest.DataAtSnap:
		s.Data = backendtest.DataAtSnapshot
	case string(vol.Data) == simtest.DataAfterSnap:
		s.Data = backendtest.DataAfter
	default:
		s.Data = fmt.Sprintf("%q", vol.Data)
	}
	if vol != nil {
		s.Other = append(s.Other, fmt.Sprintf("%s volsize %d", simVolume, vol.Volsize))
		for _, sn := range vol.Snapshots {
			s.Snapshots = append(s.Snapshots, simVolume+"@"+sn.Name)
		}
	}
	for _, z := range st.Zones {
		reads := false
		for _, d := range st.Datasets {
			reads = reads || d.HostData != nil && d.HostData.KeyID == z.Key
		}
		s.Other = append(s.Other, fmt.Sprintf("zone %s %s aux %q, its key reads a disk's host data: %v", z.Name, z.State, z.Aux, reads))
	}
	slices.Sort(s.Snapshots)
	slices.Sort(s.Other)
	return s
}
