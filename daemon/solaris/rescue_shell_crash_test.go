package solaris_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/store"
)

// The crash suite of rescue --shell (docs/rescue.md §5): a child process
// (this test binary, re-executed: shellCrashChild) runs a rescue --shell
// and, once it waits, --finish; it is killed with SIGKILL while each
// command of that reference run hangs, before or after its change. A new
// engine on the same journal starts: a rescue killed before it waited
// must be resumed to waiting (never rolled back, never left imported
// without a record), one killed during --finish resumed to its end; a
// waiting one is then finished, one that needs attention recovered, and
// the host must be consistent (checkRescue).

const shellCrashEnv = "VOLCTL_RESCUE_SHELL_CRASH_CHILD" // the host's root

func init() {
	if root := os.Getenv(shellCrashEnv); root != "" {
		os.Exit(shellCrashChild(root, os.Getenv(crashDBEnv)))
	}
}

// shellCrashChild runs the rescue --shell and its --finish until killed.
func shellCrashChild(root, dbPath string) int {
	db, err := store.Open(dbPath, time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e := engine.New(context.Background(), db, rescueBackendAt(root),
		engine.Config{RetryDelay: 10 * time.Millisecond, DefaultTimeout: time.Minute}, nil)
	op, err := e.Rescue(context.Background(), shellRequest, func(engine.Event) {})
	if err != nil || op == nil || op.State != store.OpWaiting {
		fmt.Fprintln(os.Stderr, "rescue --shell:", err)
		return 0
	}
	if _, err := e.Finish(context.Background(), op.ID, "child", func(engine.Event) {}); err != nil {
		fmt.Fprintln(os.Stderr, "finish:", err)
	}
	return 0
}

// shellPoint is a command of the reference run, and whether it ran before
// the rescue waited.
type shellPoint struct {
	injection
	beforeWait bool
}

// shellCalls runs a rescue --shell and its --finish on a fresh host and
// returns their commands in order, counted as the faults count them.
func shellCalls(t *testing.T) []shellPoint {
	root := rescueHost(t)
	e, _, stop := newRescueEngine(t, root, filepath.Join(t.TempDir(), "j.db"), engine.Config{})
	defer stop()
	before, _ := sim.Calls(root)
	op, err := e.Rescue(context.Background(), shellRequest, func(engine.Event) {})
	if err != nil || op.State != store.OpWaiting {
		t.Fatalf("reference rescue --shell: %v", err)
	}
	waited, _ := sim.Calls(root)
	if op, err = e.Finish(context.Background(), op.ID, "ref", func(engine.Event) {}); err != nil || op.State != store.OpSucceeded {
		t.Fatalf("reference finish: %v", err)
	}
	calls, _ := sim.Calls(root)
	seen := map[string]int{}
	var out []shellPoint
	for i, c := range calls[len(before):] {
		cmd := filepath.Base(c.Argv[0])
		match := strings.Join(append([]string{cmd}, c.Argv[1:]...), " ")
		seen[match]++
		out = append(out, shellPoint{injection{cmd: cmd, match: match, nth: seen[match]}, len(before)+i < len(waited)})
	}
	return out
}

// TestRescueShellCrashInjection prints the tally
// "rescue-shell-crash-injection[solaris-11.4] N/N".
func TestRescueShellCrashInjection(t *testing.T) {
	runRescueCrashSuite(t, "rescue-shell-crash-injection", shellCalls,
		func(p *shellPoint) *injection { return &p.injection }, shellCrashAt)
}

func shellCrashAt(t *testing.T, p shellPoint) {
	root := rescueHost(t)
	before := labelOf(t, root)
	dbPath := filepath.Join(t.TempDir(), "j.db")
	killChildWhenHung(t, root, p.injection, shellCrashEnv, dbPath)
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
	if len(ops) == 0 { // it died capturing, before the journal had it
		if !p.beforeWait {
			t.Fatal("no operation in the journal after a crash during --finish")
		}
		checkRescue(t, root, nil, before)
		return
	}
	op, err := e.Operation(ops[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !op.State.Terminal() {
		t.Fatalf("operation %d is %s after the resume", op.ID, op.State)
	}
	if p.beforeWait && op.State != store.OpWaiting {
		t.Errorf("killed before it waited, the rescue --shell resumed to %s (%s), not waiting", op.State, op.Error)
	}
	if op.State == store.OpWaiting {
		checkWaiting(t, root, op)
		if op, err = e.Finish(context.Background(), op.ID, "admin", func(engine.Event) {}); op == nil {
			t.Fatalf("finish after the resume: %v", err)
		}
	}
	if op.State == store.OpRolledBack {
		op = rescueEnd(t, e, op, errors.New(op.Error), root)
	} else {
		op = rescueEnd(t, e, op, nil, root)
	}
	checkRescue(t, root, op, before)
}
