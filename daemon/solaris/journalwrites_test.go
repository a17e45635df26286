package solaris_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// TestRollbackJournalWrites holds a rollback of the seed volume to the
// journal writes recovery needs (docs/architecture.md, "What is
// journaled"), and checks that each is on disk before the commands it
// guards run: each of those commands is slowed (a hang with a delay) and
// the journal is read while it runs, as a crash then would find it.
//
//   - the operation, with the outage window's intent, before the first
//     change (the zone's shutdown or detach) and so before delete-lu;
//   - the window's result (the rollback done, the window closed) before
//     the zone is attached and booted again, which may write to the volume;
//   - the end.
//
// Three writes: the operation's first carries the window's intent
// (engine/intent.go), which was a write of its own.
func TestRollbackJournalWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("slowed commands: not in -short")
	}
	type guard struct {
		cmd, match string
		// windowDone: the window's result is on disk (else its intent).
		windowDone bool
	}
	for _, tc := range []struct {
		name   string
		halt   bool // kz1 running: shut down and booted again
		guards []guard
	}{
		{"installed zone", false, []guard{
			{"zoneadm", "-z kz1 detach", false},
			{"stmfadm", "delete-lu -k " + sim.SeedGUID0, false}, // not the probe's
			{"zoneadm", "-z kz1 attach", true},
		}},
		{"running zone", true, []guard{
			{"zoneadm", "-z kz1 shutdown", false},
			{"stmfadm", "delete-lu -k " + sim.SeedGUID0, false}, // not the probe's
			{"zoneadm", "-z kz1 boot", true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := simtest.Host(t)
			if tc.halt {
				host(t, root, "zoneadm", "-z", "kz1", "boot")
			}
			for _, g := range tc.guards {
				if err := sim.AddFault(root, sim.Fault{Command: g.cmd, Match: g.match, Times: 1, Action: sim.ActionHang,
					Delay: "1500ms"}); err != nil {
					t.Fatal(err)
				}
			}
			e, db := newEngine(t, root, engine.Config{})
			before := db.Writes()
			type result struct {
				op  *store.Operation
				err error
			}
			done := make(chan result, 1)
			go func() {
				op, err := e.Rollback(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1",
					Options: store.Options{HaltZones: tc.halt}}, func(engine.Event) {})
				done <- result{op, err}
			}()
			for _, g := range tc.guards {
				what := g.cmd + " " + g.match
				waitSlowed(t, root, what, false)
				ops, err := db.Unfinished()
				if still := waitSlowed(t, root, what, true); !still {
					t.Fatalf("%s ended before the journal was read: the machine is too slow for this test", what)
				}
				if err != nil || len(ops) != 1 {
					t.Fatalf("journal while %s runs: %v %v", what, ops, err)
				}
				op := ops[0]
				if op.State != store.OpRunning || len(op.Identity.LUs) == 0 {
					t.Errorf("journal while %s runs: %s with %d LUs, want running with the captured LU", what, op.State, len(op.Identity.LUs))
				}
				rolledBack := false
				for _, st := range op.Steps {
					if st.Commit && st.State == store.StepDone {
						rolledBack = true
					}
				}
				open := !op.OutageStart.IsZero() && !op.OutageEnd.After(op.OutageStart)
				if g.windowDone && (open || !rolledBack) {
					t.Errorf("journal while %s runs: window open %v, rollback done %v; want the window's result", what, open, rolledBack)
				}
				if !g.windowDone && (!open || rolledBack) {
					t.Errorf("journal while %s runs: window open %v, rollback done %v; want the window's intent", what, open, rolledBack)
				}
			}
			r := <-done
			if r.err != nil || r.op.State != store.OpSucceeded {
				t.Fatalf("rollback: %v", r.err)
			}
			if w := db.Writes().Sub(before); w.Commits != 3 {
				t.Errorf("the rollback wrote the journal %d times, want 3", w.Commits)
			}
		})
	}
}

// waitSlowed waits until the slowed command what (a "cmd args" substring)
// is running, and returns whether it still is; with now it only looks.
func waitSlowed(t *testing.T, root, what string, now bool) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		calls, err := sim.Calls(root)
		if err != nil {
			t.Fatal(err)
		}
		started, ended := false, false
		for _, c := range calls {
			if c.Fault == "" || !strings.Contains(strings.Join(c.Argv, " "), what) {
				continue
			}
			started = started || c.Exit == -1 && !c.Late
			ended = ended || c.Late
		}
		if now || started {
			return started && !ended
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never ran", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
