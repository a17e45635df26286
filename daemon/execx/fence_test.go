package execx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFenceHelperProcess is not a test: it is the processes the fence
// tests start (the os/exec idea), chosen by argv after "--":
//
//	sleep                 sleep for an hour
//	spawn PIDFILE         start "sleep" in this process group, write its
//	                      pid to PIDFILE, exit
//	act-after MS FILE     sleep MS milliseconds, then create FILE (a
//	                      command that acts late)
//	daemon DIR MS FILE    a volctld in miniature: record commands in DIR,
//	                      run "act-after MS FILE" through Runner, then wait
//	                      to be killed
func TestFenceHelperProcess(t *testing.T) {
	if os.Getenv("GO_WANT_FENCE_HELPER") != "1" {
		return
	}
	defer os.Exit(0)
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	switch args[1] {
	case "sleep":
		time.Sleep(time.Hour)
	case "spawn":
		c := exec.Command(os.Args[0], fenceHelperArgs("sleep")...)
		c.Env = append(os.Environ(), "GO_WANT_FENCE_HELPER=1")
		if err := c.Start(); err != nil {
			os.Exit(2)
		}
		_ = os.WriteFile(args[2], []byte(strconv.Itoa(c.Process.Pid)), 0o600)
	case "act-after":
		ms, _ := strconv.Atoi(args[2])
		time.Sleep(time.Duration(ms) * time.Millisecond)
		_ = os.WriteFile(args[3], []byte("acted\n"), 0o600)
	case "daemon":
		r, err := OpenRegistry(args[2], nil)
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(2)
		}
		Track(r)
		Env = append(Env, "GO_WANT_FENCE_HELPER=1")
		_, _ = (&Runner{}).Run(context.Background(), append([]string{os.Args[0]}, fenceHelperArgs("act-after", args[3], args[4])...))
		time.Sleep(time.Hour)
	}
}

func fenceHelperArgs(args ...string) []string {
	return append([]string{"-test.run=^TestFenceHelperProcess$", "--"}, args...)
}

// helperCmd is the helper doing args, in a process group of its own as
// Runner starts commands.
func helperCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(os.Args[0], fenceHelperArgs(args...)...)
	c.Env = append(os.Environ(), "GO_WANT_FENCE_HELPER=1")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		_ = c.Wait()
	})
	return c
}

// alive reports whether pid is a process that can still act (a zombie
// cannot).
func alive(t *testing.T, pid int) bool {
	t.Helper()
	p, err := readProc(pid)
	if errors.Is(err, errNoProc) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return !p.Zombie
}

func mustProc(t *testing.T, pid int) procInfo {
	t.Helper()
	p, err := readProc(pid)
	if err != nil {
		t.Fatalf("read process %d: %v", pid, err)
	}
	return p
}

// previous is the record an earlier daemon (this test process, in the
// same session) would have written for argv: its first line, and the
// second when pid > 0.
func previous(t *testing.T, argv []string, pid int, start uint64, boot string) []byte {
	t.Helper()
	self := mustProc(t, os.Getpid())
	in, _ := json.Marshal(intent{Argv: argv, Daemon: self.Pid, Session: self.Sid, DaemonStart: self.Start, Boot: boot, Time: time.Now().UTC()})
	b := append(in, '\n')
	if pid > 0 {
		st, _ := json.Marshal(started{Pid: pid, Pgid: pid, Start: start})
		b = append(append(b, st...), '\n')
	}
	return b
}

