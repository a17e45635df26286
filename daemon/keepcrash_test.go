package daemon_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volctl/volctl/client"
	"github.com/volctl/volctl/daemon/zfs"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

// A keep rollback and an undo under kill -9 (docs/keep.md): volctld is
// killed while each command of the reference run hangs (before its
// change, after it, and outliving the daemon), started again, and
// recovery alone must bring the host to one side with nothing lost: the
// volume whole at the snapshot with its data from before in one kept
// dataset, or as it was with no kept dataset left; the LU with its
// identity, persisted; kz1 running.

// keepKinds are the operations of the suite: the keep rollback of the
// seed's pool/idisk0 to snap1 (snap2 newer), and the undo of one.
var keepKinds = []string{"keep", "undo"}

// keptTime matches a kept dataset's name up to its time, which differs
// from run to run: a fault's match stops there.
var keptTime = regexp.MustCompile(`\.kept-\d+-`)

func keepPointMatch(match string) string {
	if loc := keptTime.FindStringIndex(match); loc != nil {
		return match[:loc[1]]
	}
	return match
}

// keepCrashHost is crashHost with snapshot snap2 of the data after snap1.
func keepCrashHost(t *testing.T, flavor string) string {
	root := crashHost(t, flavor)
	if out, err := exec.Command(sim.CommandPath(root, "zfs"), "snapshot", "pool/idisk0@snap2").CombinedOutput(); err != nil {
		t.Fatalf("zfs snapshot: %v %s", err, out)
	}
	return root
}

var keepRequest = &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1", Options: &v1.RollbackOptions{HaltZones: true, Keep: true}}

// keepSetupOp prepares kind on the daemon: for an undo, the keep rollback
// it undoes (its id and kept dataset).
func keepSetupOp(t *testing.T, c *client.Client, kind string) (uint64, string) {
	t.Helper()
	if kind != "undo" {
		return 0, ""
	}
	op, err := c.Rollback(context.Background(), keepRequest, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("the keep rollback to undo: %v", err)
	}
	return op.GetId(), keptOf(op)
}

// keptOf is the kept dataset an operation names for pool/idisk0.
func keptOf(op *v1.Operation) string {
	for _, k := range op.GetKept() {
		if k.GetVolume() == "pool/idisk0" {
			return k.GetDataset()
		}
	}
	return ""
}

// keepReferencePoints runs kind cleanly on a host of flavor through a
// daemon and returns its commands from its first change on (with the
// capture's reads of the kept dataset and local properties).
func keepReferencePoints(t *testing.T, flavor, kind string) []point {
	root := keepCrashHost(t, flavor)
	cfg, sock := writeConfig(t, root)
	d := startDaemon(t, cfg, sock)
	c := d.client()
	undone, _ := keepSetupOp(t, c, kind)
	before, _ := sim.Calls(root)
	op, err := runKeepOp(c, kind, undone)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("reference %s: %v", kind, err)
	}
	calls, _ := sim.Calls(root)
	seen := map[string]int{}
	var out []point
	saga := false
	for _, c := range calls[len(before):] {
		cmd := filepath.Base(c.Argv[0])
		full := strings.Join(append([]string{cmd}, c.Argv[1:]...), " ")
		if strings.Contains(full, zfs.ProbePool) {
			// The capability probe: the engine runs it once, at start,
			// and again at the first call only if that failed (a loaded
			// machine's timeout); a crash case cannot count on meeting it.
			continue
		}
		match := keepPointMatch(full)
		seen[match]++
		saga = saga || !isReadCall(full)
		if saga || strings.Contains(full, "volctl:kept") || strings.Contains(full, "-s local") {
			out = append(out, point{cmd, match, seen[match]})
		}
	}
	return out
}

func runKeepOp(c *client.Client, kind string, undone uint64) (*v1.Operation, error) {
	if kind == "undo" {
		return c.Undo(context.Background(), &v1.UndoRequest{OperationId: undone, Options: &v1.RollbackOptions{HaltZones: true}}, nil)
	}
	return c.Rollback(context.Background(), keepRequest, nil)
}

