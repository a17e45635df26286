package store

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var keptT0 = time.Date(2026, 12, 7, 15, 24, 35, 0, time.UTC)

// keepOp is an operation of kind with Options.Keep whose steps are
// capture, set-aside, promote (the commit) and mark-kept, the commit in
// state commit; vols are its volumes (the first is Identity), each kept
// as VOL.kept-ID.
func keepOp(id uint64, kind string, commit StepState, vols ...string) *Operation {
	op := &Operation{ID: id, Kind: kind, Platform: "fake", Volume: vols[0], Snapshot: vols[0] + "@s",
		Options: Options{Keep: true, KeptSuffix: ".kept-x"}, State: OpRunning, Created: keptT0, Updated: keptT0.Add(time.Minute),
		Steps: []Step{{Name: "capture", State: StepDone}, {Name: "set-aside", State: StepDone},
			{Name: "promote", Commit: true, State: commit, Finished: keptT0.Add(30 * time.Second)}, {Name: "mark-kept", State: StepPending}}}
	for i, v := range vols {
		idn := Identity{Volume: v, Snapshot: v + "@s", Kept: fmt.Sprintf("%s.kept-%d", v, id), KeptUsed: 1000 * uint64(i+1)}
		if i == 0 {
			op.Identity = idn
		} else {
			op.Members = append(op.Members, idn)
		}
	}
	return op
}

func keptStates(t *testing.T, db *DB, id uint64) []string {
	t.Helper()
	recs, err := db.KeptOf(id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range recs {
		s := k.Dataset + "=" + string(k.State)
		if k.By != 0 {
			s += fmt.Sprintf(" by %d", k.By)
		}
		out = append(out, s)
	}
	return out
}

// TestKeptRecordsFollowTheJournal: the records are written, changed and
// taken back by the operation writes alone (each a step of an operation's
// life), in the same transaction.
func TestKeptRecordsFollowTheJournal(t *testing.T) {
	undo := func(id, of uint64, commit StepState) *Operation {
		op := keepOp(id, KindUndo, commit, "pool/a")
		op.Options.Undo = of
		op.Options.Restore = map[string]string{"pool/a": "pool/a.kept-1"}
		return op
	}
	forget := func(id, of uint64, commit StepState, ds ...string) *Operation {
		return &Operation{ID: id, Kind: KindForget, Volume: "pool/a", State: OpRunning, Updated: keptT0.Add(time.Hour),
			Options: Options{Forget: of, ForgetDatasets: ds},
			Steps:   []Step{{Name: "capture", State: StepDone}, {Name: "destroy-kept", Commit: true, State: commit}}}
	}
	plain := keepOp(1, KindRollback, StepDone, "pool/a")
	plain.Options.Keep = false
	cases := []struct {
		name   string
		writes []*Operation
		want   map[uint64][]string
	}{
		{"a keep rollback before its commit keeps nothing", []*Operation{keepOp(1, KindRollback, StepPending, "pool/a"), keepOp(1, KindRollback, StepRunning, "pool/a")},
			map[uint64][]string{1: nil}},
		{"its commit done: one record per volume", []*Operation{keepOp(1, KindRollback, StepRunning, "pool/a", "pool/b"), keepOp(1, KindRollback, StepDone, "pool/a", "pool/b")},
			map[uint64][]string{1: {"pool/a.kept-1=kept", "pool/b.kept-1=kept"}}},
		{"a rollback without keep keeps nothing", []*Operation{plain}, map[uint64][]string{1: nil}},
		{"a commit that did not take effect after all takes them back", []*Operation{keepOp(1, KindRollback, StepDone, "pool/a"), keepOp(1, KindRollback, StepFailed, "pool/a")},
			map[uint64][]string{1: nil}},
		{"an undo's commit keeps its own and marks the undone", []*Operation{keepOp(1, KindRollback, StepDone, "pool/a"), undo(2, 1, StepRunning), undo(2, 1, StepDone)},
			map[uint64][]string{1: {"pool/a.kept-1=undone by 2"}, 2: {"pool/a.kept-2=kept"}}},
		{"an undo before its commit marks nothing", []*Operation{keepOp(1, KindRollback, StepDone, "pool/a"), undo(2, 1, StepRunning)},
			map[uint64][]string{1: {"pool/a.kept-1=kept"}, 2: nil}},
		{"an undo whose commit did not take effect gives the mark back", []*Operation{keepOp(1, KindRollback, StepDone, "pool/a"), undo(2, 1, StepDone), undo(2, 1, StepFailed)},
			map[uint64][]string{1: {"pool/a.kept-1=kept"}, 2: nil}},
		{"a forget's commit done marks them forgotten", []*Operation{keepOp(1, KindRollback, StepDone, "pool/a"), forget(2, 1, StepRunning), forget(2, 1, StepDone)},
			map[uint64][]string{1: {"pool/a.kept-1=forgotten by 2"}}},
		{"a forget before its commit marks nothing", []*Operation{keepOp(1, KindRollback, StepDone, "pool/a"), forget(2, 1, StepFailed)},
			map[uint64][]string{1: {"pool/a.kept-1=kept"}}},
		{"a forget marks only the datasets it names", []*Operation{keepOp(1, KindRollback, StepDone, "pool/a", "pool/b"), forget(2, 1, StepDone, "pool/b.kept-1")},
			map[uint64][]string{1: {"pool/a.kept-1=kept", "pool/b.kept-1=forgotten by 2"}}},
		{"an undone record is not forgotten", []*Operation{keepOp(1, KindRollback, StepDone, "pool/a"), undo(2, 1, StepDone), forget(3, 1, StepDone)},
			map[uint64][]string{1: {"pool/a.kept-1=undone by 2"}}},
		{"a record is written once: later writes keep its state", []*Operation{keepOp(1, KindRollback, StepDone, "pool/a"), undo(2, 1, StepDone), keepOp(1, KindRollback, StepDone, "pool/a")},
			map[uint64][]string{1: {"pool/a.kept-1=undone by 2"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(filepath.Join(t.TempDir(), "j.db"), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, op := range tc.writes {
				if err := db.PutOperation(op); err != nil {
					t.Fatal(err)
				}
			}
			for id, want := range tc.want {
				if got := keptStates(t, db, id); !reflect.DeepEqual(got, want) {
					t.Errorf("records of %d = %q, want %q", id, got, want)
				}
			}
		})
	}
}

// TestKeptRecordFields: a record says what it kept, from when, and the
// listing is newest first.
func TestKeptRecordFields(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "j.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, op := range []*Operation{keepOp(1, KindRollback, StepDone, "pool/a"), keepOp(3, KindRollback, StepDone, "pool/b", "pool/c")} {
		if err := db.PutOperation(op); err != nil {
			t.Fatal(err)
		}
	}
	all, err := db.ListKept()
	if err != nil {
		t.Fatal(err)
	}
	want := []Kept{
		{Op: 3, Kind: KindRollback, Volume: "pool/b", Snapshot: "pool/b@s", Dataset: "pool/b.kept-3", Created: keptT0.Add(30 * time.Second), UsedAtCapture: 1000, State: KeptKept},
		{Op: 3, Kind: KindRollback, Volume: "pool/c", Snapshot: "pool/c@s", Dataset: "pool/c.kept-3", Created: keptT0.Add(30 * time.Second), UsedAtCapture: 2000, State: KeptKept},
		{Op: 1, Kind: KindRollback, Volume: "pool/a", Snapshot: "pool/a@s", Dataset: "pool/a.kept-1", Created: keptT0.Add(30 * time.Second), UsedAtCapture: 1000, State: KeptKept},
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("ListKept =\n%+v\nwant\n%+v", all, want)
	}
	later, err := db.LaterOperations(1, nil)
	if err != nil || len(later) != 1 || later[0].ID != 3 {
		t.Errorf("LaterOperations(1) = %v, %v; want operation 3", later, err)
	}
}

// TestKeepFieldsRoundTrip: what the engine journals for a keep, an undo
// and a forget comes back whole from JSON.
func TestKeepFieldsRoundTrip(t *testing.T) {
	op := keepOp(4, KindUndo, StepDone, "pool/a", "pool/b")
	op.Options.Undo, op.Options.Restore = 2, map[string]string{"pool/a": "pool/a.kept-2", "pool/b": "pool/b.kept-2"}
	op.Options.Forget, op.Options.ForgetDatasets = 1, []string{"pool/a.kept-1"}
	op.Identity.Restore, op.Identity.LocalProps = "pool/a.kept-2", map[string]string{"compression": "lz4"}
	b, err := json.Marshal(op)
	if err != nil {
		t.Fatal(err)
	}
	var got Operation
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, op) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, *op)
	}
	k := Kept{Op: 4, Kind: KindUndo, Volume: "pool/a", Snapshot: "pool/a@s", Dataset: "pool/a.kept-4", Created: keptT0,
		UsedAtCapture: 7, State: KeptUndone, By: 5, Changed: keptT0.Add(time.Hour)}
	b, _ = json.Marshal(k)
	var gk Kept
	if err := json.Unmarshal(b, &gk); err != nil || !reflect.DeepEqual(gk, k) {
		t.Errorf("kept round trip: %+v, %v; want %+v", gk, err, k)
	}
}

