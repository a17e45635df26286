package solaris_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// The group saga under faults: kz1 with two disks (pool/idisk0, and
// pool/idisk1 as the other half of a mirrored root pool), running,
// rolled back together to @g1; every command of the reference run failed
// (once, and after its change) in turn, and those of the outage window
// (stmfadm, zfs rollback) hung. The group must end on
// one side: both volumes at @g1 or both untouched, both LUs with their
// views, kz1 running with a key that reads its disk.

// groupHost is the group scenario before the rollback
// (simtest.GroupHost).
func groupHost(t *testing.T) string { return simtest.GroupHost(t) }

var groupRequest = engine.Request{Snapshot: "g1", Zone: "kz1", Options: store.Options{HaltZones: true}}

func TestGroupFaultInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection: not in -short")
	}
	root := groupHost(t)
	before, _ := sim.Calls(root)
	e, _ := newEngine(t, root, engine.Config{})
	op, err := e.Rollback(context.Background(), groupRequest, func(engine.Event) {})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("reference group rollback: %v", err)
	}
	if bad := simtest.CheckGroup(root, simtest.AtSnapshot); len(bad) > 0 {
		t.Fatalf("reference: %v", bad)
	}
	calls, _ := sim.Calls(root)
	seen := map[string]int{}
	var ref []injection
	saga := false
	for _, c := range calls[len(before):] {
		cmd := filepath.Base(c.Argv[0])
		match := strings.Join(append([]string{cmd}, c.Argv[1:]...), " ")
		seen[match]++
		// The captures' reads (twice as many as one volume's) can only
		// refuse the rollback before anything changes, as the single
		// volume's suite shows for each: the saga's commands from the
		// first change on are injected here.
		saga = saga || strings.HasSuffix(match, "-z kz1 shutdown")
		if saga {
			ref = append(ref, injection{cmd: cmd, match: match, nth: seen[match]})
		}
	}
	var injected, consistent atomic.Int64
	t.Cleanup(func() { simtest.Summary("group-fault-injection", int(injected.Load()), int(consistent.Load())) })
	for _, in := range ref {
		for _, v := range []struct {
			action string
			times  int
			stderr string
		}{{sim.ActionFail, 1, ""}, {sim.ActionFailAfter, 1, ""}, {sim.ActionHang, 1, ""},
			// A rollback of the group's second volume failing past the
			// retries, or refused for a reason zfs explains, after the
			// first took effect: finished forward, never undone halfway.
			{sim.ActionFail, 3, ""}, {sim.ActionFail, 1, "cannot rollback 'pool/idisk1': dataset is busy"}} {
			in := in
			if (v.times == 3 || v.stderr != "") && !strings.HasPrefix(in.match, "zfs rollback") {
				continue
			}
			if v.action == sim.ActionFailAfter && isRead(append([]string{in.cmd}, strings.Fields(in.match)[1:]...)) {
				continue // a read that fails after its change is a read that fails
			}
			in.action, in.times = v.action, v.times
			if in.action == sim.ActionHang && !strings.HasPrefix(in.match, "zfs rollback") && !strings.HasPrefix(in.match, "stmfadm delete-lu") {
				// Hangs of the reads and zone commands are the single
				// volume's suite's; here those of the group's window.
				continue
			}
			name := in.String()
			if v.stderr != "" {
				name += " busy"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				injected.Add(1)
				t.Cleanup(func() {
					if !t.Failed() {
						consistent.Add(1)
					}
				})
				root := groupHost(t)
				stderr := v.stderr
				if stderr == "" {
					stderr = in.cmd + ": injected failure"
				}
				if err := sim.AddFault(root, sim.Fault{Command: in.cmd, Match: in.match, Nth: in.nth, Times: in.times,
					Action: in.action, Exit: 1, Stderr: stderr}); err != nil {
					t.Fatal(err)
				}
				timeout := 10 * time.Second
				if in.action == sim.ActionHang {
					timeout = time.Second
				}
				e, _ := newEngine(t, root, engine.Config{Retries: 2, RetryDelay: time.Millisecond, DefaultTimeout: timeout})
				op, err := e.Rollback(context.Background(), groupRequest, func(engine.Event) {})
				simtest.KillHung(root)
				outcome, final := expectOutcome(t, e, op, err, root)
				if bad := simtest.CheckGroup(root, outcome); len(bad) > 0 {
					steps := ""
					if final != nil {
						for _, s := range final.Steps {
							steps += fmt.Sprintf("\n  %s %s %s", s.Name, s.State, s.Error)
						}
					}
					t.Fatalf("inconsistent (%s, op %v): %s%s", outcome, stateOf(final), strings.Join(bad, "; "), steps)
				}
			})
		}
	}
	if !slices.ContainsFunc(ref, func(in injection) bool { return strings.Contains(in.match, "rollback pool/idisk1@g1") }) {
		t.Errorf("the reference run did not roll back pool/idisk1: %v", ref)
	}
}
