package linuxtgt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/engine/backendtest"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/internal/linuxstack"
	"github.com/volctl/volctl/store"
)

// The keep tests (issue 22, docs/keep.md) run on the real stack: a seed of
// suite_test.go (two LUs on files of a zfs-fuse filesystem, exported by
// tgtd with a custom identity and ACL, @s1 taken and the data overwritten
// since), read over iSCSI with the libiscsi initiator, through the engine's
// Rollback (Options.Keep), Undo and Forget.

// keepEngine is an engine with a fresh journal on the host's backend b.
func keepEngine(t *testing.T, b engine.Backend) *engine.Engine {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := engine.New(ctx, db, b, engine.Config{DefaultTimeout: time.Minute, Retries: 2, RetryDelay: 50 * time.Millisecond}, nil)
	t.Cleanup(func() { cancel(); e.Wait(); db.Close() })
	return e
}

func keepRun(e *engine.Engine, snapshot string, opts store.Options) (*store.Operation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return e.Rollback(ctx, engine.Request{Snapshot: snapshot, Options: opts}, func(engine.Event) {})
}

// suffixN is a kept suffix for the backend's capture called directly
// (the engine sets its own).
func suffixN(n uint64) string {
	return zvol.KeptSuffix(n, time.Date(2026, 12, 7, 15, 0, int(n), 0, time.UTC))
}

func keepOpts() store.Options { return store.Options{Keep: true} }

func undoRun(e *engine.Engine, of uint64) (*store.Operation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return e.Undo(ctx, engine.UndoRequest{Operation: of}, func(engine.Event) {})
}

func forgetRun(e *engine.Engine, of uint64) (*store.Operation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return e.Forget(ctx, engine.ForgetRequest{Operation: of, DestroyKept: true}, func(engine.Event) {})
}

// dataset is what zfs says of a dataset, "" for each property when it
// does not exist.
type dataset struct {
	exists                            bool
	origin, mark, mounted, mountpoint string
}

func (h *stackHost) dataset(t *testing.T, ds string) dataset {
	t.Helper()
	out, err := cmd(linuxstack.Zfs, "get", "-H", "-o", "property,value", "origin,mounted,mountpoint,"+zvol.KeptMarkProp, ds)
	if err != nil {
		if strings.Contains(err.Error(), "dataset does not exist") {
			return dataset{}
		}
		t.Fatal(err)
	}
	d := dataset{exists: true}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, "\t")
		switch k {
		case "origin":
			d.origin = v
		case "mounted":
			d.mounted = v
		case "mountpoint":
			d.mountpoint = v
		case zvol.KeptMarkProp:
			d.mark = v
		}
	}
	return d
}

// snapshotsOf lists ds's snapshots (not its children's).
func (h *stackHost) snapshotsOf(t *testing.T, ds string) []string {
	t.Helper()
	out := h.s.Run(t, linuxstack.Zfs, "list", "-H", "-o", "name", "-t", "snapshot", "-r", ds)
	var snaps []string
	for _, n := range strings.Fields(out) {
		if strings.HasPrefix(n, ds+"@") {
			snaps = append(snaps, n)
		}
	}
	slices.Sort(snaps)
	return snaps
}

// keptData reads LUN lun's written range from the backing file in the
// kept dataset ds (mounted where zfs says), to tell which side of the
// snapshot it holds.
func (h *stackHost) keptData(t *testing.T, ds string, lun int) string {
	t.Helper()
	d := h.dataset(t, ds)
	if d.mounted != "yes" {
		return fmt.Sprintf("%s is not mounted (%+v)", ds, d)
	}
	f, err := os.Open(filepath.Join(d.mountpoint, fmt.Sprintf("disk%d.img", lun)))
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b := make([]byte, stackSize)
	if _, err := f.ReadAt(b, stackOff); err != nil {
		return err.Error()
	}
	switch {
	case bytes.Equal(b, stackAtSnap):
		return backendtest.DataAtSnapshot
	case bytes.Equal(b, stackAfter):
		return backendtest.DataAfter
	}
	return fmt.Sprintf("neither: %q", b[:32])
}

