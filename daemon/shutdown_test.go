package daemon_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// TestGracefulShutdownStopsAtStepBoundary sends SIGTERM while delete-lu is
// running: the command finishes, the operation goes on to close the outage
// window (rollback, import-lu) and stops at the next boundary outside it,
// and the next start resumes it to success.
func TestGracefulShutdownStopsAtStepBoundary(t *testing.T) {
	root := simtest.Host(t)
	if err := sim.SetLatency(root, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	cfg, sock := writeConfig(t, root)
	d := startDaemon(t, cfg, sock)
	c := d.client()
	go func() {
		_, _ = c.Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1"}, nil)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Operations.GetOperation(context.Background(), &v1.GetOperationRequest{Id: 1})
		if err == nil && stepState(resp.GetOperation(), "delete-lu") == v1.StepState_STEP_STATE_RUNNING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("delete-lu never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Wait(); err != nil {
		t.Fatalf("volctld exit after SIGTERM: %v", err)
	}
	// The journal shows where it stopped: the window closed, the rest left.
	db, err := store.Open(filepath.Join(filepath.Dir(cfg), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := db.GetOperation(1)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, st := range stopped.Steps {
		states = append(states, st.Name+"="+string(st.State))
	}
	if stopped.State != store.OpRunning || !slices.Contains(states, "import-lu=done") || !slices.Contains(states, "verify=pending") {
		t.Fatalf("after SIGTERM the journal says %s: %v", stopped.State, states)
	}
	if err := sim.SetLatency(root, 0); err != nil {
		t.Fatal(err)
	}
	d2 := startDaemon(t, cfg, sock)
	c2 := d2.client()
	op := waitTerminal(t, c2, 1)
	if got := op.GetState(); got != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("resumed operation is %s: %s", got, op.GetError())
	}
	// Every window command ran once, to its end: nothing was interrupted
	// and nothing was redone after the restart.
	calls, _ := sim.Calls(root)
	count := map[string]int{}
	for _, call := range calls {
		// The window's commands, with their operand (the capability probe
		// runs delete-lu -k without one, which deletes nothing).
		if len(call.Argv) > 2 && slices.Contains([]string{"delete-lu", "rollback", "import-lu"}, call.Argv[1]) &&
			!strings.HasPrefix(call.Argv[len(call.Argv)-1], "-") {
			count[call.Argv[1]]++
			if call.Exit != 0 {
				t.Errorf("%v exited %d", call.Argv, call.Exit)
			}
		}
	}
	for _, verb := range []string{"delete-lu", "rollback", "import-lu"} {
		if count[verb] != 1 {
			t.Errorf("%s ran %d times, want 1", verb, count[verb])
		}
	}
	if resp, _ := c2.Operations.GetOperation(context.Background(), &v1.GetOperationRequest{Id: 1}); resp.GetOperation().GetRecoveries() != 0 {
		t.Error("a resume is not a recover")
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}

func stepState(op *v1.Operation, name string) v1.StepState {
	for _, s := range op.GetSteps() {
		if s.GetName() == name {
			return s.GetState()
		}
	}
	return v1.StepState_STEP_STATE_UNSPECIFIED
}
