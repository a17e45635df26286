package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/volctl/volctl/daemon"
	"github.com/volctl/volctl/daemon/config"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	simtest.Cleanup()
	os.Exit(code)
}

// shortDir is a temp dir for a unix socket (paths are limited to ~104
// bytes; t.TempDir() can be longer). mode is set exactly.
func shortDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	d, err := os.MkdirTemp("", "vs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(d, 0o700); os.RemoveAll(d) })
	if err := os.Chmod(d, mode); err != nil {
		t.Fatal(err)
	}
	return d
}

// socketSetup is what a case leaves at the socket path before volctld
// starts, and what it checks afterwards.
type socketSetup struct {
	cfg   *config.Config
	dir   string // the socket's directory
	check func(t *testing.T)
}

// watchSocket records every socket it sees at path whose mode or group is
// not the final one, until stop is called. What is at path when it starts
// (a stale socket) is not volctld's and is ignored.
func watchSocket(path string, mode os.FileMode, gid int) (stop func() []string) {
	var (
		seen = map[string]bool{}
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	var old *syscall.Stat_t
	if fi, err := os.Lstat(path); err == nil {
		old = fi.Sys().(*syscall.Stat_t)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			fi, err := os.Lstat(path)
			if err != nil || fi.Mode().Type() != os.ModeSocket {
				continue
			}
			st := fi.Sys().(*syscall.Stat_t)
			if old != nil && st.Dev == old.Dev && st.Ino == old.Ino {
				continue
			}
			if fi.Mode().Perm() != mode || (gid >= 0 && int(st.Gid) != gid) {
				seen[fi.Mode().String()+" gid "+strconv.Itoa(int(st.Gid))] = true
			}
		}
	}()
	return func() []string {
		close(done)
		wg.Wait()
		var out []string
		for k := range seen {
			out = append(out, k)
		}
		return out
	}
}