// TestKeepCrashInjection is TestCrashInjection for a keep rollback and an
// undo, each flavor and kind with its own tally.
func TestKeepCrashInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("crash injection: not in -short")
	}
	for _, flavor := range simtest.Flavors() {
		for _, kind := range keepKinds {
			t.Run(flavor+"/"+kind, func(t *testing.T) {
				t.Parallel()
				points := keepReferencePoints(t, flavor, kind)
				var injected, consistent atomic.Int64
				sample := simtest.NewSample()
				t.Cleanup(func() {
					simtest.SampledSummary(fmt.Sprintf("%s-crash-injection[%s]", kind, flavor), int(injected.Load()), int(consistent.Load()), sample)
				})
				for _, p := range points {
					actions := []string{sim.ActionHang, sim.ActionHangAfter}
					if !isReadCall(p.match) {
						actions = append(actions, actionOutlive)
					}
					for _, action := range actions {
						if !sample.Take() {
							continue
						}
						t.Run(fmt.Sprintf("%s #%d %s", p.match, p.nth, action), func(t *testing.T) {
							t.Parallel()
							injected.Add(1)
							t.Cleanup(func() {
								if !t.Failed() {
									consistent.Add(1)
								}
							})
							keepCrashAt(t, flavor, kind, p, action)
						})
					}
				}
			})
		}
	}
}

// keepCrashAt runs kind with the command at p hanging (action), kills -9
// the daemon under it, starts another on the same journal, and checks
// where the host ended.
func keepCrashAt(t *testing.T, flavor, kind string, p point, action string) {
	root := keepCrashHost(t, flavor)
	cfg, sock := writeConfig(t, root)
	d := startDaemon(t, cfg, sock)
	c := d.client()
	undone, keptBy := keepSetupOp(t, c, kind)
	if err := sim.AddFault(root, outliveFault(sim.Fault{Command: p.cmd, Match: p.match, Nth: p.nth, Times: 1, Action: action})); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = runKeepOp(c, kind, undone) }()
	waitHung(t, root, "")
	d.kill()
	if action != actionOutlive {
		simtest.KillHung(root)
	}
	if err := sim.ClearFaults(root); err != nil {
		t.Fatal(err)
	}
	restart := time.Now()
	d2 := startDaemon(t, cfg, sock)
	outcome, own := keepResumed(t, d2.client(), undone)
	if action == actionOutlive {
		checkOutlived(t, root, restart, func() string { s, _ := readLog(cfg); return s })
	}
	before, after := simtest.KeepSides(kind == "undo", keptBy, own)
	side := before
	if outcome == simtest.AtSnapshot {
		side = after
	}
	bad := simtest.CheckKeepSide(root, side, sim.ZoneRunning)
	if len(bad) == 0 {
		bad = simtest.CheckKeepRestart(root, side, sim.ZoneRunning)
	}
	if len(bad) > 0 {
		logb, _ := os.ReadFile(cfg + ".log")
		t.Fatalf("inconsistent after a crash (%s): %s\ndaemon log:\n%s", outcome, strings.Join(bad, "; "), logb)
	}
}

// keepResumed is resumedOutcome for the operation after setup (the one
// the restarted daemon resumed, if it was journaled: none means it died
// in the capture, and nothing changed), with its kept dataset.
func keepResumed(t *testing.T, c *client.Client, setup uint64) (simtest.Outcome, string) {
	t.Helper()
	ops, err := c.Operations.ListOperations(context.Background(), &v1.ListOperationsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var id uint64
	for _, o := range ops.GetOperations() {
		if o.GetId() > setup && o.GetId() > id {
			id = o.GetId()
		}
	}
	if id == 0 {
		return simtest.Untouched, ""
	}
	op := waitTerminal(t, c, id)
	if op.GetState() == v1.OperationState_OPERATION_STATE_NEEDS_ATTENTION {
		if op, err = c.Recover(context.Background(), &v1.RecoverOperationRequest{Id: op.GetId()}, nil); op == nil {
			t.Fatalf("recover: %v", err)
		}
	}
	switch op.GetState() {
	case v1.OperationState_OPERATION_STATE_SUCCEEDED:
		if op.GetRecoveries() == 0 && op.GetError() != "" {
			t.Errorf("succeeded with an error: %s", op.GetError())
		}
		return simtest.AtSnapshot, keptOf(op)
	case v1.OperationState_OPERATION_STATE_ROLLED_BACK:
		return simtest.Untouched, ""
	}
	t.Fatalf("operation ended %s: %s %s", op.GetState(), op.GetError(), op.GetAttention())
	return simtest.Untouched, ""
}
