package solaris

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// The keep saga's shape and plan, from a journaled operation alone (no
// host): which steps, in which order, which is the commit, which are in
// the outage window, and the argv each plans.

const (
	keepSuffix = ".kept-9-20261207T152435Z"
	keepGUID   = "600144F0000000000000000000000001"
)

func keepOp(kind string, lus, zones bool, members int) *store.Operation {
	id := func(vol string) store.Identity {
		i := store.Identity{Volume: vol, Snapshot: vol + "@snap1", Kept: vol + keepSuffix,
			NewerSnapshots: []string{vol + "@snap2"}, LocalProps: map[string]string{"compression": "on"}}
		if lus {
			i.LUs = []store.LU{{GUID: keepGUID, DataFile: "/dev/zvol/rdsk/" + vol, Alias: "idisk0", Size: 1 << 30,
				BlockSize: 512, Views: []store.View{{HostGroup: "hg-kz", TargetGroup: "All", LUN: 0}}}}
		}
		return i
	}
	op := &store.Operation{ID: 9, Kind: kind, Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", Identity: id("pool/idisk0"),
		Options: store.Options{Keep: true, KeptSuffix: keepSuffix, HaltZones: true}}
	if kind == store.KindUndo {
		op.Options.Undo = 7
		op.Identity.Restore = "pool/idisk0.kept-7-20261207T150000Z"
		op.Options.Restore = map[string]string{"pool/idisk0": op.Identity.Restore}
	}
	for i := range members {
		vol := "pool/idisk" + string(rune('1'+i))
		m := id(vol)
		m.LUs[0].GUID = strings.Replace(keepGUID, "1", "2", 1)
		op.Members = append(op.Members, m)
	}
	if zones {
		op.Identity.Zones = []store.Zone{{Name: "kz1", State: "running", Brand: "solaris-kz", Storage: []string{"dev:zvol/dsk/pool/idisk0"}}}
	}
	return op
}

func stepNames(steps []engine.Step) string {
	var out []string
	for _, st := range steps {
		name := st.Name
		if st.Commit {
			name += "*"
		}
		if st.OutageWindow {
			name = "[" + name + "]"
		}
		out = append(out, name)
	}
	return strings.Join(out, " ")
}

