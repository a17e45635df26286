package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// TestLeftBehind: what an operation that needs attention left, from its
// journal, as status, ls and show print it (issue 21 item 1).
func TestLeftBehind(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	op := func(states map[string]store.StepState, mod func(*store.Operation)) *store.Operation {
		o := &store.Operation{ID: 23, Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", State: store.OpNeedsAttention,
			Identity: store.Identity{Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1",
				LUs:   []store.LU{{GUID: "600144F0A613C900000054521D550001"}},
				Zones: []store.Zone{{Name: "kz1", State: "running"}, {Name: "kz2", State: "configured"}}}}
		for _, name := range []string{"capture", "stop-zones", "detach-zones", "delete-lu", "rollback", "import-lu", "attach-zones", "boot-zones"} {
			st, ok := states[name]
			if !ok {
				st = store.StepPending
			}
			o.Steps = append(o.Steps, store.Step{Name: name, State: st})
		}
		if mod != nil {
			mod(o)
		}
		return o
	}
	done := store.StepDone
	cases := []struct {
		name string
		op   *store.Operation
		want []string
	}{
		{"attach failed: zone detached and not running, volume at the snapshot",
			op(map[string]store.StepState{"capture": done, "stop-zones": done, "detach-zones": done, "delete-lu": done,
				"rollback": done, "import-lu": done, "attach-zones": store.StepFailed}, func(o *store.Operation) {
				o.OutageStart, o.OutageEnd = t0, t0.Add(time.Second)
			}),
			[]string{"volume pool/idisk0 at pool/idisk0@snap1", "zone kz1 detached",
				"zone kz1 not running (it was: boot it once attached)"}},
		{"import failed: the LU away",
			op(map[string]store.StepState{"capture": done, "stop-zones": done, "detach-zones": done, "delete-lu": done,
				"rollback": done, "import-lu": store.StepFailed}, func(o *store.Operation) { o.OutageStart = t0 }),
			[]string{"volume pool/idisk0 at pool/idisk0@snap1", "LU 600144F0A613C900000054521D550001 away: no initiator reaches pool/idisk0",
				"zone kz1 detached", "zone kz1 not running (it was: boot it once attached)"}},
		{"boot failed: only the zone not running",
			op(map[string]store.StepState{"capture": done, "stop-zones": done, "detach-zones": done, "delete-lu": done,
				"rollback": done, "import-lu": done, "attach-zones": done, "boot-zones": store.StepFailed}, nil),
			[]string{"volume pool/idisk0 at pool/idisk0@snap1", "zone kz1 not running (it was: boot it once attached)"}},
		{"compensated zone steps leave nothing; unpersisted LU",
			op(map[string]store.StepState{"capture": done, "stop-zones": store.StepCompensated, "detach-zones": store.StepCompensated,
				"delete-lu": store.StepFailed}, func(o *store.Operation) { o.NeedsRepersist = true }),
			[]string{"an LU online but not persisted by STMF: gone after a reboot or an stmf restart"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := leftBehind(tc.op); !slices.Equal(got, tc.want) {
				t.Errorf("leftBehind:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
