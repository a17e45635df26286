// Package linuxstack is a test harness: a private zfs-fuse and a private
// tgtd, a pool on a file, and an iSCSI initiator (qemu-io, qemu-img and the
// libiscsi tools) to write and read LUs over iSCSI on loopback, so that the
// linux-tgt backend is tested against the real stack.
//
// Start needs root, /dev/fuse and the packages scripts/linux-deps.sh
// installs; without them it skips the test, loudly, or fails it when
// VOLCTL_E2E_REQUIRED=1. Everything it starts is stopped and removed in
// t.Cleanup.
//
// What is private and what is not: tgtd runs with its own management port
// (-C) and listens on 127.0.0.1 at a free port, so it never meets the
// host's tgtd. zfs-fuse has one fixed control socket
// (/var/run/zfs/zfs_socket), so there can be only one per host: Start runs
// its own when none is running and stops it afterwards; when one is
// running it uses that, with a pool of its own and never touching the
// others. A lock file serialises test binaries that use the stack.
package linuxstack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Commands the stack uses, at the paths Debian installs them.
const (
	ZfsFuse   = "/usr/sbin/zfs-fuse"
	Zfs       = "/usr/sbin/zfs"
	Zpool     = "/usr/sbin/zpool"
	Tgtd      = "/usr/sbin/tgtd"
	Tgtadm    = "/usr/sbin/tgtadm"
	QemuIO    = "/usr/bin/qemu-io"
	QemuImg   = "/usr/bin/qemu-img"
	IscsiInq  = "/usr/bin/iscsi-inq"
	IscsiCap  = "/usr/bin/iscsi-readcapacity16"
	cmdTimout = 60 * time.Second
)

// Stack is a running private storage stack.
type Stack struct {
	// Pool is the pool's name; Mount its mountpoint.
	Pool, Mount string
	// ControlPort is tgtd's management port (tgtadm --control-port).
	ControlPort string
	// Portal is the iSCSI portal, 127.0.0.1:PORT.
	Portal string

	dir string
}

// skipOrFail skips the test with a loud reason, or fails it when the
// environment says the end-to-end tests must run.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := "LINUX STACK NOT AVAILABLE, real-stack test not run: " + fmt.Sprintf(format, args...)
	if os.Getenv("VOLCTL_E2E_REQUIRED") == "1" {
		t.Fatal(msg + " (VOLCTL_E2E_REQUIRED=1)")
	}
	t.Skip(msg)
}

// run runs argv with a deadline and returns stdout, or the error with both
// streams.
func run(ctx context.Context, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %v: %s%s", strings.Join(argv, " "), err, errb.String(), out.String())
	}
	return out.String(), nil
}

