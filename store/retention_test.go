package store

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestPruneOperations: past the limits, finished operations go with their
// indexes; what recovery and undo need stays.
func TestPruneOperations(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "j.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	old, recent := now.Add(-400*24*time.Hour), now.Add(-time.Hour)
	op := func(id uint64, vol string, st OpState, at time.Time) *Operation {
		return &Operation{ID: id, Kind: KindRollback, Volume: vol, Snapshot: vol + "@s", State: st, Created: at, Updated: at,
			Identity: Identity{Volume: vol, Snapshot: vol + "@s"}}
	}
	keep := op(5, "pool/k", OpSucceeded, old)
	keep.Options.Keep = true
	keep.Identity.Kept = "pool/k.kept-5"
	keep.Steps = []Step{{Name: "set-aside", Commit: true, State: StepDone, Finished: old}}
	withReq := op(1, "pool/a", OpSucceeded, old)
	withReq.RequestID = "req-1"
	ops := []*Operation{
		withReq,
		op(2, "pool/a", OpRolledBack, old),
		op(3, "pool/b", OpNeedsAttention, old), // recover needs it
		op(4, "pool/c", OpRunning, old),        // resumed at start
		keep,                                   // its kept dataset exists
		op(6, "pool/k", OpSucceeded, old),      // after it on its volume: undo reads it
		op(7, "pool/a", OpSucceeded, old),
		op(8, "pool/a", OpSucceeded, recent),
		op(9, "pool/b", OpSucceeded, recent),
	}
	if err := db.ImportOperations(ops); err != nil {
		t.Fatal(err)
	}
	// Two at a time: the first call drops 1 and 2 and says there is more.
	res, err := db.PruneOperations(Prune{Before: now.Add(-365 * 24 * time.Hour), Max: 2})
	if err != nil || res.Dropped != 2 || !res.More || res.First != 1 || res.Last != 2 {
		t.Fatalf("first prune: %+v, %v; want 1 and 2 dropped, more", res, err)
	}
	res, err = db.PruneOperations(Prune{Before: now.Add(-365 * 24 * time.Hour), Max: 2})
	if err != nil || res.Dropped != 1 || res.More || res.First != 7 ||
		res.KeptAttention != 1 || res.KeptUnfinished != 1 || res.KeptForUndo != 2 {
		t.Fatalf("second prune: %+v, %v; want 7 dropped, 3 for attention, 4 unfinished, 5 and 6 for undo", res, err)
	}
	var left []uint64
	all, _, err := db.ListOperationsPage(0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range all {
		left = append(left, o.ID)
	}
	if want := []uint64{9, 8, 6, 5, 4, 3}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
	if got, err := db.OperationByRequest("req-1"); err != nil || got != nil {
		t.Errorf("request req-1 after its operation was dropped: %v, %v; want none", got, err)
	}
	onA, _, err := db.ListOperationsOnVolume("pool/a", 0, 0)
	if err != nil || len(onA) != 1 || onA[0].ID != 8 {
		t.Errorf("pool/a after the prune: %d operations, %v; want 8 alone", len(onA), err)
	}
	if last, _ := db.LastOperationID(); last != 9 {
		t.Errorf("last id %d after the prune, want 9 (ids are never given twice)", last)
	}

	// Once the kept dataset is forgotten, the keep and the operation
	// after it may go; keep_last keeps the newest.
	forget := &Operation{ID: 10, Kind: KindForget, State: OpSucceeded, Created: old, Updated: old, Options: Options{Forget: 5},
		Steps: []Step{{Name: "destroy-kept", Commit: true, State: StepDone, Finished: old}}}
	if err := db.ImportOperations([]*Operation{forget}); err != nil {
		t.Fatal(err)
	}
	res, err = db.PruneOperations(Prune{KeepLast: 3})
	if err != nil || res.Dropped != 2 || res.First != 5 || res.Last != 6 {
		t.Fatalf("keep_last prune: %+v, %v; want 5 and 6 dropped", res, err)
	}
	if recs, err := db.KeptOf(5); err != nil || recs != nil {
		t.Errorf("kept records of dropped operation 5: %v, %v", recs, err)
	}
}
