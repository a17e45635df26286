package linuxtgt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/internal/linuxstack"
	"github.com/volctl/volctl/store"
)

// These tests run the backend's saga through the real engine against a
// private zfs-fuse and tgtd (internal/linuxstack), reading and writing the
// LUs over iSCSI on loopback. They skip when not root or when the packages
// of scripts/linux-deps.sh are missing (VOLCTL_E2E_REQUIRED=1 makes that a
// failure).

// newEngine is an engine with a fresh journal over the stack.
func newEngine(t *testing.T, s *linuxstack.Stack, zfsPath string) *engine.Engine {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	eng := engine.New(ctx, db, New(Paths{Zfs: zfsPath, Tgtadm: linuxstack.Tgtadm, TgtControlPort: s.ControlPort}),
		engine.Config{DefaultTimeout: time.Minute, Retries: 2, RetryDelay: 100 * time.Millisecond}, nil)
	t.Cleanup(func() { cancel(); eng.Wait(); db.Close() })
	return eng
}

// lu is one exported LU of a test.
type testLU struct {
	iqn string
	tid int
	lun int
}

// seen is what an initiator and tgtadm show of an LU: the identity that
// must survive a rollback.
type seen struct {
	inquiry, vpd80, vpd83 string
	capacity              int64
	lun                   tgt.LUN
	acl                   []tgt.ACLRule
}

func look(t *testing.T, s *linuxstack.Stack, l testLU) seen {
	t.Helper()
	ts, err := tgt.ParseTargets([]byte(s.Show(t)))
	if err != nil {
		t.Fatal(err)
	}
	tg, ok := tgt.Find(ts, l.tid)
	if !ok {
		t.Fatalf("target %d is gone", l.tid)
	}
	u, ok := tg.FindLUN(l.lun)
	if !ok {
		t.Fatalf("LUN %d of target %d is gone", l.lun, l.tid)
	}
	return seen{inquiry: s.Inquiry(t, l.iqn, l.lun, -1), vpd80: s.Inquiry(t, l.iqn, l.lun, 128),
		vpd83: s.Inquiry(t, l.iqn, l.lun, 131), capacity: s.Capacity(t, l.iqn, l.lun), lun: u, acl: tg.ACL}
}

func sameSeen(t *testing.T, what string, before, after seen) {
	t.Helper()
	if before.vpd80 != after.vpd80 {
		t.Errorf("%s: VPD 0x80 changed:\n%s\n->\n%s", what, before.vpd80, after.vpd80)
	}
	if before.vpd83 != after.vpd83 {
		t.Errorf("%s: VPD 0x83 changed:\n%q\n->\n%q", what, before.vpd83, after.vpd83)
	}
	if before.inquiry != after.inquiry {
		t.Errorf("%s: INQUIRY changed:\n%s\n->\n%s", what, before.inquiry, after.inquiry)
	}
	if before.capacity != after.capacity {
		t.Errorf("%s: capacity %d -> %d", what, before.capacity, after.capacity)
	}
	if before.lun != after.lun {
		t.Errorf("%s: LU changed:\n%+v\n->\n%+v", what, before.lun, after.lun)
	}
	if fmt.Sprint(before.acl) != fmt.Sprint(after.acl) {
		t.Errorf("%s: ACL changed: %v -> %v", what, before.acl, after.acl)
	}
}