// wantKept checks the kept dataset of op: a clone of the snapshot,
// marked with op's mark, holding data (per LUN) and the snapshots snaps.
func (h *stackHost) wantKept(t *testing.T, op *store.Operation, data string, snaps ...string) {
	t.Helper()
	kept := op.Identity.Kept
	if want := h.ds + suffixFor(op); kept != want {
		t.Fatalf("operation %d kept %q, want %q", op.ID, kept, want)
	}
	d := h.dataset(t, kept)
	if !d.exists {
		t.Fatalf("kept dataset %s does not exist", kept)
	}
	if d.origin != op.Snapshot {
		t.Errorf("%s: origin %q, want %s", kept, d.origin, op.Snapshot)
	}
	if want := zvol.KeptMark(op.ID, h.ds, op.Snapshot); d.mark != want {
		t.Errorf("%s: %s %q, want %q", kept, zvol.KeptMarkProp, d.mark, want)
	}
	for _, lun := range h.luns {
		if got := h.keptData(t, kept, lun); got != data {
			t.Errorf("%s, LUN %d's file: %s, want %s", kept, lun, got, data)
		}
	}
	var want []string
	for _, s := range snaps {
		want = append(want, kept+"@"+s)
	}
	if got := h.snapshotsOf(t, kept); !slices.Equal(got, want) {
		t.Errorf("%s's snapshots: %v, want %v", kept, got, want)
	}
}

func suffixFor(op *store.Operation) string { return op.Options.KeptSuffix }

func succeeded(t *testing.T, what string, op *store.Operation, err error) {
	t.Helper()
	if op != nil {
		logBusy(t, what, op)
	}
	if err != nil || op == nil || op.State != store.OpSucceeded {
		if op != nil {
			t.Fatalf("%s: %v (state %s, error %q, attention %q)", what, err, op.State, op.Error, op.Attention)
		}
		t.Fatalf("%s: %v", what, err)
	}
}

// logBusy logs how often zfs answered "dataset is busy" in op's steps
// (docs/platform/linux-tgt.md §11.1).
func logBusy(t *testing.T, what string, op *store.Operation) {
	t.Helper()
	for _, st := range op.Steps {
		n := 0
		for _, c := range append(slices.Clone(st.Commands), st.CompensationCommands...) {
			if strings.Contains(c.Stderr, "dataset is busy") {
				n++
			}
		}
		if n > 0 {
			t.Logf("%s: step %s: %d \"dataset is busy\" answers", what, st.Name, n)
		}
	}
}

func stepNames(op *store.Operation) string {
	var names []string
	for _, s := range op.Steps {
		names = append(names, s.Name)
	}
	return strings.Join(names, " ")
}

// sameExports compares what an initiator and tgtd show of every LU and
// target (State's Exports and Other), and the data, with want.
func sameExports(t *testing.T, what string, want, got backendtest.State, data string) {
	t.Helper()
	if got.Data != data {
		t.Errorf("%s: data over iSCSI is %q, want %q", what, got.Data, data)
	}
	if a, b := fmt.Sprintf("%+v", want.Exports), fmt.Sprintf("%+v", got.Exports); a != b {
		t.Errorf("%s: the LUs changed:\n%s\n->\n%s", what, a, b)
	}
	if a, b := strings.Join(want.Other, "\n"), strings.Join(got.Other, "\n"); a != b {
		t.Errorf("%s: targets changed:\n%s\n->\n%s", what, a, b)
	}
}

const keepStepNames = "capture unbind-initiators delete-lu set-aside clone promote create-lu restore-identity rebind-initiators verify mark-kept"

