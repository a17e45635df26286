//go:build linux

package linuxstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
)

// lockPath serialises test binaries (go test runs packages in parallel)
// that use the stack: there is one zfs-fuse per host.
const lockPath = "/run/lock/volctl-linuxstack.lock"

// zfsSocket is zfs-fuse's fixed control socket.
const zfsSocket = "/var/run/zfs/zfs_socket"

// Start starts the stack for one test (or one TestMain-less package's
// tests, if called once and shared) and registers its teardown.
func Start(t testing.TB) *Stack {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root (zfs-fuse, tgtd); run the tests as root")
	}
	for _, p := range []string{ZfsFuse, Zfs, Zpool, Tgtd, Tgtadm, QemuIO, QemuImg, IscsiInq, IscsiCap} {
		if _, err := os.Stat(p); err != nil {
			skipOrFail(t, "%s is missing; run scripts/linux-deps.sh as root", p)
		}
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		skipOrFail(t, "/dev/fuse is missing: zfs-fuse cannot mount")
	}
	s := &Stack{dir: t.TempDir()}
	unlock := lock(t)
	t.Cleanup(unlock)

	startZfsFuse(t, s)
	s.Pool = "vt" + randHex(4)
	s.Mount = filepath.Join(s.dir, "mnt")
	img := filepath.Join(s.dir, "pool.img")
	f, err := os.Create(img)
	if err == nil {
		err = f.Truncate(256 << 20)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	// cachefile=none: nothing about this pool is left in /etc/zfs.
	s.Run(t, Zpool, "create", "-o", "cachefile=none", "-m", s.Mount, s.Pool, img)
	t.Cleanup(func() {
		// The whole pool at once, never `zfs destroy` of a filesystem that
		// held backing files (docs/platform/linux-tgt.md §9.3). tgtd is gone
		// by now.
		if _, err := retry(3, time.Second, Zpool, "destroy", "-f", s.Pool); err != nil {
			t.Logf("linuxstack: %v", err)
		}
	})
	startTgtd(t, s)
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func retry(n int, delay time.Duration, argv ...string) (string, error) {
	var out string
	var err error
	for i := 0; i < n; i++ {
		if out, err = run(context.Background(), argv...); err == nil {
			return out, nil
		}
		time.Sleep(delay)
	}
	return out, err
}

// lock takes the host-wide stack lock, waiting up to five minutes.
func lock(t testing.TB) func() {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("linuxstack: %s is held by another test binary for 5 minutes: %v", lockPath, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}

// daemon is a process the stack started, with its log.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func spawn(t testing.TB, logPath string, argv ...string) *daemon {
	t.Helper()
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		t.Fatalf("start %s: %v", argv[0], err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { _ = cmd.Wait(); lf.Close(); close(d.done) }()
	return d
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends sig, then SIGKILL after grace. Only this process (by its id).
func (d *daemon) stop(sig syscall.Signal, grace time.Duration) {
	if d.exited() {
		return
	}
	_ = d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
		return
	case <-time.After(grace):
	}
	_ = d.cmd.Process.Kill()
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitFor polls argv until it succeeds.
func waitFor(d *daemon, timeout time.Duration, argv ...string) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := run(ctx, argv...)
		cancel()
		if err == nil {
			return nil
		}
		if d != nil && d.exited() {
			return fmt.Errorf("exited: %s", tail(d.log))
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startZfsFuse(t testing.TB, s *Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := run(ctx, Zpool, "list", "-H")
	cancel()
	if err == nil {
		t.Logf("linuxstack: a zfs-fuse is already running (%s answers); using it with a private pool", zfsSocket)
		return
	}
	if err := os.MkdirAll(filepath.Dir(zfsSocket), 0o755); err != nil {
		t.Fatal(err)
	}
	// A socket left by a zfs-fuse that is gone (nothing answered above).
	_ = os.Remove(zfsSocket)
	d := spawn(t, filepath.Join(s.dir, "zfs-fuse.log"), ZfsFuse, "--no-daemon", "--no-kstat-mount",
		"--pidfile", filepath.Join(s.dir, "zfs-fuse.pid"))
	t.Cleanup(func() {
		// zfs-fuse unmounts everything on SIGTERM; that loops while a file
		// is still open (docs/platform/linux-tgt.md §9.3), so tgtd must be gone
		// first.
		d.stop(syscall.SIGTERM, 20*time.Second)
		if !d.exited() {
			t.Logf("linuxstack: zfs-fuse did not stop: %s", tail(d.log))
		}
		if out, _ := os.ReadFile("/proc/mounts"); strings.Contains(string(out), s.dir) {
			_ = exec.Command("/bin/umount", "-l", s.Mount).Run()
		}
	})
	if err := waitFor(d, 20*time.Second, Zpool, "list", "-H"); err != nil {
		t.Fatalf("zfs-fuse did not come up: %v", err)
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startTgtd(t testing.TB, s *Stack) {
	t.Helper()
	// tgtd's management socket is abstract, named by the port, with a lock
	// file in /var/run/tgtd: pick a port whose lock file nobody has.
	var ctl int
	for i := 0; ; i++ {
		ctl = 2000 + int(time.Now().UnixNano()%20000) + i // tgtd refuses -C above 32767
		if _, err := os.Stat(fmt.Sprintf("/var/run/tgtd/socket.%d.lock", ctl)); os.IsNotExist(err) {
			break
		}
	}
	s.ControlPort = strconv.Itoa(ctl)
	s.Portal = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := spawn(t, filepath.Join(s.dir, "tgtd.log"), Tgtd, "-f", "-C", s.ControlPort, "--iscsi", "portal="+s.Portal)
	t.Cleanup(func() {
		// tgtd does not stop on SIGTERM with targets configured; it holds
		// no state worth keeping, so it is killed.
		d.stop(syscall.SIGTERM, time.Second)
		_ = os.Remove(fmt.Sprintf("/var/run/tgtd/socket.%d", ctl))
		_ = os.Remove(fmt.Sprintf("/var/run/tgtd/socket.%d.lock", ctl))
		if t.Failed() {
			t.Logf("linuxstack: tgtd log:\n%s", tail(d.log))
		}
	})
	if err := waitFor(d, 20*time.Second, Tgtadm, "--control-port", s.ControlPort, "--op", "show", "--mode", "sys"); err != nil {
		t.Fatalf("tgtd did not come up: %v", err)
	}
	// tgtd listens once it answers; wait for the portal too.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", s.Portal, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tgtd does not listen on %s: %v", s.Portal, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