func TestKeepSteps(t *testing.T) {
	b := New(DefaultPaths)
	forget := &store.Operation{ID: 12, Kind: store.KindForget, Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1",
		Options:  store.Options{Forget: 9, ForgetDatasets: []string{"pool/idisk0" + keepSuffix}},
		Identity: store.Identity{Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", Kept: "pool/idisk0" + keepSuffix}}
	for _, tc := range []struct {
		name string
		op   *store.Operation
		want string
	}{
		{name: "keep", op: keepOp(store.KindRollback, true, true, 0),
			want: "stop-zones detach-zones [delete-lu] [set-aside] [clone] [promote*] [create-lu] restore-views resize-lu verify mark-kept attach-zones boot-zones"},
		{name: "undo", op: keepOp(store.KindUndo, true, true, 0),
			want: "stop-zones detach-zones [delete-lu] [set-aside] [bring-back] [promote*] [create-lu] restore-views resize-lu verify mark-kept attach-zones boot-zones"},
		{name: "group", op: keepOp(store.KindRollback, true, false, 1),
			want: "[delete-lu] [set-aside] [clone] [promote*] [finish-promote] [create-lu] restore-views resize-lu verify mark-kept"},
		{name: "no LU", op: keepOp(store.KindRollback, false, false, 0),
			want: "set-aside clone promote* verify mark-kept"},
		{name: "forget", op: forget, want: "destroy-kept*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := b.Steps(tc.op)
			if got := stepNames(steps); got != tc.want {
				t.Errorf("steps\n %s\nwant\n %s", got, tc.want)
			}
			for _, st := range steps {
				if st.Commit && st.Check == nil {
					t.Errorf("commit %s has no Check", st.Name)
				}
				for _, p := range st.Planned {
					if slices.Contains(p, "import-lu") || slices.Contains(p, "rollback") {
						t.Errorf("step %s plans %q: a keep never imports the LU nor rolls back", st.Name, p)
					}
				}
			}
		})
	}
}

// planned is every planned command of the steps, "name: argv".
func planned(steps []engine.Step) []string {
	var out []string
	for _, st := range steps {
		for _, p := range st.Planned {
			out = append(out, st.Name+": "+strings.Join(p, " "))
		}
	}
	return out
}

func TestKeepPlanShowsEveryCommand(t *testing.T) {
	b := New(DefaultPaths)
	op := keepOp(store.KindRollback, true, false, 0)
	got := planned(b.Steps(op))
	kept := "pool/idisk0" + keepSuffix
	for _, want := range []string{
		"delete-lu: /usr/sbin/stmfadm delete-lu -k " + keepGUID,
		"set-aside: /usr/sbin/zfs rename pool/idisk0 " + kept,
		"clone: /usr/sbin/zfs clone -o compression=on " + kept + "@snap1 pool/idisk0",
		"promote: /usr/sbin/zfs promote pool/idisk0",
		"create-lu: /usr/sbin/stmfadm create-lu -p guid=" + keepGUID + " -p alias=idisk0 -p blk=512 -p wp=false -p wcd=false /dev/zvol/rdsk/pool/idisk0",
		"restore-views: /usr/sbin/stmfadm list-view -l " + keepGUID,
		"verify: /usr/sbin/zfs get -H -p -d 1 -o name,property,value,source type,creation,used,referenced,volsize,mountpoint,createtxg,userrefs " + kept,
		"resize-lu: /usr/sbin/stmfadm modify-lu -s <1073741824, or the clone's volsize if smaller, when create-lu made the LU larger> " + keepGUID,
		"mark-kept: /usr/sbin/zfs set volctl:kept=operation 9: pool/idisk0 before it went back to pool/idisk0@snap1 " + kept,
	} {
		if !slices.Contains(got, want) {
			t.Errorf("the plan lacks %q; it has:\n%s", want, strings.Join(got, "\n"))
		}
	}
	// Undo: the kept dataset comes back, and its old mark goes from the
	// volume.
	got = planned(b.Steps(keepOp(store.KindUndo, true, false, 0)))
	for _, want := range []string{
		"bring-back: /usr/sbin/zfs rename pool/idisk0.kept-7-20261207T150000Z pool/idisk0",
		"mark-kept: /usr/sbin/zfs inherit volctl:kept pool/idisk0",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("the undo's plan lacks %q; it has:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// A keep's create-lu gives the LU the whole clone: resize-lu runs whenever
// the LU may be smaller than the volume, also where the snapshot's size is
// known.
func TestKeepResizesASmallerLU(t *testing.T) {
	id := keepOp(store.KindRollback, true, false, 0).Identity
	id.SnapshotVolsize = id.LUs[0].Size
	if needsResize(id) {
		t.Error("an LU of the volume's size needs no resize")
	}
	id.SnapshotVolsize = 2 * id.LUs[0].Size
	if !needsResize(id) {
		t.Error("keep: an LU smaller than the clone is not resized to its captured size")
	}
	id.Kept = ""
	if needsResize(id) {
		t.Error("rollback: import-lu keeps an LU smaller than the volume as it was: no resize")
	}
}

func TestCheckKeepOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts store.Options
		want error
	}{
		{name: "keep", opts: store.Options{Keep: true, KeptSuffix: keepSuffix}},
		{name: "not a keep", opts: store.Options{DestroyNewer: true}},
		{name: "destroy_newer means nothing with keep", opts: store.Options{Keep: true, KeptSuffix: keepSuffix, DestroyNewer: true}, want: engine.ErrInvalid},
		{name: "no suffix", opts: store.Options{Keep: true}, want: engine.ErrInvalid},
		{name: "undo without what to bring back", opts: store.Options{Keep: true, KeptSuffix: keepSuffix, Undo: 7}, want: engine.ErrInvalid},
		{name: "undo of a bad name", opts: store.Options{Keep: true, KeptSuffix: keepSuffix, Undo: 7,
			Restore: map[string]string{"pool/idisk0": "pool/idisk0 -r"}}, want: engine.ErrInvalid},
		{name: "undo", opts: store.Options{Keep: true, KeptSuffix: keepSuffix, Undo: 7,
			Restore: map[string]string{"pool/idisk0": "pool/idisk0.kept-7-20261207T150000Z"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkKeepOptions("pool/idisk0", tc.opts)
			if (err == nil) != (tc.want == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAssessKeep(t *testing.T) {
	id := keepOp(store.KindRollback, true, false, 0).Identity
	id.KeptUsed = 123456
	w, err := assessKeep(id, store.Options{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 1 || !strings.Contains(w[0], id.Kept) || !strings.Contains(w[0], "123456 bytes") ||
		!strings.Contains(w[0], "pool/idisk0@snap2") || !strings.Contains(w[0], "until it is forgotten") {
		t.Errorf("warnings %q", w)
	}
	// create-lu cannot carry an alias with '=': import-lu could, but a
	// clone has no LU metadata to import, so it is a refusal.
	id.LUs[0].Alias = "a=b"
	if _, err := assessKeep(id, store.Options{Keep: true}); !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), "a=b") {
		t.Errorf("err = %v, want a refusal naming the alias", err)
	}
}

// The mark the plan shows is zvol's.
func TestKeepMark(t *testing.T) {
	op := keepOp(store.KindRollback, false, false, 0)
	op.ID = 0 // the plan builds the steps before the operation has its id: the suffix has it
	if got, want := zvol.Mark(op, op.Identity), "operation 9: pool/idisk0 before it went back to pool/idisk0@snap1"; got != want {
		t.Errorf("mark %q, want %q", got, want)
	}
}