// TestRealStackKeep: rollback --keep, undo, undo of the undo, forget, end
// to end on the real stack.
func TestRealStackKeep(t *testing.T) {
	s := linuxstack.Start(t)
	h := newStackHost(t, s)
	seed := h.Seed()
	h.Snapshot(t, seed.NewerSnapshot)
	before := h.State(t)
	e := keepEngine(t, h.Backend())

	// rollback --keep: the volume reads the snapshot's data with the same
	// LUs; what it had, with @newer, is in the kept dataset.
	keep, err := keepRun(e, seed.Snapshot, keepOpts())
	succeeded(t, "rollback --keep", keep, err)
	if got := stepNames(keep); got != keepStepNames {
		t.Errorf("steps: %s\nwant:  %s", got, keepStepNames)
	}
	atSnap := h.State(t)
	sameExports(t, "after rollback --keep", before, atSnap, backendtest.DataAtSnapshot)
	if got := h.snapshotsOf(t, h.ds); !slices.Equal(got, []string{seed.Snapshot}) {
		t.Errorf("%s's snapshots after keep: %v, want only %s", h.ds, got, seed.Snapshot)
	}
	h.wantKept(t, keep, backendtest.DataAfter, "newer")
	if v := h.dataset(t, h.ds); v.origin != "-" || v.mounted != "yes" {
		t.Errorf("%s after keep: %+v, want promoted (origin -) and mounted", h.ds, v)
	}
	if keep.Identity.KeptUsed == 0 {
		t.Error("KeptUsed is 0")
	}

	// undo: the data from before comes back, the LUs unchanged; what the
	// keep had put in place is kept in turn.
	undo, err := undoRun(e, keep.ID)
	succeeded(t, "undo", undo, err)
	if got, want := stepNames(undo), strings.Replace(keepStepNames, " clone ", " bring-back ", 1); got != want {
		t.Errorf("undo steps: %s\nwant:       %s", got, want)
	}
	sameExports(t, "after undo", before, h.State(t), backendtest.DataAfter)
	if got, want := h.snapshotsOf(t, h.ds), []string{seed.NewerSnapshot, seed.Snapshot}; !slices.Equal(got, want) {
		t.Errorf("%s's snapshots after undo: %v, want %v", h.ds, got, want)
	}
	if d := h.dataset(t, keep.Identity.Kept); d.exists {
		t.Errorf("%s still exists after the undo brought it back", keep.Identity.Kept)
	}
	h.wantKept(t, undo, backendtest.DataAtSnapshot)

	// undo of the undo. zfs-fuse may keep a hold on the dataset the undo
	// promoted, so that it cannot be renamed again (docs/platform/linux-tgt.md
	// §11.6): then the operation must end rolled back, saying so, with
	// nothing changed.
	last := undo
	redo, err := undoRun(e, undo.ID)
	if redo != nil && redo.State == store.OpRolledBack && strings.Contains(redo.Error, "dataset is busy") {
		logBusy(t, "undo of the undo", redo)
		t.Logf("undo of the undo: rolled back, zfs-fuse kept %s busy (docs/platform/linux-tgt.md §11.6): %s", h.ds, redo.Error)
		if !strings.Contains(redo.Error, "linux-tgt.md §11.6") {
			t.Errorf("the error does not point to docs/platform/linux-tgt.md §11.6: %s", redo.Error)
		}
		sameExports(t, "after the undo of the undo was rolled back", before, h.State(t), backendtest.DataAfter)
		h.wantKept(t, undo, backendtest.DataAtSnapshot)
		if d := h.dataset(t, redo.Identity.Kept); d.exists {
			t.Errorf("%s exists after the rolled back undo", redo.Identity.Kept)
		}
	} else {
		succeeded(t, "undo of the undo", redo, err)
		sameExports(t, "after undo of the undo", before, h.State(t), backendtest.DataAtSnapshot)
		h.wantKept(t, redo, backendtest.DataAfter, "newer")
		if d := h.dataset(t, undo.Identity.Kept); d.exists {
			t.Errorf("%s still exists after the second undo brought it back", undo.Identity.Kept)
		}
		last = redo
	}
	data := h.State(t).Data

	// Undo of the first keep again: it was undone (undo goes last-in
	// first-out): refused before anything runs.
	if _, err := undoRun(e, keep.ID); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("undo of an undone keep: %v, want FailedPrecondition", err)
	}

	// forget: done; the volume is untouched.
	forget, err := forgetRun(e, last.ID)
	succeeded(t, "forget", forget, err)
	if got := stepNames(forget); got != "capture destroy-kept" {
		t.Errorf("forget steps: %s", got)
	}
	if d := h.dataset(t, last.Identity.Kept); d.exists {
		t.Errorf("%s exists after forget", last.Identity.Kept)
	}
	sameExports(t, "after forget", before, h.State(t), data)
}

