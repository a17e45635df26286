package daemon_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/sim"
)

// The crash cases where the old daemon's command outlives it (issue 19,
// "no leftovers"): volctld is killed -9 while a command of the rollback
// is slow (a hang with a delay: it wakes up and acts, as a real stmfadm
// would), the command is NOT killed, and a new volctld starts at once.
// Before its recovery changes anything, the new daemon must see to it that
// no command of the old one still runs (docs/platform/process-fencing.md);
// afterwards the host must be consistent and the old command must not have
// acted after the new daemon's first command.

// actionOutlive is the crash suites' name for that case: a hang with
// outliveDelay, not killed before the restart.
const actionOutlive = "hang, outlives the daemon"

// outliveDelay is how long the old command sleeps before it acts: longer
// than a restart and a recovery take, so that, unfenced, it acts after the
// recovery (the "LU deleted after succeeded").
const outliveDelay = 3 * time.Second

// outliveFault is the fault of a crash case: the action itself, or for
// actionOutlive a hang that ends after outliveDelay.
func outliveFault(f sim.Fault) sim.Fault {
	if f.Action == actionOutlive {
		f.Action, f.Delay = sim.ActionHang, outliveDelay.String()
	}
	return f
}

// checkOutlived waits until no command of the host at root runs any more
// (the old daemon's slow one has acted or was killed), then fails the test
// if the old command ended after the first command the new daemon, started
// at restart, ran: it was running while the recovery changed the host.
func checkOutlived(t *testing.T, root string, restart time.Time, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(outliveDelay + 30*time.Second)
	for commandsRunning(root) {
		if time.Now().After(deadline) {
			t.Fatalf("a command of the host still runs %s after the restart\n%s", time.Since(restart), logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	calls, err := sim.Calls(root)
	if err != nil {
		t.Fatal(err)
	}
	var first time.Time
	for _, c := range calls {
		if !c.Late && c.Start.After(restart) && (first.IsZero() || c.Start.Before(first)) {
			first = c.Start
		}
	}
	for _, c := range calls {
		if c.Late && (first.IsZero() || c.End.After(first)) {
			t.Errorf("the old daemon's command %q ended (exit %d) at %s, after the new daemon's first command at %s: it ran on while the recovery changed the host\n%s",
				strings.Join(c.Argv, " "), c.Exit, c.End.Format("15:04:05.000"), first.Format("15:04:05.000"), logs())
		}
	}
}

// commandsRunning reports whether a simulated command of the host at root
// is alive (a zombie is not: it can do nothing more).
func commandsRunning(root string) bool {
	prefix := []byte(filepath.Join(root, "usr", "sbin") + "/")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		// A zombie's cmdline is empty.
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.HasPrefix(cmdline, prefix) {
			return true
		}
	}
	return false
}
