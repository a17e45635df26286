package linuxtgt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/internal/linuxstack"
	"github.com/volctl/volctl/sim/simtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	simtest.Cleanup()
	os.Exit(code)
}

// TestE2EDaemonCLI is the Linux story end to end through the real volctld
// and volctl: an LU on a file in a zfs-fuse filesystem, exported by tgtd,
// written over iSCSI, snapshotted, overwritten over iSCSI, rolled back with
// `volctl rollback`, and read back over iSCSI: the bytes are the snapshot's,
// VPD 0x80/0x83, the LUN and the bindings unchanged. A rollback refused on
// the ZFS side (a newer snapshot without --destroy-newer) changes nothing.
// `make demo-linux` runs it with -v to show the transcript.
func TestE2EDaemonCLI(t *testing.T) {
	s := linuxstack.Start(t)
	bin := simtest.Build(t)
	ds, mp := s.CreateFS(t, "cli")
	l := testLU{iqn: "iqn.2026-11.test:cli", tid: 21, lun: 1}
	path := filepath.Join(mp, "disk1.img")
	s.CreateFile(t, path, 4<<20)
	s.Export(t, linuxstack.Export{TID: l.tid, IQN: l.iqn, LUN: l.lun, Path: path,
		SCSIID: "volctl-e2e-id", SCSISN: "VE2E0001", Addresses: []string{"127.0.0.1"}, Names: []string{"iqn.2026-11.test:initiator-a"}})

	atSnap := pattern(1, 64<<10)
	s.Write(t, l.iqn, l.lun, 0, atSnap)
	s.Run(t, linuxstack.Zfs, "snapshot", ds+"@s1")
	s.Write(t, l.iqn, l.lun, 0, pattern(99, 64<<10))
	waitUsed(t, s, ds+"@s1")
	before := look(t, s, l)
	if bytes.Equal(s.Read(t, l.iqn, l.lun, 0, len(atSnap)), atSnap) {
		t.Fatal("the overwrite did not reach the LU")
	}

	sock := startVolctld(t, bin, s)
	volctl := func(want int, args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "volctl"), append([]string{"--socket", sock}, args...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("$ volctl %s   (exit %d)\n%s", strings.Join(args, " "), code, out)
		if code != want {
			t.Fatalf("volctl %s exited %d, want %d", strings.Join(args, " "), code, want)
		}
		return string(out)
	}

	volctl(0, "show", ds)
	out := volctl(0, "rollback", ds+"@s1")
	if !strings.Contains(out, "succeeded") {
		t.Fatalf("rollback did not succeed:\n%s", out)
	}
	if got := s.Read(t, l.iqn, l.lun, 0, len(atSnap)); !bytes.Equal(got, atSnap) {
		t.Fatal("after the rollback the LU does not read the snapshot's bytes over iSCSI")
	}
	sameSeen(t, "after volctl rollback", before, look(t, s, l))
	volctl(0, "op", "show", "1")

	// Refused on the ZFS side: a newer snapshot without --destroy-newer.
	later := pattern(42, 64<<10)
	s.Write(t, l.iqn, l.lun, 0, later)
	s.Run(t, linuxstack.Zfs, "snapshot", ds+"@s2")
	out = volctl(9, "rollback", ds+"@s1")
	if !strings.Contains(out, "--destroy-newer") {
		t.Errorf("refusal does not say what to do:\n%s", out)
	}
	if got := s.Read(t, l.iqn, l.lun, 0, len(later)); !bytes.Equal(got, later) {
		t.Error("a refused rollback changed the data")
	}
	sameSeen(t, "after a refused rollback", before, look(t, s, l))
	volctl(0, "history")
}

// startVolctld runs volctld (platform linux-tgt) against the stack and
// returns its socket.
func startVolctld(t *testing.T, bin string, s *linuxstack.Stack) string {
	t.Helper()
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "vl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	cfg := fmt.Sprintf(`platform = "linux-tgt"
socket = %q
db = %q
retry_delay = "100ms"
[commands]
zfs = %q
tgtadm = %q
tgt_control_port = %q
`, sock, filepath.Join(dir, "journal.db"), linuxstack.Zfs, linuxstack.Tgtadm, s.ControlPort)
	cfgPath := filepath.Join(dir, "volctld.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "volctld.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "volctld"), "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "volctld.log"))
			t.Logf("volctld log:\n%s", b)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("volctld did not start")
	return ""
}