// waitUsed waits until zfs accounts the writes since snap (the only "changed
// since" signal zfs-fuse has, docs/platform/zfs.md §9.2), so that the
// engine's check of a failed rollback is decisive.
func waitUsed(t *testing.T, s *linuxstack.Stack, snap string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		out := s.Run(t, linuxstack.Zfs, "get", "-H", "-p", "-o", "value", "used", snap)
		if n, _ := strconv.ParseUint(strings.TrimSpace(out), 10, 64); n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("used of %s is still 0 after 30 s", snap)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func rollback(t *testing.T, eng *engine.Engine, snap string, opts store.Options) (*store.Operation, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return eng.Rollback(ctx, engine.Request{Snapshot: snap, Options: opts}, func(engine.Event) {})
}

func TestRealStack(t *testing.T) {
	s := linuxstack.Start(t)
	// One stack for every case (starting it is the slow part); each case
	// has its own filesystem and target.
	const initiatorRule = "iqn.2026-11.test:initiator-a"
	setup := func(t *testing.T, name string, tid int) (ds string, lus []testLU) {
		t.Helper()
		ds, mp := s.CreateFS(t, name)
		iqn := "iqn.2026-11.test:" + name
		for i, lun := range []int{1, 3} {
			path := filepath.Join(mp, fmt.Sprintf("disk%d.img", lun))
			s.CreateFile(t, path, 4<<20)
			e := linuxstack.Export{TID: tid, IQN: iqn, LUN: lun, Path: path}
			if i == 0 {
				// A COMSTAR-style GUID and serial on the first, the defaults
				// on the second; bindings by address and by name.
				e.SCSIID = fmt.Sprintf("600144f0aaaabbbb00000000%08x", tid)
				e.SCSISN = "SN-" + strings.ToUpper(name)
				e.Addresses, e.Names = []string{"127.0.0.1"}, []string{initiatorRule}
			}
			s.Export(t, e)
			lus = append(lus, testLU{iqn: iqn, tid: tid, lun: lun})
		}
		return ds, lus
	}
	const off = 64 << 10
	a, b := pattern(0x11, 8192), pattern(0x77, 8192)

	t.Run("rollback restores data and identity", func(t *testing.T) {
		ds, lus := setup(t, "ok", 1)
		eng := newEngine(t, s, linuxstack.Zfs)
		for _, l := range lus {
			s.Write(t, l.iqn, l.lun, off, a)
		}
		if _, err := eng.CreateSnapshot(context.Background(), ds+"@s1"); err != nil {
			t.Fatal(err)
		}
		before := map[int]seen{}
		for _, l := range lus {
			s.Write(t, l.iqn, l.lun, off, b)
			before[l.lun] = look(t, s, l)
		}
		op, err := rollback(t, eng, ds+"@s1", store.Options{})
		if err != nil {
			t.Fatalf("rollback: %v", err)
		}
		if op.State != store.OpSucceeded || len(op.Identity.LUs) != 2 {
			t.Fatalf("operation %s with %d LUs: %s", op.State, len(op.Identity.LUs), op.Error)
		}
		for _, l := range lus {
			if got := s.Read(t, l.iqn, l.lun, off, len(a)); !bytes.Equal(got, a) {
				t.Errorf("LUN %d: data after rollback is not the snapshot's", l.lun)
			}
			sameSeen(t, fmt.Sprintf("LUN %d", l.lun), before[l.lun], look(t, s, l))
		}
		var names []string
		for _, st := range op.Steps {
			names = append(names, st.Name)
		}
		if got := strings.Join(names, " "); got != "capture unbind-initiators delete-lu rollback create-lu restore-identity rebind-initiators verify" {
			t.Errorf("steps: %s", got)
		}
	})

	t.Run("newer snapshot needs consent", func(t *testing.T) {
		ds, lus := setup(t, "newer", 2)
		eng := newEngine(t, s, linuxstack.Zfs)
		s.Write(t, lus[0].iqn, lus[0].lun, off, a)
		s.Run(t, linuxstack.Zfs, "snapshot", ds+"@s1")
		s.Write(t, lus[0].iqn, lus[0].lun, off, b)
		s.Run(t, linuxstack.Zfs, "snapshot", ds+"@s2")
		before := look(t, s, lus[0])
		_, err := rollback(t, eng, ds+"@s1", store.Options{})
		if !errors.Is(err, engine.ErrPrecondition) {
			t.Fatalf("err = %v, want ErrPrecondition", err)
		}
		if ops, _, _ := eng.Operations(0, 10, ""); len(ops) != 0 {
			t.Errorf("a refused rollback journaled %d operations", len(ops))
		}
		if got := s.Read(t, lus[0].iqn, lus[0].lun, off, len(b)); !bytes.Equal(got, b) {
			t.Error("data changed by a refused rollback")
		}
		sameSeen(t, "refused", before, look(t, s, lus[0]))
		op, err := rollback(t, eng, ds+"@s1", store.Options{DestroyNewer: true})
		if err != nil || op.State != store.OpSucceeded {
			t.Fatalf("with --destroy-newer: %v", err)
		}
		if got := s.Read(t, lus[0].iqn, lus[0].lun, off, len(a)); !bytes.Equal(got, a) {
			t.Error("data after rollback -r is not the snapshot's")
		}
		sameSeen(t, "destroy-newer", before, look(t, s, lus[0]))
	})

	t.Run("zfs failure compensates", func(t *testing.T) {
		ds, lus := setup(t, "fail", 3)
		// A zfs whose rollback fails: the engine must give the LUs back with
		// their identity and bindings, and the data must be untouched.
		wrapper := filepath.Join(t.TempDir(), "zfs")
		script := "#!/bin/sh\nif [ \"$1\" = rollback ]; then echo \"cannot rollback: injected failure\" >&2; exit 1; fi\nexec " + linuxstack.Zfs + " \"$@\"\n"
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		eng := newEngine(t, s, wrapper)
		for _, l := range lus {
			s.Write(t, l.iqn, l.lun, off, a)
		}
		s.Run(t, linuxstack.Zfs, "snapshot", ds+"@s1")
		before := map[int]seen{}
		for _, l := range lus {
			s.Write(t, l.iqn, l.lun, off, b)
			before[l.lun] = look(t, s, l)
		}
		waitUsed(t, s, ds+"@s1")
		op, err := rollback(t, eng, ds+"@s1", store.Options{})
		if !errors.Is(err, engine.ErrStepFailed) {
			t.Fatalf("err = %v, want a failed step", err)
		}
		if op == nil || op.State != store.OpRolledBack {
			t.Fatalf("operation %+v, want rolled_back", op)
		}
		if !strings.Contains(op.Error, "injected failure") {
			t.Errorf("error %q does not carry zfs's stderr", op.Error)
		}
		for _, l := range lus {
			if got := s.Read(t, l.iqn, l.lun, off, len(b)); !bytes.Equal(got, b) {
				t.Errorf("LUN %d: data changed by a rollback that failed", l.lun)
			}
			sameSeen(t, fmt.Sprintf("LUN %d", l.lun), before[l.lun], look(t, s, l))
		}
	})

	t.Run("rollback that does nothing is not committed", func(t *testing.T) {
		ds, lus := setup(t, "noop", 5)
		// A zfs whose rollback exits 0 and changes nothing (OpenZFS #13365):
		// the read-back right after it says so, and the saga compensates at
		// once (engine.ErrNotCommitted: no retry of a rollback that does
		// nothing).
		wrapper := filepath.Join(t.TempDir(), "zfs")
		script := "#!/bin/sh\nif [ \"$1\" = rollback ]; then exit 0; fi\nexec " + linuxstack.Zfs + " \"$@\"\n"
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		eng := newEngine(t, s, wrapper)
		s.Write(t, lus[0].iqn, lus[0].lun, off, a)
		s.Run(t, linuxstack.Zfs, "snapshot", ds+"@s1")
		s.Write(t, lus[0].iqn, lus[0].lun, off, b)
		before := look(t, s, lus[0])
		waitUsed(t, s, ds+"@s1")
		op, err := rollback(t, eng, ds+"@s1", store.Options{})
		if !errors.Is(err, engine.ErrStepFailed) {
			t.Fatalf("err = %v, want a failed step", err)
		}
		if op == nil || op.State != store.OpRolledBack {
			t.Fatalf("operation %+v, want rolled_back", op)
		}
		if !strings.Contains(op.Error, "after zfs rollback exited 0: "+engine.ErrNotCommitted.Error()) {
			t.Errorf("error %q does not say the rollback did not take effect", op.Error)
		}
		for _, st := range op.Steps {
			if st.Name == "rollback" && st.Attempts != 1 {
				t.Errorf("rollback ran %d times, want once", st.Attempts)
			}
		}
		if got := s.Read(t, lus[0].iqn, lus[0].lun, off, len(b)); !bytes.Equal(got, b) {
			t.Error("data changed by a rollback that did nothing")
		}
		sameSeen(t, "not committed", before, look(t, s, lus[0]))
	})

	t.Run("connected initiator", func(t *testing.T) {
		ds, lus := setup(t, "sess", 4)
		eng := newEngine(t, s, linuxstack.Zfs)
		s.Write(t, lus[0].iqn, lus[0].lun, off, a)
		s.Run(t, linuxstack.Zfs, "snapshot", ds+"@s1")
		s.Write(t, lus[0].iqn, lus[0].lun, off, b)
		before := look(t, s, lus[0])
		stop := s.Session(t, lus[0].iqn, lus[0].lun)
		_, err := rollback(t, eng, ds+"@s1", store.Options{})
		if !errors.Is(err, engine.ErrPrecondition) {
			t.Fatalf("with a session: err = %v, want ErrPrecondition", err)
		}
		op, err := rollback(t, eng, ds+"@s1", store.Options{AcceptSessions: true})
		stop()
		if err != nil || op.State != store.OpSucceeded {
			t.Fatalf("with --accept-sessions: %v", err)
		}
		if got := s.Read(t, lus[0].iqn, lus[0].lun, off, len(a)); !bytes.Equal(got, a) {
			t.Error("data after rollback is not the snapshot's")
		}
		sameSeen(t, "accept-sessions", before, look(t, s, lus[0]))
	})
}
