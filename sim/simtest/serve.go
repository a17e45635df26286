package simtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveHosts reports whether Host, HostFlavor and TwoHosts serve their
// hosts with a resident simulator: yes, unless VOLCTL_SIM_SERVE=0 (a Go
// process per command, as before the server) or the stub did not build
// (no C compiler: said once, loudly, and the hosts run processes). The
// daemon cannot tell the two apart (docs/simulator.md); the sim's own tests
// run their sequences both ways. Served, the suites take about half the
// CPU.
func serveHosts(t testing.TB) bool {
	t.Helper()
	switch v := os.Getenv("VOLCTL_SIM_SERVE"); v {
	case "0":
		return false
	case "", "1":
	default:
		t.Fatalf("VOLCTL_SIM_SERVE=%q: want 0 or 1", v)
	}
	Build(t)
	if stubErr != nil {
		noStubOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "simtest: NO RESIDENT SIMULATOR: %v; every simulated command runs as a process of its own (slower)\n", stubErr)
		})
		return false
	}
	return true
}

var noStubOnce sync.Once

// servers are the running servers by root.
var servers sync.Map

// ServerFor is the server Host, HostFlavor, TwoHosts or Serve started for
// root, or nil when its commands run as processes.
func ServerFor(root string) *Server {
	if s, ok := servers.Load(root); ok {
		return s.(*Server)
	}
	return nil
}

// Server is a resident simulator (volctl-sim serve) a test started for
// one of its hosts.
type Server struct {
	root string
	cmd  *exec.Cmd
}

// Serve starts volctl-sim serve ROOT for the test: from then on the host's
// commands are the C stub and run in that one process (sim/serve.go). The
// test fails if the stub could not be built (no C compiler: the reason is
// in the failure). Cleanup stops it.
func Serve(t testing.TB, root string) *Server {
	t.Helper()
	bin := Build(t)
	s, err := StartServer(bin, root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// StartServer starts volctl-sim serve ROOT with the binaries Build made in
// bin (for a harness without a testing.TB: testscript's Setup); Stop ends
// it.
func StartServer(bin, root string) (*Server, error) {
	if stubErr != nil {
		return nil, fmt.Errorf("resident simulator: %w", stubErr)
	}
	cmd := exec.Command(filepath.Join(bin, "volctl-sim"), "serve", root)
	cmd.Stderr = os.Stderr
	dieWithParent(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "serving ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("volctl-sim serve %s: printed %q: %v", root, line, err)
	}
	s := &Server{root: root, cmd: cmd}
	servers.Store(root, s)
	return s, nil
}

// Stop kills the stubs of hung commands (so the server can end), ends the
// server with SIGTERM, and kills it if it has not ended 10 s later.
func (s *Server) Stop() error {
	servers.Delete(s.root)
	KillHung(s.root)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
		return fmt.Errorf("volctl-sim serve %s did not stop on SIGTERM within 10 s", s.root)
	}
}

// ServeHosts reports whether hosts should be served (serveHosts) to a
// harness without a testing.TB; Build must have run.
func ServeHosts() bool {
	return os.Getenv("VOLCTL_SIM_SERVE") != "0" && stubErr == nil
}

// CPU is the CPU time (user + system) the server has used so far, read
// from /proc (Linux).
func (s *Server) CPU() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name's closing parenthesis; utime and
	// stime are fields 14 and 15 of the whole line, in clock ticks.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %q", s.cmd.Process.Pid, b)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/%d/stat: %q: %w", s.cmd.Process.Pid, v, err)
		}
		ticks += n
	}
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ticks) * time.Second / hz, nil
}
