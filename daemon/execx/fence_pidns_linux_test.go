package execx

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestFenceInPIDNamespace runs the fence tests again inside a new PID
// namespace, where this process's session leader is outside and /proc and
// getsid(2) give its session as 0 (docs/platform/process-fencing.md §2).
// A container runs volctld so (CI does), and a record with session 0 once
// made every later start refuse: this is the test that would have caught it.
func TestFenceInPIDNamespace(t *testing.T) {
	if os.Getenv("VOLCTL_IN_PIDNS") == "1" {
		t.Skip("already inside the PID namespace")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIP (loud): not root: a new PID namespace needs root; the fence's session-0 case is not run")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatalf("unshare (util-linux) not found as root: %v", err)
	}
	cmd := exec.Command(unshare, "--pid", "--fork", "--mount-proc", os.Args[0],
		"-test.run", "^(TestFence|TestFenceRefuses|TestRunRecords|TestFenceAfterCrash|TestSessionZeroRecorded)$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "VOLCTL_IN_PIDNS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the fence tests inside a new PID namespace: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestSessionZeroRecorded") {
		t.Fatalf("inside the namespace, the session-0 check did not run:\n%s", out)
	}
}

// TestSessionZeroRecorded checks, inside the namespace, that the case is
// the one meant: this process's session is 0, and a record written with it
// reads back.
func TestSessionZeroRecorded(t *testing.T) {
	if os.Getenv("VOLCTL_IN_PIDNS") != "1" {
		t.Skip("run by TestFenceInPIDNamespace inside a new PID namespace")
	}
	r := newRegistry(t)
	if r.self.Sid != 0 {
		t.Fatalf("inside a new PID namespace this process's session is %d, want 0", r.self.Sid)
	}
	rec, err := r.begin([]string{"true"})
	if err != nil {
		t.Fatal(err)
	}
	rec.f.Close()
	b, err := os.ReadFile(rec.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := parseRecord(b); err != nil {
		t.Fatalf("a record with session 0 does not read back: %v", err)
	}
}
