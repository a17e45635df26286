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

const groupAfter = " after g1"

// groupHost is the group scenario before the rollback.
func groupHost(t *testing.T) string {
	root := twoDiskZone(t, true)
	e, _ := newEngine(t, root, engine.Config{})
	snapZone(t, e, "g1")
	for _, v := range []string{"pool/idisk0", "pool/idisk1"} {
		if err := sim.WriteData(root, v, []byte(v+groupAfter)); err != nil {
			t.Fatal(err)
		}
	}
	host(t, root, "zoneadm", "-z", "kz1", "boot")
	return root
}

var groupRequest = engine.Request{Snapshot: "g1", Zone: "kz1", Options: store.Options{HaltZones: true}}

// checkGroup lists what is inconsistent about the group after an
// operation that ended at want.
func checkGroup(root string, want simtest.Outcome) []string {
	st, err := sim.Load(root)
	if err != nil {
		return []string{err.Error()}
	}
	var bad []string
	for _, v := range []struct{ vol, guid string }{{"pool/idisk0", sim.SeedGUID0}, {"pool/idisk1", sim.SeedGUID1}} {
		d := st.Zvol(v.vol)
		if d == nil {
			bad = append(bad, v.vol+" is gone")
			continue
		}
		after := string(d.Data) == v.vol+groupAfter
		if after != (want == simtest.Untouched) {
			bad = append(bad, fmt.Sprintf("%s holds %q, want it %s", v.vol, d.Data, want))
		}
		if d.Snapshot("g1") == nil {
			bad = append(bad, v.vol+"@g1 is gone")
		}
		lu := st.LU(v.guid)
		if lu == nil || lu.State != "Online" {
			bad = append(bad, "LU "+v.guid+" is not online")
		}
		if persisted, _ := simtest.Persisted(root, v.guid, "/dev/zvol/rdsk/"+v.vol); !persisted {
			bad = append(bad, "LU "+v.guid+" is not persisted")
		}
	}
	if n := len(st.Views(sim.SeedGUID0)); n != 2 {
		bad = append(bad, fmt.Sprintf("LU %s has %d views, want 2", sim.SeedGUID0, n))
	}
	if n := len(st.Views(sim.SeedGUID1)); n != 1 {
		bad = append(bad, fmt.Sprintf("LU %s has %d views, want 1", sim.SeedGUID1, n))
	}
	z := st.Zone("kz1")
	if d := st.Zvol("pool/idisk0"); z == nil || z.State != sim.ZoneRunning || d == nil || d.HostData == nil || d.HostData.KeyID != z.Key {
		bad = append(bad, "kz1 is not running from a disk its key reads")
	}
	return bad
}

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
	if bad := checkGroup(root, simtest.AtSnapshot); len(bad) > 0 {
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
			if in.action == sim.ActionHang && !strings.HasPrefix(in.match, "zfs rollback") && !strings.HasPrefix(in.match, "stmfadm") {
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
				if bad := checkGroup(root, outcome); len(bad) > 0 {
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