func newRegistry(t *testing.T) *Registry {
	t.Helper()
	r, err := OpenRegistry(filepath.Join(t.TempDir(), "journal.db.commands"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFence: what the fence does with each kind of record an earlier
// daemon can leave, with real processes.
func TestFence(t *testing.T) {
	boot, err := bootID()
	if err != nil {
		t.Fatal(err)
	}
	self := os.Args[0]
	tests := []struct {
		name string
		// setup starts what the record stands for and returns the record
		// and the process to watch (0: none).
		setup      func(t *testing.T) (record []byte, watch int)
		wantKilled bool
	}{
		{name: "still running: killed", wantKilled: true, setup: func(t *testing.T) ([]byte, int) {
			c := helperCmd(t, "sleep")
			pid := c.Process.Pid
			return previous(t, append([]string{self}, fenceHelperArgs("sleep")...), pid, mustProc(t, pid).Start, boot), pid
		}},
		{name: "pid reused by a later process (start time differs): left alone", setup: func(t *testing.T) ([]byte, int) {
			c := helperCmd(t, "sleep")
			pid := c.Process.Pid
			return previous(t, []string{"/usr/sbin/stmfadm", "delete-lu"}, pid, mustProc(t, pid).Start-1, boot), pid
		}},
		{name: "exited: record removed", setup: func(t *testing.T) ([]byte, int) {
			c := exec.Command("/bin/true")
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			pid := c.Process.Pid
			start := mustProc(t, pid).Start
			_ = c.Wait()
			return previous(t, []string{"/bin/true"}, pid, start, boot), 0
		}},
		{name: "exited, a member of its process group still runs: killed", wantKilled: true, setup: func(t *testing.T) ([]byte, int) {
			pidfile := filepath.Join(t.TempDir(), "pid")
			c := helperCmd(t, "spawn", pidfile)
			pid := c.Process.Pid
			start := mustProc(t, pid).Start
			if err := c.Wait(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(pidfile)
			if err != nil {
				t.Fatal(err)
			}
			member, _ := strconv.Atoi(string(b))
			t.Cleanup(func() { _ = syscall.Kill(member, syscall.SIGKILL) })
			return previous(t, []string{self, "spawn"}, pid, start, boot), member
		}},
		{name: "recorded before its pid: found by argv, session and start, killed", wantKilled: true, setup: func(t *testing.T) ([]byte, int) {
			c := helperCmd(t, "sleep")
			return previous(t, append([]string{self}, fenceHelperArgs("sleep")...), 0, 0, boot), c.Process.Pid
		}},
		{name: "recorded before its pid, another argv running: left alone", setup: func(t *testing.T) ([]byte, int) {
			c := helperCmd(t, "sleep")
			return previous(t, append([]string{self}, fenceHelperArgs("act-after", "1", "/nonexistent")...), 0, 0, boot), c.Process.Pid
		}},
		{name: "from another boot: record removed, nothing killed", setup: func(t *testing.T) ([]byte, int) {
			c := helperCmd(t, "sleep")
			pid := c.Process.Pid
			return previous(t, []string{self}, pid, mustProc(t, pid).Start, "another-boot"), pid
		}},
		{name: "first line cut short (never started): record removed", setup: func(t *testing.T) ([]byte, int) {
			return []byte(`{"argv":["/usr/sbin/zfs","rollb`), 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRegistry(t)
			rec, watch := tc.setup(t)
			path := filepath.Join(r.Dir(), "4242-1")
			if err := os.WriteFile(path, rec, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := r.Fence(5 * time.Second); err != nil {
				t.Fatalf("Fence: %v", err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("record still there after the fence (%v)", err)
			}
			if watch != 0 {
				if got := !alive(t, watch); got != tc.wantKilled {
					t.Errorf("process %d killed = %v, want %v", watch, got, tc.wantKilled)
				}
			}
		})
	}
}

// TestFenceRefuses: what volctld did not write, or cannot reason about,
// stops the fence (and so the start), and stays for a person to look at.
func TestFenceRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string
		want  string
	}{
		{name: "not a record", want: "not a record volctld wrote", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "notes.txt")
			if err := os.WriteFile(p, []byte("hello\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "a record without argv", want: "argv, daemon, session or daemon_start missing", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "1-1")
			if err := os.WriteFile(p, []byte(`{"argv":[],"daemon":1,"session":1,"daemon_start":1,"time":"2026-01-01T00:00:00Z"}`+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "a record without session", want: "argv, daemon, session or daemon_start missing", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "1-1")
			if err := os.WriteFile(p, []byte(`{"argv":["true"],"daemon":1,"daemon_start":1,"time":"2026-01-01T00:00:00Z"}`+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{name: "a symbolic link", want: "is not a regular file", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "1-1")
			if err := os.Symlink("/etc/passwd", p); err != nil {
				t.Fatal(err)
			}
			return p
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRegistry(t)
			p := tc.setup(t, r.Dir())
			err := r.Fence(time.Second)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Fence = %v, want an error with %q", err, tc.want)
			}
			if _, err := os.Lstat(p); err != nil {
				t.Errorf("the fence removed what it refused: %v", err)
			}
		})
	}
}

// TestOpenRegistryRefuses: a registry anyone else could write to is
// refused.
func TestOpenRegistryRefuses(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{open: "writable by group or others", link: "not a directory"} {
		if _, err := OpenRegistry(p, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenRegistry(%s) = %v, want %q", p, err, want)
		}
	}
}

// TestRunRecords: while a tracked Runner's command runs, its record names
// it (argv, pid, process group, start time as /proc shows it); once it has
// ended the record is gone.
func TestRunRecords(t *testing.T) {
	r := newRegistry(t)
	defer Track(r)()
	old := Env
	Env = append(append([]string(nil), Env...), "GO_WANT_FENCE_HELPER=1")
	defer func() { Env = old }()
	marker := filepath.Join(t.TempDir(), "acted")
	argv := append([]string{os.Args[0]}, fenceHelperArgs("act-after", "300", marker)...)
	done := make(chan error, 1)
	go func() { _, err := (&Runner{}).Run(context.Background(), argv); done <- err }()

	var in intent
	var st *started
	deadline := time.Now().Add(10 * time.Second)
	for st == nil {
		if time.Now().After(deadline) {
			t.Fatal("no record with a pid while the command runs")
		}
		time.Sleep(5 * time.Millisecond)
		ents, _ := os.ReadDir(r.Dir())
		if len(ents) != 1 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.Dir(), ents[0].Name()))
		if err != nil || bytes.Count(b, []byte("\n")) < 2 {
			continue
		}
		if in, st, err = parseRecord(b); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(in.Argv, " ") != strings.Join(argv, " ") || in.Daemon != os.Getpid() || st.Pgid != st.Pid {
		t.Errorf("record %+v %+v, want argv %v, daemon %d, pgid = pid", in, st, argv, os.Getpid())
	}
	if p := mustProc(t, st.Pid); p.Start != st.Start || p.Pgid != st.Pid {
		t.Errorf("recorded start %d, /proc says %d (pgid %d)", st.Start, p.Start, p.Pgid)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(r.Dir()); len(ents) != 0 {
		t.Errorf("records left after the command ended: %v", ents)
	}
}

// TestFenceAfterCrash: a real daemon-like process runs a command that acts
// late, through a tracked Runner, and is killed -9 while the command runs;
// the command outlives it. A new registry on the same directory fences it:
// it is killed before it acts, and never acts afterwards.
func TestFenceAfterCrash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal.db.commands")
	marker := filepath.Join(t.TempDir(), "acted")
	const actAfter = 1500 * time.Millisecond
	d := helperCmd(t, "daemon", dir, strconv.Itoa(int(actAfter/time.Millisecond)), marker)

	// Wait until the command is recorded with its pid.
	var st *started
	deadline := time.Now().Add(10 * time.Second)
	for st == nil {
		if time.Now().After(deadline) {
			t.Fatal("the daemon never recorded its command")
		}
		time.Sleep(5 * time.Millisecond)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				_, st, _ = parseRecord(b)
			}
		}
	}
	if err := d.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = d.Wait()
	if !alive(t, st.Pid) {
		t.Fatalf("command %d died with the daemon: nothing to fence", st.Pid)
	}
	t.Cleanup(func() { _ = syscall.Kill(-st.Pid, syscall.SIGKILL) })

	r, err := OpenRegistry(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Fence(5 * time.Second); err != nil {
		t.Fatalf("Fence: %v", err)
	}
	if alive(t, st.Pid) {
		t.Fatalf("command %d still runs after the fence", st.Pid)
	}
	// It would have acted actAfter after it started.
	time.Sleep(actAfter + 500*time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Error("the old daemon's command acted after the fence")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("records left after the fence: %v", ents)
	}
}

// BenchmarkRun is what recording costs a command: the same short command
// run untracked (as before the registry) and tracked.
func BenchmarkRun(b *testing.B) {
	for _, tracked := range []bool{false, true} {
		name := "untracked"
		if tracked {
			name = "tracked"
		}
		b.Run(name, func(b *testing.B) {
			if tracked {
				r, err := OpenRegistry(filepath.Join(b.TempDir(), "c"), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer Track(r)()
			}
			for b.Loop() {
				if _, err := (&Runner{}).Run(context.Background(), []string{"/bin/true"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecord is the registry's own work for one command, without the
// process: the record written before, completed after the start, removed
// after the end.
func BenchmarkRecord(b *testing.B) {
	r, err := OpenRegistry(filepath.Join(b.TempDir(), "c"), nil)
	if err != nil {
		b.Fatal(err)
	}
	argv := []string{"/usr/sbin/stmfadm", "delete-lu", "-k", "600144F0A613C900000054521D550001"}
	pid := os.Getpid()
	for b.Loop() {
		rec, err := r.begin(argv)
		if err != nil {
			b.Fatal(err)
		}
		if err := rec.started(pid); err != nil {
			b.Fatal(err)
		}
		rec.end(r)
	}
}
