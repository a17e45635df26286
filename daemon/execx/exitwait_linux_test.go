//go:build linux

package execx

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// procState is the state letter /proc/PID/stat shows (Z: exited, not
// reaped).
func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) STATE ...: comm may hold spaces, so after the last ')'.
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

// awaitExit returns once the process has exited and leaves it for Wait
// to reap, with its exit status.
func TestAwaitExit(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.2; exit 3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if st := procState(t, pid); st == "Z" {
		t.Fatalf("the process ended before the test could see it run (state %s)", st)
	}
	awaitExit(pid)
	if st := procState(t, pid); st != "Z" {
		t.Errorf("after awaitExit the process is in state %s, want Z (exited, not reaped)", st)
	}
	err := cmd.Wait()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 3 {
		t.Fatalf("Wait: %v, exit %v; want exit status 3", err, cmd.ProcessState)
	}
}
