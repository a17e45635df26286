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
