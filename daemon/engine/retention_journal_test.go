package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// TestJournalRetentionAtStart: Start runs a round of journal retention,
// which drops the finished operations past keep_for, keeps one that needs
// attention, and says what it dropped in the audit trail.
func TestJournalRetentionAtStart(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	old, recent := time.Now().Add(-400*24*time.Hour), time.Now().Add(-time.Minute)
	var ops []*store.Operation
	for id := uint64(1); id <= 600; id++ { // several batches
		ops = append(ops, &store.Operation{ID: id, Kind: store.KindRollback, Platform: "fake", Volume: "pool/vol", Snapshot: "pool/vol@s",
			State: store.OpSucceeded, Created: old, Updated: old})
	}
	ops[9].State, ops[9].Attention = store.OpNeedsAttention, "attach-zones is left"
	ops = append(ops, &store.Operation{ID: 601, Kind: store.KindRollback, Platform: "fake", Volume: "pool/vol", Snapshot: "pool/vol@s",
		State: store.OpSucceeded, Created: recent, Updated: recent})
	if err := db.ImportOperations(ops); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := New(ctx, db, newFake(solarisLike, newWorld()), Config{JournalRetention: JournalRetention{KeepFor: 365 * 24 * time.Hour}}, nil)
	t.Cleanup(func() { cancel(); e.Wait(); db.Close() })
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	var left []*store.Operation
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if left, _, err = db.ListOperationsPage(0, 0, nil); err != nil {
			t.Fatal(err)
		}
		if len(left) == 2 {
			break
		}
	}
	if len(left) != 2 || left[0].ID != 601 || left[1].ID != 10 {
		t.Fatalf("after retention at start, %d operations are left; want 601 (recent) and 10 (needs attention)", len(left))
	}
	var recs []store.AuditRecord
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(recs) == 0; time.Sleep(10 * time.Millisecond) {
		if recs, err = db.ListAudit(0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if len(recs) != 1 || recs[0].Who != JournalRetentionWho ||
		!strings.Contains(recs[0].Detail, "dropped 599 finished operations, ids 1 to 600") || !strings.Contains(recs[0].Detail, "1 needing attention") {
		t.Errorf("audit trail after retention: %+v; want one record of 599 dropped, ids 1 to 600, 1 needing attention", recs)
	}
	// Nothing more is past: a round drops nothing and writes no record.
	if res, err := e.PruneJournal(ctx); err != nil || res.Dropped != 0 {
		t.Errorf("second round: %+v, %v; want nothing dropped", res, err)
	}
	if recs, _ := db.ListAudit(0, 0); len(recs) != 1 {
		t.Errorf("%d audit records after a round that dropped nothing, want 1", len(recs))
	}
}

// TestReadsWaitForOpenWindow: while an operation's outage window is open
// the long reads' pace waits; it goes on once the window closes.
func TestReadsWaitForOpenWindow(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	r.fake.fault("rollback").freezeDo = 1 // inside the window
	go func() { _, _ = r.rollback() }()
	<-r.fake.frozen
	done := make(chan struct{})
	go func() { r.e.windows.wait(time.Hour); close(done) }()
	select {
	case <-done:
		t.Fatal("a long read's pace did not wait while the window was open")
	case <-time.After(50 * time.Millisecond):
	}
	r.fake.thaw()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a long read's pace still waits after the window closed")
	}
	// Before a window and after it, nothing waits.
	r2 := newRig(t, solarisLike, newWorld(), t.TempDir())
	r2.fake.fault("stop").freezeDo = 1 // before the window
	go func() { _, _ = r2.rollback() }()
	<-r2.fake.frozen
	waited := make(chan struct{})
	go func() { r2.e.windows.wait(time.Hour); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		t.Fatal("a long read's pace waits while no window is open")
	}
	r2.fake.thaw()
}
