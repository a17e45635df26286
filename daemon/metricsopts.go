package daemon

// What the metrics are told at start to create their series.

import (
	"slices"
	"time"

	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/metrics"
	"github.com/volctl/volctl/store"
)

// stepNames are the names of every step the backend's sagas can have, for
// the metrics to create their series at start. The backend builds its steps
// from the journaled operation alone (engine.Backend.Steps), so asking it
// for the steps of the largest operations there are (one volume and a
// group, each with an LU, a view and a running kernel zone, an LU that may
// need resizing) yields them all without a second list to keep in step.
// The engine's capture step is journaled done when the operation is
// created and never timed, so it is not among them.
func stepNames(b engine.Backend) []string {
	lu := func(vol string) store.LU {
		return store.LU{GUID: "600144F0000000000000000000000001", DataFile: "/dev/zvol/rdsk/" + vol, Size: 1 << 30, BlockSize: 512,
			Views: []store.View{{Entry: 0, HostGroup: "hg", TargetGroup: "tg", LUN: 0}}}
	}
	id := func(vol string) store.Identity {
		return store.Identity{Volume: vol, Snapshot: vol + "@s", Volsize: 1 << 30, LUs: []store.LU{lu(vol)},
			Zones: []store.Zone{{Name: "kz-" + vol, State: "running", Brand: "solaris-kz", Storage: []string{"dev:zvol/dsk/" + vol},
				BootDisks: []store.BootDisk{{ID: 0, Volume: vol}}}}}
	}
	single := &store.Operation{Kind: "rollback", Platform: b.Name(), Volume: "pool/v", Snapshot: "pool/v@s", Identity: id("pool/v")}
	group := *single
	group.Members = []store.Identity{id("pool/w")}
	// A keep, an undo and a forget (issue 22) have steps of their own.
	keep := group
	keep.Options.Keep, keep.Options.KeptSuffix = true, ".kept-1-20261207T000000Z"
	keep.Identity.Kept, keep.Identity.LocalProps = "pool/v"+keep.Options.KeptSuffix, map[string]string{"compression": "lz4"}
	keep.Members = []store.Identity{id("pool/w")}
	keep.Members[0].Kept = "pool/w" + keep.Options.KeptSuffix
	undo := keep
	undo.Kind, undo.Options.Undo = store.KindUndo, 1
	undo.Options.Restore = map[string]string{"pool/v": "pool/v.kept-0-20261206T000000Z", "pool/w": "pool/w.kept-0-20261206T000000Z"}
	forget := &store.Operation{Kind: store.KindForget, Platform: b.Name(), Volume: "pool/v", Snapshot: "pool/v@s",
		Identity: store.Identity{Volume: "pool/v", Snapshot: "pool/v@s", Kept: "pool/v.kept-1-20261207T000000Z"},
		Options:  store.Options{Forget: 1, ForgetDatasets: []string{"pool/v.kept-1-20261207T000000Z"}}}
	// A rescue --shell (issue 23) that boots its rescue zone has every
	// rescue step, the one it waits at (shell) too.
	rescue := &store.Operation{Kind: store.KindRescue, Platform: b.Name(), Volume: "pool/v", Snapshot: "pool/v",
		Options:  store.Options{Rescue: &store.RescueOptions{Zone: "kz1", With: "kzr", Shell: true}},
		Identity: store.Identity{Volume: "pool/v", Rescue: &store.Rescue{Zone: "kz1", With: "kzr", Storage: "dev:zvol/dsk/pool/v", WithState: "installed"}}}
	var names []string
	for _, op := range []*store.Operation{single, &group, &keep, &undo, forget, rescue} {
		for _, st := range b.Steps(op) {
			if !slices.Contains(names, st.Name) {
				names = append(names, st.Name)
			}
		}
	}
	return names
}

// longestTimeout is the longest a step's command may run: the largest
// command timeout, or the zone shutdown timeout (stop-zones waits for it
// before halting). The step histograms' buckets reach it.
func longestTimeout(cfg config.Config) time.Duration {
	longest := max(cfg.Timeouts.Default.Duration, cfg.ZoneShutdownTimeout.Duration)
	for _, d := range cfg.CommandTimeouts() {
		longest = max(longest, d)
	}
	return longest
}

// The metrics count the kept datasets (the engine finds that by a type
// assertion: keep it true).
var _ engine.KeptObserver = (*metrics.Metrics)(nil)
