package solaris_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// The rescue's crash suite (issue 23 item 4): the rescue runs in a child
// process (this test binary, re-executed: rescueCrashChild), which is
// killed with SIGKILL while each command of a clean rescue hangs, before
// or after its change; a new engine on the same journal resumes it
// (Start), recovers it once if it needs attention, and the host must be
// consistent (checkRescue).

const (
	crashChildEnv = "VOLCTL_RESCUE_CRASH_CHILD" // the host's root
	crashDBEnv    = "VOLCTL_RESCUE_CRASH_DB"
)

func init() {
	if root := os.Getenv(crashChildEnv); root != "" {
		os.Exit(rescueCrashChild(root, os.Getenv(crashDBEnv)))
	}
}

// rescueCrashChild runs the rescue until it is killed (or ends).
func rescueCrashChild(root, dbPath string) int {
	db, err := store.Open(dbPath, time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e := engine.New(context.Background(), db, rescueBackendAt(root),
		engine.Config{RetryDelay: 10 * time.Millisecond, DefaultTimeout: time.Minute}, nil)
	if _, err := e.Rescue(context.Background(), rescueRequest, func(engine.Event) {}); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return 0
}

// TestRescueCrashInjection prints the tally
// "rescue-crash-injection[solaris-11.4] N/N".
func TestRescueCrashInjection(t *testing.T) {
	runRescueCrashSuite(t, "rescue-crash-injection", func(t *testing.T) []injection { return rescueCalls(t) },
		func(p *injection) *injection { return p }, rescueCrashAt)
}

// runRescueCrashSuite runs at for each of the points and both hang actions
// (a fixed sample of them in make test) in parallel, and prints the tally
// NAME[solaris-11.4]. inj gives a point's injection, whose action it sets.
func runRescueCrashSuite[P any](t *testing.T, name string, points func(*testing.T) []P, inj func(*P) *injection, at func(*testing.T, P)) {
	if testing.Short() {
		t.Skip("crash injection: not in -short")
	}
	flavor := sim.FlavorSolaris
	t.Run(flavor, func(t *testing.T) {
		ps := points(t)
		var injected, consistent atomic.Int64
		sample := simtest.NewSample() // make test: 1 in VOLCTL_FAULT_SAMPLE
		t.Cleanup(func() {
			simtest.SampledSummary(name+"["+flavor+"]", int(injected.Load()), int(consistent.Load()), sample)
		})
		for _, p := range ps {
			for _, action := range []string{sim.ActionHang, sim.ActionHangAfter} {
				if !sample.Take() {
					continue
				}
				in := p
				i := inj(&in)
				i.action = action
				t.Run(fmt.Sprintf("%s #%d %s", i.match, i.nth, action), func(t *testing.T) {
					t.Parallel()
					injected.Add(1)
					t.Cleanup(func() {
						if !t.Failed() {
							consistent.Add(1)
						}
					})
					at(t, in)
				})
			}
		}
	})
}

func rescueCrashAt(t *testing.T, p injection) {
	root := rescueHost(t)
	before := labelOf(t, root)
	dbPath := filepath.Join(t.TempDir(), "j.db")
	killChildWhenHung(t, root, p, crashChildEnv, dbPath)
	e, _, stop := newRescueEngine(t, root, dbPath, engine.Config{})
	defer stop()
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	e.Wait()
	ops, _, err := e.Operations(0, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var op *store.Operation
	if len(ops) > 0 { // none: it died capturing, before the journal had it
		if op, err = e.Operation(ops[0].ID); err != nil {
			t.Fatal(err)
		}
		if !op.State.Terminal() {
			t.Fatalf("operation %d is %s after the resume", op.ID, op.State)
		}
	}
	if op != nil && op.State == store.OpRolledBack {
		// A resumed rescue that went back has no caller to tell; its
		// Error says why.
		if op.Error == "" {
			t.Error("rolled_back without saying why")
		}
		op = rescueEnd(t, e, op, errors.New(op.Error), root)
	} else if op != nil {
		op = rescueEnd(t, e, op, nil, root)
	}
	checkRescue(t, root, op, before)
}

// hangs reports whether a command on the host hangs on its fault.
func hangs(root string) bool {
	calls, _ := sim.Calls(root)
	for _, c := range calls {
		if c.Exit == -1 && c.Fault != "" {
			return true
		}
	}
	return false
}

// killChildWhenHung adds p's fault to the host at root, starts this test
// binary as a child that runs the rescue there (env names which: the
// child's TestMain reads it) with its journal at dbPath, kills it with
// SIGKILL once the faulted command hangs, and clears the host of the hung
// command and the fault.
func killChildWhenHung(t *testing.T, root string, p injection, env, dbPath string) {
	t.Helper()
	if err := sim.AddFault(root, sim.Fault{Command: p.cmd, Match: p.match, Nth: p.nth, Times: 1, Action: p.action}); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), env+"="+root, crashDBEnv+"="+dbPath)
	logPath := filepath.Join(t.TempDir(), "child.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	child.Stdout, child.Stderr = logf, logf
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !hangs(root) {
		if time.Now().After(deadline) {
			_ = child.Process.Kill()
			_ = child.Wait()
			b, _ := os.ReadFile(logPath)
			t.Fatalf("the command never hung; the child said:\n%s", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = child.Process.Kill() // SIGKILL
	_ = child.Wait()
	simtest.KillHung(root)
	if err := sim.ClearFaults(root); err != nil {
		t.Fatal(err)
	}
}