// journalV6Keep writes, as a schema-6 daemon would have, a keep rollback
// whose commit is done and an undo of it (no daemon before schema 7 ran
// them; migration 7 records what such a journal says).
func journalV6Keep(t *testing.T, b *bolt.DB) {
	t.Helper()
	undo := keepOp(21, KindUndo, StepDone, "pool/k")
	undo.Options.Undo = 20
	if err := b.Update(func(tx *bolt.Tx) error {
		for _, op := range []*Operation{keepOp(20, KindRollback, StepDone, "pool/k"), undo} {
			v, _ := json.Marshal(op)
			if err := tx.Bucket(bucketRoot).Bucket(bucketOps).Put(u64(op.ID), v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func testMigrationV7(t *testing.T, b *bolt.DB) {
	got := map[uint64][]Kept{}
	mustView(t, b, func(tx *bolt.Tx) {
		kb := tx.Bucket(bucketRoot).Bucket(bucketKept)
		if kb == nil {
			t.Fatal("kept bucket missing after v7")
		}
		_ = kb.ForEach(func(k, v []byte) error {
			var recs []Kept
			if err := json.Unmarshal(v, &recs); err != nil {
				t.Errorf("kept entry %x: %v", k, err)
			}
			got[u64of(k)] = recs
			return nil
		})
	})
	if len(got) != 2 || len(got[20]) != 1 || got[20][0].State != KeptUndone || got[20][0].By != 21 ||
		len(got[21]) != 1 || got[21][0].State != KeptKept || got[21][0].Dataset != "pool/k.kept-21" {
		t.Errorf("kept records after v7 = %+v; want 20 undone by 21, 21 kept", got)
	}
}

func u64of(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}
