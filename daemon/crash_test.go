package daemon_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/volctl/volctl/client"
	"github.com/volctl/volctl/daemon/bootcheck/bootchecktest"
	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	simtest.Cleanup()
	os.Exit(code)
}

// daemon is a volctld process on a simulated host.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	socket string
	config string
	log    *os.File
}

// writeConfig writes a configuration for the host at root; commands get a
// long deadline so that a hung command is still running when the test kills
// the daemon.
func writeConfig(t *testing.T, root string) (config, socket string) {
	return writeConfigWith(t, root, "", "")
}

// writeConfigWith adds top-level keys (top) and tables (tables, after the
// others) to the configuration.
func writeConfigWith(t *testing.T, root, top, tables string) (config, socket string) {
	if top != "" && !strings.HasSuffix(top, "\n") {
		top += "\n"
	}
	if !strings.Contains(top, "initiators") {
		// The seed host's own initiator: kz1 boots from the LU over
		// iSCSI loopback.
		top += "initiators = [\"" + sim.SeedInitiator + "\"]\n"
	}
	if !strings.Contains(top, "zvol_device_dir") {
		// check-boot reads the host's disk images (one that boots for
		// each volume that has none yet).
		top += fmt.Sprintf("zvol_device_dir = %q\n", bootchecktest.SimDir(root))
		if err := bootchecktest.EnsureSimImages(root); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(tables, "[roles]") {
		// Whoever runs the tests operates this daemon.
		tables += fmt.Sprintf("[roles]\noperator_uids = [%d]\n", os.Getuid())
	}
	sockDir, err := os.MkdirTemp("", "vc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	socket = filepath.Join(sockDir, "s")
	dir := t.TempDir()
	config = filepath.Join(dir, "volctld.toml")
	cfg := fmt.Sprintf(`platform = "solaris"
socket = %q
db = %q
retry_delay = "10ms"
`+top+`
[timeouts]
default = "5m"
[commands]
zfs = %q
zpool = %q
stmfadm = %q
zoneadm = %q
zonecfg = %q
hostid = %q
`+tables, socket, filepath.Join(dir, "journal.db"), sim.CommandPath(root, "zfs"), sim.CommandPath(root, "zpool"), sim.CommandPath(root, "stmfadm"),
		sim.CommandPath(root, "zoneadm"), sim.CommandPath(root, "zonecfg"), sim.CommandPath(root, "hostid"))
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return config, socket
}

func startDaemon(t *testing.T, config, socket string) *daemon {
	t.Helper()
	bin := simtest.Build(t)
	logf, err := os.OpenFile(config+".log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, socket: socket, config: config, log: logf,
		cmd: exec.Command(filepath.Join(bin, "volctld"), "-config", config, "-log-level", "debug")}
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.kill(); logf.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := client.Dial(socket); err == nil {
			_, err = c.Operations.ListOperations(context.Background(), &v1.ListOperationsRequest{})
			c.Close()
			if err == nil {
				return d
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.kill()
	out, _ := os.ReadFile(config + ".log")
	t.Fatalf("volctld did not come up:\n%s", out)
	return nil
}

// kill is kill -9.
func (d *daemon) kill() {
	if d.cmd.Process != nil && d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Signal(syscall.SIGKILL)
		_ = d.cmd.Wait()
	}
}

func (d *daemon) client() *client.Client {
	c, err := client.Dial(d.socket)
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { c.Close() })
	return c
}

// waitTerminal polls the journal until the operation is terminal.
func waitTerminal(t *testing.T, c *client.Client, id uint64) *v1.Operation {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Operations.GetOperation(context.Background(), &v1.GetOperationRequest{Id: id})
		if err == nil {
			switch resp.GetOperation().GetState() {
			case v1.OperationState_OPERATION_STATE_SUCCEEDED, v1.OperationState_OPERATION_STATE_ROLLED_BACK,
				v1.OperationState_OPERATION_STATE_NEEDS_ATTENTION:
				return resp.GetOperation()
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("operation %d did not finish after the restart", id)
	return nil
}

type point struct {
	cmd, match string
	nth        int
}

// crashHost seeds a host of flavor for the crash runs: on Solaris with kz1
// running (the rollback shuts it down and boots it again); illumos has no
// kernel zones (docs/platform/zones.md §1), so there the zone steps are not in
// the plan.
func crashHost(t *testing.T, flavor string) string {
	root := simtest.HostFlavor(t, flavor)
	if simtest.KernelZones(flavor) {
		bootZone(t, root)
	}
	return root
}

// referencePoints runs a clean rollback through a daemon on a host of
// flavor and returns each command it ran, with its occurrence number.
func referencePoints(t *testing.T, flavor string) []point {
	root := crashHost(t, flavor)
	cfg, sock := writeConfig(t, root)
	d := startDaemon(t, cfg, sock)
	before, _ := sim.Calls(root)
	op, err := d.client().Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1",
		Options: &v1.RollbackOptions{HaltZones: true}}, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("reference rollback: %v", err)
	}
	calls, _ := sim.Calls(root)
	return pointsOf(calls[len(before):], "")
}

// pointsOf names each call by command, "cmd args" and occurrence number,
// keeping those from the first whose "cmd args" ends with from on ("" for
// all; the occurrences count every call).
func pointsOf(calls []sim.Call, from string) []point {
	seen := map[string]int{}
	var out []point
	keep := from == ""
	for _, c := range calls {
		cmd := filepath.Base(c.Argv[0])
		match := strings.Join(append([]string{cmd}, c.Argv[1:]...), " ")
		seen[match]++
		keep = keep || strings.HasSuffix(match, from)
		if keep {
			out = append(out, point{cmd, match, seen[match]})
		}
	}
	return out
}

// resumedOutcome is where the operation a restarted volctld resumed
// ended: it waits for it, recovers it once if it needs attention, and
// maps its state to the side the host must be on (no operation: it died
// while capturing, before the intent was journaled, so nothing changed).
func resumedOutcome(t *testing.T, c *client.Client) simtest.Outcome {
	t.Helper()
	ops, err := c.Operations.ListOperations(context.Background(), &v1.ListOperationsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops.GetOperations()) == 0 {
		return simtest.Untouched
	}
	op := waitTerminal(t, c, ops.GetOperations()[0].GetId())
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
		return simtest.AtSnapshot
	case v1.OperationState_OPERATION_STATE_ROLLED_BACK:
		return simtest.Untouched
	}
	t.Fatalf("operation ended %s: %s %s", op.GetState(), op.GetError(), op.GetAttention())
	return simtest.Untouched
}

func bootZone(t *testing.T, root string) {
	t.Helper()
	if out, err := exec.Command(sim.CommandPath(root, "zoneadm"), "-z", "kz1", "boot").CombinedOutput(); err != nil {
		t.Fatalf("boot kz1: %v %s", err, out)
	}
}

// TestCrashInjection kills volctld with SIGKILL while each command of a
// rollback is running (hung before or after its change), starts it again,
// and checks that recovery alone brings the host to a consistent state, one
// that an stmf restart keeps. It runs on every flavor, each with its own
// reference run and tally; every case has its own host, journal and
// daemons, so the cases (and the flavors) run in parallel.
func TestCrashInjection(t *testing.T) {
	if testing.Short() {
		t.Skip("crash injection: not in -short")
	}
	for _, flavor := range simtest.Flavors() {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			points := referencePoints(t, flavor)
			var injected, consistent atomic.Int64
			// Cleanup runs once every case (a parallel subtest) is done.
			t.Cleanup(func() {
				simtest.Summary("crash-injection["+flavor+"]", int(injected.Load()), int(consistent.Load()))
			})
			for _, p := range points {
				actions := []string{sim.ActionHang, sim.ActionHangAfter}
				if !isReadCall(p.match) {
					// A read that runs on changes nothing.
					actions = append(actions, actionOutlive)
				}
				for _, action := range actions {
					t.Run(fmt.Sprintf("%s #%d %s", p.match, p.nth, action), func(t *testing.T) {
						t.Parallel()
						injected.Add(1)
						t.Cleanup(func() {
							if !t.Failed() {
								consistent.Add(1)
							}
						})
						crashAt(t, flavor, p, action)
					})
				}
			}
			// delete-lu fails on every attempt after dropping the LU from
			// STMF's store (docs/platform/comstar-delete-lu.md): a crash
			// in each change of the undo that re-persists it.
			for _, p := range undoPoints(t, flavor, repersistFault) {
				for _, action := range []string{sim.ActionHang, sim.ActionHangAfter} {
					t.Run(fmt.Sprintf("repersisting/%s #%d %s", p.match, p.nth, action), func(t *testing.T) {
						t.Parallel()
						injected.Add(1)
						t.Cleanup(func() {
							if !t.Failed() {
								consistent.Add(1)
							}
						})
						crashAtWith(t, flavor, []sim.Fault{repersistFault}, p, action)
					})
				}
			}
		})
	}
}