// Run runs a command, failing the test when it fails.
func (s *Stack) Run(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := run(context.Background(), argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Tgtadm runs tgtadm against this stack's tgtd: --control-port and --lld
// iscsi are added.
func (s *Stack) Tgtadm(t testing.TB, args ...string) string {
	t.Helper()
	return s.Run(t, append([]string{Tgtadm, "--control-port", s.ControlPort, "--lld", "iscsi"}, args...)...)
}

// Show is the raw `tgtadm --op show --mode target`.
func (s *Stack) Show(t testing.TB) string {
	t.Helper()
	return s.Tgtadm(t, "--op", "show", "--mode", "target")
}

// CreateFS creates the filesystem POOL/name and returns its name and
// mountpoint.
func (s *Stack) CreateFS(t testing.TB, name string) (ds, mountpoint string) {
	t.Helper()
	ds = s.Pool + "/" + name
	s.Run(t, Zfs, "create", ds)
	return ds, filepath.Join(s.Mount, name)
}

// CreateFile creates a file of size bytes (sparse).
func (s *Stack) CreateFile(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// Export is a target with one LU and its bindings.
type Export struct {
	TID            int
	IQN            string
	LUN            int
	Path           string
	SCSIID, SCSISN string
	// Addresses are -I rules, Names --initiator-name rules, bound in order.
	Addresses, Names []string
}

// Export creates the target (unless tid exists), the LU, its identity and
// the bindings.
func (s *Stack) Export(t testing.TB, e Export) {
	t.Helper()
	if !strings.Contains(s.Show(t), fmt.Sprintf("Target %d: %s\n", e.TID, e.IQN)) {
		s.Tgtadm(t, "--op", "new", "--mode", "target", "--tid", strconv.Itoa(e.TID), "--targetname", e.IQN)
	}
	tid, lun := strconv.Itoa(e.TID), strconv.Itoa(e.LUN)
	s.Tgtadm(t, "--op", "new", "--mode", "logicalunit", "--tid", tid, "--lun", lun, "--backing-store", e.Path)
	var ps []string
	if e.SCSIID != "" {
		ps = append(ps, "scsi_id="+e.SCSIID)
	}
	if e.SCSISN != "" {
		ps = append(ps, "scsi_sn="+e.SCSISN)
	}
	if len(ps) > 0 {
		s.Tgtadm(t, "--op", "update", "--mode", "logicalunit", "--tid", tid, "--lun", lun, "--params", strings.Join(ps, ","))
	}
	for _, a := range e.Addresses {
		s.Tgtadm(t, "--op", "bind", "--mode", "target", "--tid", tid, "--initiator-address", a)
	}
	for _, n := range e.Names {
		s.Tgtadm(t, "--op", "bind", "--mode", "target", "--tid", tid, "--initiator-name", n)
	}
}

// URL is the libiscsi URL of an LU on this stack's portal.
func (s *Stack) URL(iqn string, lun int) string {
	return fmt.Sprintf("iscsi://%s/%s/%d", s.Portal, iqn, lun)
}

// Write writes data at off over iSCSI (qemu-io, which flushes at exit).
func (s *Stack) Write(t testing.TB, iqn string, lun int, off int64, data []byte) {
	t.Helper()
	src := filepath.Join(s.dir, fmt.Sprintf("w-%d.bin", time.Now().UnixNano()))
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(src)
	s.Run(t, QemuIO, "-f", "raw", "-c", fmt.Sprintf("write -s %s %d %d", src, off, len(data)), s.URL(iqn, lun))
}

// ReadAll reads the whole LU over iSCSI (qemu-img convert).
func (s *Stack) ReadAll(t testing.TB, iqn string, lun int) []byte {
	t.Helper()
	dst := filepath.Join(s.dir, fmt.Sprintf("r-%d.raw", time.Now().UnixNano()))
	defer os.Remove(dst)
	s.Run(t, QemuImg, "convert", "-f", "raw", "-O", "raw", s.URL(iqn, lun), dst)
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Read reads n bytes at off over iSCSI.
func (s *Stack) Read(t testing.TB, iqn string, lun int, off int64, n int) []byte {
	t.Helper()
	b := s.ReadAll(t, iqn, lun)
	if off+int64(n) > int64(len(b)) {
		t.Fatalf("read %d bytes at %d: the LU has %d", n, off, len(b))
	}
	return b[off : off+int64(n)]
}

// Inquiry returns iscsi-inq's output: the standard INQUIRY for page < 0,
// else VPD page (128 = 0x80 unit serial number, 131 = 0x83 device
// identification; decimal, docs/platform/linux-tgt.md §6.3).
func (s *Stack) Inquiry(t testing.TB, iqn string, lun, page int) string {
	t.Helper()
	if page < 0 {
		return s.Run(t, IscsiInq, s.URL(iqn, lun))
	}
	return s.Run(t, IscsiInq, "-e", "1", "-c", strconv.Itoa(page), s.URL(iqn, lun))
}

// Capacity is the LU's exact size in bytes (iscsi-readcapacity16 -s).
func (s *Stack) Capacity(t testing.TB, iqn string, lun int) int64 {
	t.Helper()
	out := s.Run(t, IscsiCap, "-s", s.URL(iqn, lun))
	n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("iscsi-readcapacity16 -s: %q", out)
	}
	return n
}

// Session logs an initiator in and keeps the session open until the
// returned function is called (qemu-io waiting on its stdin).
func (s *Stack) Session(t testing.TB, iqn string, lun int) (stop func()) {
	t.Helper()
	cmd := exec.Command(QemuIO, "-f", "raw", s.URL(iqn, lun))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		fmt.Fprintln(in, "quit")
		in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if strings.Contains(s.Show(t), "I_T nexus: ") {
			return stop
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("qemu-io did not log in to %s: %s", iqn, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
