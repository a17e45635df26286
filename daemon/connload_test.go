package daemon_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/volctl/volctl/proto/volctl/v1"
	"github.com/volctl/volctl/sim/simtest"
)

// TestHelperHoldConnections is not a test: run as another uid by
// TestConnectionFloodDoesNotStarveARollback, it opens
// VOLCTL_FLOOD_N connections to VOLCTL_FLOOD_SOCKET, says how many the daemon
// kept open, and holds them until killed.
func TestHelperHoldConnections(t *testing.T) {
	sock := os.Getenv("VOLCTL_FLOOD_SOCKET")
	if sock == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv("VOLCTL_FLOOD_N"))
	var conns []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	// The daemon closes the ones over the limit at accept: count the rest.
	time.Sleep(500 * time.Millisecond)
	open := 0
	for _, c := range conns {
		// An open connection has the server's HTTP/2 settings to read, or
		// nothing yet; a closed one ends.
		c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
			open++
		}
	}
	fmt.Printf("open %d of %d\n", open, len(conns))
	os.Stdout.Sync()
	time.Sleep(time.Hour)
}

func openFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("SKIP (loud): cannot count the daemon's descriptors: %v", err)
	}
	return len(ents)
}

// TestConnectionFloodDoesNotStarveARollback: a uid with no role opens 2000
// idle connections; the daemon keeps at most max_connections_per_peer of
// them, its descriptors stay bounded, and root's rollback succeeds.
func TestConnectionFloodDoesNotStarveARollback(t *testing.T) {
	needRoot(t)
	root := simtest.Host(t)
	if err := os.Chmod(simtest.Build(t), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, sock := writeConfigWith(t, root, "socket_mode = \"0666\"\nmax_connections = 64\nmax_connections_per_peer = 16", "[roles]\noperator_uids = [0]\n")
	if err := os.Chmod(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg, sock)
	before := openFDs(t, d.cmd.Process.Pid)

	// The test binary, where uid 65534 can run it.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "flood")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	exe := filepath.Join(dir, "flood.test")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	flood := exec.Command(exe, "-test.run=^TestHelperHoldConnections$")
	flood.Dir = "/"
	flood.Env = append(os.Environ(), "VOLCTL_FLOOD_SOCKET="+sock, "VOLCTL_FLOOD_N=2000")
	flood.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := flood.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flood.Process.Kill(); flood.Wait() })
	buf := make([]byte, 256)
	nr, _ := out.Read(buf)
	var open, tried int
	if _, err := fmt.Sscanf(string(buf[:nr]), "open %d of %d", &open, &tried); err != nil {
		t.Fatalf("flood helper said %q: %v", buf[:nr], err)
	}
	if open > 16 {
		t.Errorf("uid 65534 holds %d connections, want at most 16 (max_connections_per_peer)", open)
	}
	during := openFDs(t, d.cmd.Process.Pid)
	if during-before > 16+8 {
		t.Errorf("the daemon's descriptors went from %d to %d under the flood", before, during)
	}
	// Another uid without a role sends oversized, denied calls meanwhile
	// (through the real CLI), and the journal stays small.
	journal := filepath.Join(filepath.Dir(cfg), "journal.db")
	size := func() int64 {
		fi, err := os.Stat(journal)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	sizeBefore := size()
	// (The CLI refuses an oversized name itself, exit 3; the daemon's own
	// size checks are tested in daemon/server.)
	if code, out := runAs(t, 12345, sock, "snapshot", "pool/idisk0@"+strings.Repeat("x", 100<<10)); code != 3 {
		t.Errorf("oversized name: exit %d, want 3\n%s", code, out)
	}
	for i := 0; i < 50; i++ {
		if code, out := runAs(t, 12345, sock, "snapshot", fmt.Sprintf("pool/idisk0@deny%d", i)); code != 7 {
			t.Fatalf("a snapshot from a uid without a role: exit %d, want 7 (denied)\n%s", code, out)
		}
	}
	c := d.client()
	op, err := c.Rollback(context.Background(), &v1.RollbackRequest{Snapshot: "pool/idisk0@snap1"}, nil)
	if err != nil || op.GetState() != v1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("root's rollback during the flood: %v (%v)", err, op.GetState())
	}
	simtest.Must(t, root, simtest.AtSnapshot)
	if grew := size() - sizeBefore; grew > 1<<20 {
		t.Errorf("50 denied calls and a rollback grew the journal by %d bytes, bound 1 MiB", grew)
	}
	t.Logf("journal grew %d bytes", size()-sizeBefore)
	t.Logf("flood: %d of %d connections kept; daemon descriptors %d before, %d during", open, tried, before, during)
}