// repersistFault makes the first four delete-lu of the seed's LU fail
// after libstmf dropped it from its store (the daemon's default retries:
// 3, so four attempts): the saga goes backward and re-persists it.
var repersistFault = sim.Fault{Command: "stmfadm", Match: "delete-lu -k " + sim.SeedGUID0, Times: 4,
	Action: sim.ActionFailPartway, Exit: 1, Stderr: "stmfadm: unknown error"}

// undoPoints runs a rollback with pre through a daemon on a host of
// flavor (it must end rolled_back) and returns the calls that change
// something after the last one pre failed.
func undoPoints(t *testing.T, flavor string, pre sim.Fault) []point {
	root := crashHost(t, flavor)
	if err := sim.AddFault(root, pre); err != nil {
		t.Fatal(err)
	}
	cfg, sock := writeConfig(t, root)
	d := startDaemon(t, cfg, sock)
	before, _ := sim.Calls(root)
	op, _ := d.client().Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1",
		Options: &v1.RollbackOptions{HaltZones: true}}, nil)
	if op.GetState() != v1.OperationState_OPERATION_STATE_ROLLED_BACK {
		t.Fatalf("reference rollback with %+v: %s, want rolled_back", pre, op.GetState())
	}
	return changesAfterFault(calls(t, root)[len(before):])
}

