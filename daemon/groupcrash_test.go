package daemon_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

var groupReq = &v1.RollbackRequest{Snapshot: "g1", Zone: "kz1", Options: &v1.RollbackOptions{HaltZones: true}}

// TestGroupCrashInjection kills volctld with SIGKILL while each command
// of a group rollback that changes something (kz1's two disks,
// simtest.GroupHost) hangs, before or after its change; a new volctld
// resumes it from the journal, and the group must end on one side.
func TestGroupCrashInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("crash injection: not in -short")
	}
	root := simtest.GroupHost(t)
	cfg, sock := writeConfig(t, root)
	d := startDaemon(t, cfg, sock)
	before, _ := sim.Calls(root)
	op, err := d.client().Rollback(context.Background(), groupReq, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("reference group rollback: %v", err)
	}
	calls, _ := sim.Calls(root)
	points := pointsOf(calls[len(before):], "-z kz1 shutdown")
	var injected, consistent atomic.Int64
	t.Cleanup(func() { simtest.Summary("group-crash-injection", int(injected.Load()), int(consistent.Load())) })
	for _, p := range points {
		// A crash during a read outside the window is the single
		// volume's suite's (TestCrashInjection): here the group's changes,
		// before and after each.
		if isReadCall(p.match) {
			continue
		}
		for _, action := range []string{sim.ActionHang, sim.ActionHangAfter, actionOutlive} {
			t.Run(fmt.Sprintf("%s #%d %s", p.match, p.nth, action), func(t *testing.T) {
				t.Parallel()
				injected.Add(1)
				t.Cleanup(func() {
					if !t.Failed() {
						consistent.Add(1)
					}
				})
				groupCrashAt(t, p, action)
			})
		}
	}
	// pool/idisk1's rollback fails for good after pool/idisk0's took
	// effect: a crash while the LUs are brought back for the operation to
	// wait (parking), and while recover, the cause gone, rolls it forward
	// (recovering).
	parking, recovering := groupParkPoints(t)
	for _, c := range []struct {
		name   string
		points []point
		crash  func(t *testing.T, p point, action string)
	}{{"parking", parking, groupCrashParking}, {"recovering", recovering, groupCrashRecovering}} {
		for _, p := range c.points {
			for _, action := range []string{sim.ActionHang, sim.ActionHangAfter} {
				t.Run(fmt.Sprintf("%s/%s #%d %s", c.name, p.match, p.nth, action), func(t *testing.T) {
					t.Parallel()
					injected.Add(1)
					t.Cleanup(func() {
						if !t.Failed() {
							consistent.Add(1)
						}
					})
					c.crash(t, p, action)
				})
			}
		}
	}
}

// groupHalfDone fails pool/idisk1's rollback for good, with a reason zfs
// does not give.
var groupHalfDone = sim.Fault{Command: "zfs", Match: "zfs rollback pool/idisk1@g1", Action: sim.ActionFail, Exit: 1,
	Stderr: "internal error: Input/output error"}

// groupParkPoints runs the group rollback with groupHalfDone (it must
// stop needing attention), then recovers it with the fault cleared (it
// must succeed), and returns the changes of each: the park's (after the
// last failed rollback) and the recover's.
func groupParkPoints(t *testing.T) (parking, recovering []point) {
	root := simtest.GroupHost(t)
	if err := sim.AddFault(root, groupHalfDone); err != nil {
		t.Fatal(err)
	}
	cfg, sock := writeConfig(t, root)
	d := startDaemon(t, cfg, sock)
	c := d.client()
	before := len(calls(t, root))
	op, _ := c.Rollback(context.Background(), groupReq, nil)
	if op.GetState() != v1.OperationState_OPERATION_STATE_NEEDS_ATTENTION {
		t.Fatalf("half-done group rollback: %s, want needs_attention", op.GetState())
	}
	all := calls(t, root)
	parking = changesAfterFault(all[before:])
	if err := sim.ClearFaults(root); err != nil {
		t.Fatal(err)
	}
	op, err := c.Recover(context.Background(), &v1.RecoverOperationRequest{Id: op.GetId()}, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("recover: %v (%s)", err, op.GetState())
	}
	for _, p := range pointsOf(calls(t, root), "") {
		if p.nth > countMatch(all, p.match) && !isReadCall(p.match) {
			recovering = append(recovering, p)
		}
	}
	if len(parking) == 0 || len(recovering) == 0 {
		t.Fatalf("no points: parking %v, recovering %v", parking, recovering)
	}
	return parking, recovering
}

