package daemon

// What the metrics are told at start to create their series.

import (
	"slices"
	"time"

	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/daemon/engine"
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
			Zones: []store.Zone{{Name: "kz-" + vol, State: "running", Brand: "solaris-kz", Storage: []string{"dev:zvol/dsk/" + vol}}}}
	}
	single := &store.Operation{Kind: "rollback", Platform: b.Name(), Volume: "pool/v", Snapshot: "pool/v@s", Identity: id("pool/v")}
	group := *single
	group.Members = []store.Identity{id("pool/w")}
	var names []string
	for _, op := range []*store.Operation{single, &group} {
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