func calls(t *testing.T, root string) []sim.Call {
	c, err := sim.Calls(root)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// changesAfterFault is pointsOf for the calls after the last one a fault
// failed, keeping those that change something.
func changesAfterFault(cs []sim.Call) []point {
	last := -1
	for i, c := range cs {
		if c.Fault != "" {
			last = i
		}
	}
	var out []point
	for _, p := range pointsOf(cs, "")[last+1:] {
		if !isReadCall(p.match) {
			out = append(out, p)
		}
	}
	return out
}

func crashAt(t *testing.T, flavor string, p point, action string) {
	crashAtWith(t, flavor, nil, p, action)
}

// crashAtWith is crashAt with the faults pre in place first.
func crashAtWith(t *testing.T, flavor string, pre []sim.Fault, p point, action string) {
	root := crashHost(t, flavor)
	outcome, cfg := crashAndResumeWith(t, root, pre, p, action, &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1",
		Options: &v1.RollbackOptions{HaltZones: true}})
	t.Logf("recovered to: %s", outcome)
	bad := simtest.CheckZone(root, outcome, sim.ZoneRunning)
	if len(bad) == 0 {
		// What is online must also be what STMF brings back.
		bad = simtest.CheckRestart(root, outcome, sim.ZoneRunning)
	}
	if len(bad) > 0 {
		logb, _ := os.ReadFile(cfg + ".log")
		t.Fatalf("inconsistent after a crash (%s): %s\ndaemon log:\n%s", outcome, strings.Join(bad, "; "), logb)
	}
}

// crashAndResume starts volctld on the host at root, sends req with the
// command at p hanging (action), kills -9 the daemon under it, kills the
// hung command (not for actionOutlive), clears the fault, starts a new
// volctld on the same journal and returns where the operation it resumed
// ended (resumedOutcome), and the configuration. For actionOutlive it
// checks that the old command did not run on into the recovery.
func crashAndResume(t *testing.T, root string, p point, action string, req *v1.RollbackRequest) (simtest.Outcome, string) {
	t.Helper()
	return crashAndResumeWith(t, root, nil, p, action, req)
}

// crashAndResumeWith is crashAndResume with the faults pre in place
// first (the run to crash in is one that fails, e.g. compensating).
func crashAndResumeWith(t *testing.T, root string, pre []sim.Fault, p point, action string, req *v1.RollbackRequest) (simtest.Outcome, string) {
	t.Helper()
	for _, f := range append(pre, outliveFault(sim.Fault{Command: p.cmd, Match: p.match, Nth: p.nth, Times: 1, Action: action})) {
		if err := sim.AddFault(root, f); err != nil {
			t.Fatal(err)
		}
	}
	cfg, sock := writeConfig(t, root)
	d := startDaemon(t, cfg, sock)
	c := d.client()
	go func() { _, _ = c.Rollback(context.Background(), req, nil) }()
	// Wait until the command hangs, then kill -9 the daemon under it.
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
	outcome := resumedOutcome(t, d2.client())
	if action == actionOutlive {
		checkOutlived(t, root, restart, func() string { s, _ := readLog(cfg); return s })
	}
	return outcome, cfg
}

// waitHung waits until a command on the host at root hangs on its fault;
// logs is printed if it never does.
func waitHung(t *testing.T, root, logs string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !hung(root) {
		if time.Now().After(deadline) {
			t.Fatalf("the command never hung\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hung(root string) bool {
	calls, _ := sim.Calls(root)
	for _, c := range calls {
		if c.Exit == -1 && c.Fault != "" {
			return true
		}
	}
	return false
}
