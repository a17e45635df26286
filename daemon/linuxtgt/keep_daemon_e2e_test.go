package linuxtgt

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volctl/volctl/internal/linuxstack"
	"github.com/volctl/volctl/sim/simtest"
)

// TestE2EDaemonCLIKeep is rollback --keep, kept, undo and forget through
// the real volctld and volctl on the Linux stack: the LU reads the
// snapshot's bytes over iSCSI after the keep and its own again after the
// undo, with the same VPD pages, LUN and bindings; kept lists what is
// held; forget destroys it.
func TestE2EDaemonCLIKeep(t *testing.T) {
	s := linuxstack.Start(t)
	bin := simtest.Build(t)
	ds, mp := s.CreateFS(t, "clikeep")
	l := testLU{iqn: "iqn.2026-12.test:clikeep", tid: 22, lun: 1}
	path := filepath.Join(mp, "disk1.img")
	s.CreateFile(t, path, 4<<20)
	s.Export(t, linuxstack.Export{TID: l.tid, IQN: l.iqn, LUN: l.lun, Path: path,
		SCSIID: "600144f0aaaabbbb0000000000000022", SCSISN: "VKEEP001", Addresses: []string{"127.0.0.1"}})
	atSnap, after := pattern(3, 64<<10), pattern(77, 64<<10)
	s.Write(t, l.iqn, l.lun, 0, atSnap)
	s.Run(t, linuxstack.Zfs, "snapshot", ds+"@s1")
	s.Write(t, l.iqn, l.lun, 0, after)
	s.Run(t, linuxstack.Zfs, "snapshot", ds+"@s2")
	before := look(t, s, l)

	sock := startVolctld(t, bin, s)
	// volctl runs the CLI and wants exit want (-1: 0 or 10, an operation
	// that failed and was rolled back).
	volctl := func(want int, args ...string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(bin, "volctl"), append([]string{"--socket", sock}, args...)...).CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("$ volctl %s   (exit %d)\n%s", strings.Join(args, " "), code, out)
		if code != want && (want != -1 || code != 0 && code != 10) {
			t.Fatalf("volctl %s exited %d, want %d", strings.Join(args, " "), code, want)
		}
		return string(out)
	}
	reads := func(what string, want []byte) {
		t.Helper()
		if got := s.Read(t, l.iqn, l.lun, 0, len(want)); !bytes.Equal(got, want) {
			t.Errorf("%s: the LU does not read the expected bytes over iSCSI", what)
		}
		sameSeen(t, what, before, look(t, s, l))
	}

	if out := volctl(0, "rollback", "--keep", "--dry-run", ds+"@s1"); !strings.Contains(out, "zfs clone") || !strings.Contains(out, "Dry run") {
		t.Errorf("the keep plan does not show the clone:\n%s", out)
	}
	volctl(0, "rollback", "--keep", ds+"@s1")
	reads("after rollback --keep", atSnap)
	out := volctl(0, "kept")
	if !strings.Contains(out, ds+".kept-1-") {
		t.Errorf("kept does not list %s.kept-1-...:\n%s", ds, out)
	}
	volctl(0, "undo", "1")
	reads("after undo", after)
	// zfs-fuse may keep the volume busy after the undo's promote
	// (docs/platform/linux-tgt.md §11.6): the second undo is then rolled
	// back (exit 10), and the LU reads the undo's data still.
	out = volctl(-1, "undo", "2")
	last := "3"
	if strings.Contains(out, "Operation 3 rolled_back") {
		reads("after the undo of the undo was rolled back", after)
		last = "2"
	} else {
		reads("after the undo of the undo", atSnap)
	}
	volctl(0, "forget", "--destroy-kept", last)
	volctl(0, "kept")
	if o := s.Run(t, linuxstack.Zfs, "list", "-H", "-o", "name", "-r", s.Pool); strings.Contains(o, ".kept-"+last+"-") {
		t.Errorf("the kept dataset of operation %s is still there:\n%s", last, o)
	}
}