// TestRealStackKeepRefusals: what the backend's capture refuses before
// anything runs, each on the real stack, with nothing changed. It calls
// Capture itself (the engine sets KeptSuffix), recording every command:
// each only reads.
func TestRealStackKeepRefusals(t *testing.T) {
	s := linuxstack.Start(t)
	h := newStackHost(t, s)
	seed := h.Seed()
	before := h.State(t)
	b := h.Backend()
	var ran [][]string
	run := func(ctx context.Context, argv []string) (*execx.Result, error) {
		ran = append(ran, argv)
		r := execx.Runner{Timeout: time.Minute}
		return r.Run(ctx, argv)
	}
	if _, err := b.Probe(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	refused := func(what string, snapshot string, opts store.Options, want error, text string) {
		t.Helper()
		ran = nil
		_, _, err := b.Capture(context.Background(), run, snapshot, opts)
		if !errors.Is(err, want) || !strings.Contains(fmt.Sprint(err), text) {
			t.Errorf("%s: %v, want %v saying %q", what, err, want, text)
		}
		for _, argv := range ran {
			if !h.Reads(argv) {
				t.Errorf("%s: the refused capture ran %v", what, argv)
			}
		}
	}
	refused("keep with destroy_newer", seed.Snapshot, store.Options{Keep: true, KeptSuffix: suffixN(1), DestroyNewer: true}, engine.ErrInvalid, "destroy_newer")
	refused("keep without a suffix", seed.Snapshot, store.Options{Keep: true}, engine.ErrPrecondition, "suffix")
	s.Run(t, linuxstack.Zfs, "create", h.ds+suffixN(1))
	refused("kept name taken", seed.Snapshot, store.Options{Keep: true, KeptSuffix: suffixN(1)}, engine.ErrPrecondition, "is taken")
	mp := filepath.Join(t.TempDir(), "elsewhere")
	s.Run(t, linuxstack.Zfs, "create", "-o", "mountpoint="+mp, s.Pool+"/localmp")
	s.Run(t, linuxstack.Zfs, "snapshot", s.Pool+"/localmp@s1")
	refused("local mountpoint", s.Pool+"/localmp@s1", store.Options{Keep: true, KeptSuffix: suffixN(2)}, engine.ErrPrecondition, "local mountpoint")
	refused("forget of a dataset without the mark", seed.Snapshot, store.Options{Forget: 1, ForgetDatasets: []string{h.ds + suffixN(1)}}, engine.ErrPrecondition, "volctl destroys only what that operation kept")
	undo := func(restore string) store.Options {
		return store.Options{Keep: true, KeptSuffix: suffixN(4), Undo: 7, Restore: map[string]string{h.ds: restore}}
	}
	refused("undo of a kept dataset that is gone", seed.Snapshot, undo(h.ds+suffixN(9)), engine.ErrPrecondition, "does not exist")
	s.Run(t, linuxstack.Zfs, "create", s.Pool+"/notaclone")
	refused("undo of a dataset that is no clone of the snapshot", seed.Snapshot, undo(s.Pool+"/notaclone"), engine.ErrPrecondition, "is not a clone of")
	s.Run(t, linuxstack.Zfs, "create", h.ds+"/child")
	refused("child dataset", seed.Snapshot, store.Options{Keep: true, KeptSuffix: suffixN(3)}, engine.ErrPrecondition, "child dataset")
	sameExports(t, "after the refusals", before, h.State(t), backendtest.DataAfter)
}