// countMatch counts the calls whose "cmd args" is match.
func countMatch(cs []sim.Call, match string) int {
	n := 0
	for _, p := range pointsOf(cs, "") {
		if p.match == match {
			n++
		}
	}
	return n
}

// groupCrashParking: a crash while the half-done group's LUs are brought
// back. The restarted volctld resumes the operation forward (the cause is
// gone with the faults), recovering it once if it needs attention.
func groupCrashParking(t *testing.T, p point, action string) {
	root := simtest.GroupHost(t)
	outcome, cfg := crashAndResumeWith(t, root, []sim.Fault{groupHalfDone}, p, action, groupReq)
	if bad := simtest.CheckGroup(root, outcome); len(bad) > 0 {
		logb, _ := readLog(cfg)
		t.Fatalf("inconsistent after a crash (%s): %s\n%s", outcome, strings.Join(bad, "; "), logb)
	}
}

// groupCrashRecovering: the half-done group waits with its LUs back; the
// cause is fixed and recover runs; volctld is killed during one of
// recover's changes; a new one resumes it.
func groupCrashRecovering(t *testing.T, p point, action string) {
	root := simtest.GroupHost(t)
	if err := sim.AddFault(root, groupHalfDone); err != nil {
		t.Fatal(err)
	}
	cfg, sock := writeConfig(t, root)
	d := startDaemon(t, cfg, sock)
	c := d.client()
	op, _ := c.Rollback(context.Background(), groupReq, nil)
	if op.GetState() != v1.OperationState_OPERATION_STATE_NEEDS_ATTENTION {
		t.Fatalf("half-done group rollback: %s, want needs_attention", op.GetState())
	}
	if err := sim.ClearFaults(root); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddFault(root, sim.Fault{Command: p.cmd, Match: p.match, Nth: p.nth - countMatch(calls(t, root), p.match), Times: 1, Action: action}); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = c.Recover(context.Background(), &v1.RecoverOperationRequest{Id: op.GetId()}, nil) }()
	waitHung(t, root, "")
	d.kill()
	simtest.KillHung(root)
	if err := sim.ClearFaults(root); err != nil {
		t.Fatal(err)
	}
	d2 := startDaemon(t, cfg, sock)
	outcome := resumedOutcome(t, d2.client())
	if bad := simtest.CheckGroup(root, outcome); len(bad) > 0 {
		logb, _ := readLog(cfg)
		t.Fatalf("inconsistent after a crash in recover (%s): %s\n%s", outcome, strings.Join(bad, "; "), logb)
	}
}

// isReadCall: a command that changes nothing (a hang after its change is
// a hang before it).
func isReadCall(match string) bool {
	f := strings.Fields(match)
	if len(f) < 2 {
		return true // hostid
	}
	verb := f[1]
	if len(f) > 3 && f[1] == "-z" {
		verb = f[3]
	}
	switch verb {
	case "list", "get", "list-lu", "list-view", "history", "list-target", "list-hg", "list-tg":
		return true
	}
	return false
}

func groupCrashAt(t *testing.T, p point, action string) {
	root := simtest.GroupHost(t)
	outcome, cfg := crashAndResume(t, root, p, action, groupReq)
	if bad := simtest.CheckGroup(root, outcome); len(bad) > 0 {
		logb, _ := readLog(cfg)
		t.Fatalf("inconsistent after a crash (%s): %s\n%s", outcome, strings.Join(bad, "; "), logb)
	}
}

func readLog(cfg string) (string, error) {
	b, err := os.ReadFile(cfg + ".log")
	return string(b), err
}
