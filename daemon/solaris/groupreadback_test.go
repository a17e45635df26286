package solaris_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// TestGroupReadBackFallsBack: the group's one list-lu -v G1 G2 after its
// imports (importAll) that answers nothing usable (exit 0, no LU listed,
// or a failure) is no answer: each LU is then read alone, and the group
// ends at @g1 as without the fault.
func TestGroupReadBackFallsBack(t *testing.T) {
	for _, action := range []string{sim.ActionExit0Noop, sim.ActionFail} {
		t.Run(action, func(t *testing.T) {
			root := groupHost(t)
			batched := "list-lu -v " + sim.SeedGUID0 + " " + sim.SeedGUID1
			if err := sim.AddFault(root, sim.Fault{Command: "stmfadm", Match: batched, Action: action, Times: 1}); err != nil {
				t.Fatal(err)
			}
			e, _ := newEngine(t, root, engine.Config{})
			before, _ := sim.Calls(root)
			op, err := e.Rollback(context.Background(), groupRequest, func(engine.Event) {})
			if err != nil || op.State != store.OpSucceeded {
				t.Fatalf("group rollback: %v (%v)", err, op)
			}
			if bad := simtest.CheckGroup(root, simtest.AtSnapshot); len(bad) > 0 {
				t.Fatal(bad)
			}
			calls, _ := sim.Calls(root)
			var faulted, alone int
			for _, c := range calls[len(before):] {
				line := strings.Join(append([]string{filepath.Base(c.Argv[0])}, c.Argv[1:]...), " ")
				switch {
				case strings.HasSuffix(line, batched) && c.Fault == action:
					faulted++
				case faulted > 0 && (line == "stmfadm list-lu -v "+sim.SeedGUID0 || line == "stmfadm list-lu -v "+sim.SeedGUID1):
					alone++
				}
			}
			if faulted != 1 || alone < 2 {
				t.Errorf("the batched read faulted %d times, then %d LUs were read alone; want 1, then both", faulted, alone)
			}
		})
	}
}
