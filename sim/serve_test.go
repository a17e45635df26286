package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildStub compiles the stub beside the test's volctl-sim once.
var buildStub = sync.OnceValue(func() error {
	bin, err := buildBinary()
	if err != nil {
		return err
	}
	return BuildStub(filepath.Dir(bin))
})

// forModes runs a binary test twice: each command a process of its own,
// and every command through the stub and a resident simulator (serve.go),
// which must not be told apart by what the commands print, exit with and
// do.
func forModes(t *testing.T, fn func(t *testing.T, newHost func(*testing.T) *simHost)) {
	t.Run("process", func(t *testing.T) { fn(t, newSimHost) })
	t.Run("served", func(t *testing.T) { fn(t, newServedHost) })
}

func newServedHost(t *testing.T) *simHost {
	t.Helper()
	h := newSimHost(t)
	startServe(t, h)
	return h
}

// servedProc is a volctl-sim serve process and the rest of its stdout.
type servedProc struct {
	*exec.Cmd
	out *bufio.Reader
}

// startServe runs volctl-sim serve for h until the test ends; it returns
// the server's process.
func startServe(t *testing.T, h *simHost) *servedProc {
	t.Helper()
	if err := buildStub(); err != nil {
		t.Fatalf("the stub must build here (a C compiler is part of the Go toolchain's set-up for cgo): %v", err)
	}
	cmd := exec.Command(h.bin, "serve", h.root)
	cmd.Env = append(os.Environ(), "VOLCTL_SIM_CACHE_CHECK=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "serving ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("serve printed %q: %v", line, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return &servedProc{Cmd: cmd, out: r}
}

// stopServe ends the server with SIGTERM and fails the test unless it
// exits 0 within 5 s; it returns how many commands it served.
func stopServe(t *testing.T, cmd *servedProc) int {
	t.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	var n int
	go func() {
		line, _ := cmd.out.ReadString('\n')
		_, err := fmt.Sscanf(line, "served %d commands", &n)
		if werr := cmd.Wait(); werr != nil {
			err = werr
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not end within 5 s of SIGTERM")
	}
	return n
}

// TestServeCommandsAreStubs: while serve runs the commands are the stub;
// after it ends they are volctl-sim again, and a stub left behind (serve
// killed) runs the command itself.
func TestServeCommandsAreStubs(t *testing.T) {
	h := newSimHost(t)
	srv := startServe(t, h)
	target, err := os.Readlink(CommandPath(h.root, "stmfadm"))
	if err != nil || filepath.Base(target) != StubName {
		t.Fatalf("stmfadm -> %q, %v; want the stub", target, err)
	}
	h.expect(0, "LU Name: "+guid0+"\n", "", "stmfadm", "list-lu", guid0)
	if n := stopServe(t, srv); n != 1 {
		t.Errorf("served %d commands, want 1", n)
	}
	if target, err := os.Readlink(CommandPath(h.root, "stmfadm")); err != nil || target != h.bin {
		t.Fatalf("after serve: stmfadm -> %q, %v; want %s", target, err, h.bin)
	}
	if _, err := os.Stat(filepath.Join(h.root, SocketName)); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
	// A stub with nobody serving: it execs volctl-sim beside it.
	if err := InstallCommands(h.root, filepath.Join(filepath.Dir(h.bin), StubName)); err != nil {
		t.Fatal(err)
	}
	h.expect(0, "LU Name: "+guid0+"\n", "", "stmfadm", "list-lu", guid0)
	want := goBinaryRun(t, h, "stmfadm", "bogus")
	if got := h.run("stmfadm", "bogus"); got != want || got.code == 0 {
		t.Errorf("stmfadm bogus through the stub: %v, want %v", got, want)
	}
	calls, err := Calls(h.root)
	if err != nil || len(calls) != 4 {
		t.Fatalf("calls %d, %v: want the four commands logged", len(calls), err)
	}
}

// goBinaryRun runs argv with the Go binary itself as ROOT/usr/sbin/argv[0]
// (what the stub must not be told apart from). It logs a call as well.
func goBinaryRun(t *testing.T, h *simHost, argv ...string) result {
	t.Helper()
	cmd := &exec.Cmd{Path: h.bin, Args: append([]string{CommandPath(h.root, argv[0])}, argv[1:]...)}
	r, err := runResult(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestServeKilledDuringLatency: a stub killed while its command spends
// the host's latency stops the command before it acts and logs nothing,
// as a killed process would.
func TestServeKilledDuringLatency(t *testing.T) {
	h := newServedHost(t)
	if err := SetLatency(h.root, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := h.exec(ctx, "stmfadm", "delete-lu", guid0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delete-lu ended with %v before it was killed", err)
	}
	time.Sleep(2500 * time.Millisecond) // past the latency it was killed in
	if err := SetLatency(h.root, 0); err != nil {
		t.Fatal(err)
	}
	h.expect(0, "LU Name: "+guid0+"\n", "", "stmfadm", "list-lu", guid0)
	calls, err := Calls(h.root)
	if err != nil || len(calls) != 1 {
		t.Fatalf("calls %+v, %v: want only list-lu", calls, err)
	}
}

// TestServeHangEndsWithItsStub: a command hung by a fault holds no
// goroutine once its stub is killed: serve then ends at once on SIGTERM.
func TestServeHangEndsWithItsStub(t *testing.T) {
	h := newSimHost(t)
	srv := startServe(t, h)
	if err := AddFault(h.root, Fault{Command: "stmfadm", Match: "list-view", Action: ActionHang}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := h.exec(ctx, "stmfadm", "list-view", "-l", guid0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung list-view ended with %v", err)
	}
	stopServe(t, srv)
}

// TestServeLongRoot: a root too long for a socket address is served from
// inside it.
func TestServeLongRoot(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), strings.Repeat("r", 60), strings.Repeat("o", 60))
	if out, err := exec.Command(bin, "seed", root).CombinedOutput(); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	h := &simHost{t: t, bin: bin, root: root}
	startServe(t, h)
	h.expect(0, "LU Name: "+guid0+"\n", "", "stmfadm", "list-lu", guid0)
	// Served, not run by a fallback process: the stub is what ran.
	if target, err := os.Readlink(CommandPath(root, "stmfadm")); err != nil || filepath.Base(target) != StubName {
		t.Fatalf("stmfadm -> %q, %v", target, err)
	}
}

// TestStubBuilds: every way of building the stub that works on this
// machine (StubBuilds: without the C library, static, dynamic) runs the
// manual rollback sequence through a server, so the ways a machine without
// the first one falls back to are tried here too.
func TestStubBuilds(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	for _, f := range []struct {
		name string
		b    []byte
	}{{"stub.c", stubSource}, {"nolibc.h", stubNolibc}} {
		if err := os.WriteFile(filepath.Join(src, f.name), f.b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	built := 0
	for i, flags := range StubBuilds {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			dir := t.TempDir()
			args := append(slices.Clone(flags), "-o", filepath.Join(dir, StubName), filepath.Join(src, "stub.c"))
			if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
				if i == len(StubBuilds)-1 {
					t.Fatalf("the plainest build must work: %v\n%s", err, out)
				}
				t.Skipf("does not build here (the next way is tried): %v\n%s", err, out)
			}
			built++
			// serve finds the stub beside its own executable, so each
			// build gets its own copy of volctl-sim.
			b, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			h := &simHost{t: t, bin: filepath.Join(dir, "volctl-sim"), root: filepath.Join(dir, "host")}
			if err := os.WriteFile(h.bin, b, 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(h.bin, "seed", h.root).CombinedOutput(); err != nil {
				t.Fatalf("seed: %v\n%s", err, out)
			}
			srv := startServe(t, h)
			manualSequence(t, h)
			calls, err := Calls(h.root)
			if err != nil {
				t.Fatal(err)
			}
			// Every command went through the server, none fell back.
			if n := stopServe(t, srv); n != len(calls) {
				t.Errorf("the server ran %d commands of the %d logged", n, len(calls))
			}
		})
	}
	if built == 0 {
		t.Fatal("no way of building the stub worked")
	}
}