// TestSocketSetup runs daemon.Run (so listenUnix itself, without the checks
// volctld's Main runs first) against what can sit at the socket path and
// around it: the cases of the race (a symbolic link swapped in, a directory
// others may write) and of a misconfigured path.
func TestSocketSetup(t *testing.T) {
	euid := os.Geteuid()
	ownGroup, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		asRoot bool
		setup  func(t *testing.T, s *socketSetup)
		want   string      // refused with this in the error; "" when served
		mode   os.FileMode // served: the socket's mode
		group  bool        // served: the socket's group is socket_group
	}{
		{name: "new socket, mode 0600", mode: 0o600, setup: func(t *testing.T, s *socketSetup) {}},
		{name: "mode 0666 whatever the umask", mode: 0o666, setup: func(t *testing.T, s *socketSetup) { s.cfg.SocketMode = "0666" }},
		{name: "mode 0660 and socket_group", mode: 0o660, group: true, setup: func(t *testing.T, s *socketSetup) {
			s.cfg.SocketMode, s.cfg.SocketGroup = "0660", ownGroup.Name
		}},
		{name: "stale socket is replaced", mode: 0o600, setup: func(t *testing.T, s *socketSetup) {
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: s.cfg.Socket, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			l.SetUnlinkOnClose(false)
			l.Close()
		}},
		{name: "missing socket directory is created", mode: 0o600, setup: func(t *testing.T, s *socketSetup) {
			s.dir = filepath.Join(s.dir, "run", "volctld")
			s.cfg.Socket = filepath.Join(s.dir, "s")
			s.check = func(t *testing.T) {
				fi, err := os.Lstat(s.dir)
				if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o022 != 0 || int(fi.Sys().(*syscall.Stat_t).Uid) != euid {
					t.Errorf("created socket directory: %v %v", fi.Mode(), err)
				}
			}
		}},
		{name: "symbolic link to a root-only file", want: "is a symbolic link: refusing to follow or remove it", setup: func(t *testing.T, s *socketSetup) {
			secret := filepath.Join(t.TempDir(), "shadow")
			if err := os.WriteFile(secret, []byte("root only"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(secret, s.cfg.Socket); err != nil {
				t.Fatal(err)
			}
			s.cfg.SocketMode, s.cfg.SocketGroup = "0666", ownGroup.Name
			s.check = func(t *testing.T) {
				fi, err := os.Stat(secret)
				b, _ := os.ReadFile(secret)
				if err != nil || fi.Mode().Perm() != 0o600 || string(b) != "root only" {
					t.Errorf("the link's target was changed: %v %v %q", fi.Mode(), err, b)
				}
				if target, err := os.Readlink(s.cfg.Socket); err != nil || target != secret {
					t.Errorf("the link was removed or changed: %q %v", target, err)
				}
			}
		}},
		{name: "dangling symbolic link", want: "is a symbolic link: refusing to follow or remove it", setup: func(t *testing.T, s *socketSetup) {
			if err := os.Symlink(filepath.Join(s.dir, "gone"), s.cfg.Socket); err != nil {
				t.Fatal(err)
			}
			s.check = func(t *testing.T) {
				if _, err := os.Lstat(filepath.Join(s.dir, "gone")); err == nil {
					t.Error("something was created at the link's target")
				}
			}
		}},
		{name: "socket = the journal", want: "exists and is not a socket (a regular file): refusing to remove it", setup: func(t *testing.T, s *socketSetup) {
			s.cfg.DB = s.cfg.Socket
			db, err := store.Open(s.cfg.DB, time.Second) // a journal from earlier runs
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			s.check = func(t *testing.T) {
				if fi, err := os.Lstat(s.cfg.DB); err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
					t.Errorf("the journal is gone: %v", err)
				}
			}
		}},
		{name: "regular file", want: "exists and is not a socket (a regular file): refusing to remove it", setup: func(t *testing.T, s *socketSetup) {
			if err := os.WriteFile(s.cfg.Socket, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
			s.check = func(t *testing.T) {
				if b, err := os.ReadFile(s.cfg.Socket); err != nil || string(b) != "keep" {
					t.Errorf("the file was changed: %q %v", b, err)
				}
			}
		}},
		{name: "empty directory", want: "exists and is not a socket (a directory): refusing to remove it", setup: func(t *testing.T, s *socketSetup) {
			if err := os.Mkdir(s.cfg.Socket, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "live socket of another daemon", want: "another volctld is listening", setup: func(t *testing.T, s *socketSetup) {
			l, err := net.Listen("unix", s.cfg.Socket)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			s.check = func(t *testing.T) {
				c, err := net.Dial("unix", s.cfg.Socket)
				if err != nil {
					t.Errorf("the other daemon's socket no longer answers: %v", err)
					return
				}
				c.Close()
			}
		}},
		{name: "socket directory writable by others", want: "is writable by group or others (mode 0777)", setup: func(t *testing.T, s *socketSetup) {
			os.Chmod(s.dir, 0o777)
		}},
		{name: "socket directory writable by its group", want: "is writable by group or others (mode 0770)", setup: func(t *testing.T, s *socketSetup) {
			os.Chmod(s.dir, 0o770)
		}},
		{name: "sticky socket directory", want: "is writable by group or others (mode 1777): only its owner may create or replace files in it", setup: func(t *testing.T, s *socketSetup) {
			os.Chmod(s.dir, 0o777|os.ModeSticky)
		}},
		{name: "below a directory writable by others", want: "is writable by group or others (mode 0777)", setup: func(t *testing.T, s *socketSetup) {
			sub := filepath.Join(s.dir, "d")
			if err := os.Mkdir(sub, 0o700); err != nil {
				t.Fatal(err)
			}
			os.Chmod(s.dir, 0o777)
			s.dir, s.cfg.Socket = sub, filepath.Join(sub, "s")
		}},
		{name: "missing socket directory below a directory writable by others", want: "is writable by group or others (mode 0777)", setup: func(t *testing.T, s *socketSetup) {
			os.Chmod(s.dir, 0o777)
			s.cfg.Socket = filepath.Join(s.dir, "new", "s")
			s.check = func(t *testing.T) {
				if _, err := os.Lstat(filepath.Join(s.dir, "new")); err == nil {
					t.Error("the socket directory was created below a directory others may write")
				}
			}
		}},
		{name: "socket directory owned by another user", asRoot: true, want: "is owned by uid 12345, not by root", setup: func(t *testing.T, s *socketSetup) {
			if err := os.Chown(s.dir, 12345, -1); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "relative socket path", want: `socket "s" is not an absolute path`, setup: func(t *testing.T, s *socketSetup) {
			s.cfg.Socket = "s"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.asRoot && euid != 0 {
				t.Skip("SKIP (loud): needs root to give the directory to another uid")
			}
			cfg := config.Default()
			s := &socketSetup{cfg: &cfg, dir: shortDir(t, 0o700)}
			cfg.Socket = filepath.Join(s.dir, "s")
			cfg.DB = filepath.Join(t.TempDir(), "journal.db")
			for _, p := range []*string{&cfg.Commands.Zfs, &cfg.Commands.Zpool, &cfg.Commands.Stmfadm, &cfg.Commands.Zoneadm, &cfg.Commands.Zonecfg} {
				*p = "/nonexistent/" + filepath.Base(*p) // nothing runs but a probe
			}
			tc.setup(t, s)
			before := entries(t, s.dir)
			gid := -1
			if tc.group {
				gid = os.Getegid()
			}
			stopWatch := watchSocket(cfg.Socket, tc.mode, gid)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- daemon.Run(ctx, cfg, hclog.NewNullLogger()) }()

			if tc.want != "" {
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("Run = %v, want an error with %q", err, tc.want)
					}
				case <-time.After(20 * time.Second):
					cancel()
					<-done
					t.Fatalf("volctld served; want it refused with %q", tc.want)
				}
				stopWatch()
				if after := entries(t, s.dir); !slices.Equal(after, before) {
					t.Errorf("socket directory changed: %v, was %v", after, before)
				}
				if s.check != nil {
					s.check(t)
				}
				return
			}

			serving := false
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !serving; {
				select {
				case err := <-done:
					t.Fatalf("Run = %v, want it serving", err)
				default:
				}
				if c, err := net.Dial("unix", cfg.Socket); err == nil {
					c.Close()
					serving = true
				} else {
					time.Sleep(10 * time.Millisecond)
				}
			}
			if !serving {
				t.Fatal("volctld did not listen")
			}
			if bad := stopWatch(); len(bad) > 0 {
				t.Errorf("the socket was visible with another mode or group first: %v", bad)
			}
			fi, err := os.Lstat(cfg.Socket)
			if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != tc.mode {
				t.Errorf("socket %v %v, want a socket with mode %v", fi.Mode(), err, tc.mode)
			} else if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != euid || (tc.group && int(st.Gid) != os.Getegid()) {
				t.Errorf("socket owner %d:%d", st.Uid, st.Gid)
			}
			if got := entries(t, s.dir); !slices.Equal(got, []string{"s"}) {
				t.Errorf("socket directory holds %v, want only the socket", got)
			}
			if s.check != nil {
				s.check(t)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run after cancel: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("volctld did not stop")
			}
			if _, err := os.Lstat(cfg.Socket); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket left after shutdown: %v", err)
			}
		})
	}
}

// entries lists dir's names ("missing" when it does not exist).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return []string{"missing"}
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
