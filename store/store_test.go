package store

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "j.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOperationRoundTrip(t *testing.T) {
	db := openTest(t)
	op := &Operation{
		Kind: "rollback", Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", State: OpPlanned,
		Identity: Identity{Volume: "pool/idisk0", LUs: []LU{{GUID: "600144F0A613C900000054521D550001",
			VendorID: "SUN     ", Views: []View{{Entry: 0, HostGroup: "hg-kz", TargetGroup: "tg-a", LUN: 0}}}}},
		Steps:   []Step{{Name: "delete-lu", State: StepPending, Planned: [][]string{{"/usr/sbin/stmfadm", "delete-lu", "-k", "X"}}}},
		Created: time.Unix(1700000000, 0).UTC(),
	}
	got, created, err := db.CreateOperation(op)
	if err != nil || !created || got.ID != 1 {
		t.Fatalf("CreateOperation = %v, %v, %v", got, created, err)
	}
	op.State = OpRunning
	op.Steps[0].Commands = append(op.Steps[0].Commands, Command{Argv: []string{"a"}, Exit: 1, Stderr: "boom"})
	if err := db.PutOperation(op); err != nil {
		t.Fatal(err)
	}
	back, err := db.GetOperation(1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, op) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, op)
	}
	if _, err := db.GetOperation(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetOperation(99) = %v, want ErrNotFound", err)
	}
}

func TestRequestIDIsIdempotent(t *testing.T) {
	db := openTest(t)
	first, created, err := db.CreateOperation(&Operation{RequestID: "r-1", Volume: "a"})
	if err != nil || !created {
		t.Fatal(err, created)
	}
	second, created, err := db.CreateOperation(&Operation{RequestID: "r-1", Volume: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if created || second.ID != first.ID || second.Volume != "a" {
		t.Fatalf("second create with the same request id: created=%v op=%+v", created, second)
	}
	ops, _ := db.ListOperations(0, nil)
	if len(ops) != 1 {
		t.Fatalf("%d operations stored, want 1", len(ops))
	}
}

func TestListAndUnfinished(t *testing.T) {
	db := openTest(t)
	states := []OpState{OpSucceeded, OpRunning, OpRolledBack, OpCompensating, OpNeedsAttention}
	for _, s := range states {
		if _, _, err := db.CreateOperation(&Operation{State: s}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := db.ListOperations(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, op := range all {
		ids = append(ids, op.ID)
	}
	if !reflect.DeepEqual(ids, []uint64{5, 4, 3, 2, 1}) {
		t.Fatalf("list order %v, want newest first", ids)
	}
	lim, _ := db.ListOperations(2, nil)
	if len(lim) != 2 {
		t.Fatalf("limit 2 gave %d", len(lim))
	}
	un, err := db.Unfinished()
	if err != nil {
		t.Fatal(err)
	}
	if len(un) != 2 || un[0].ID != 2 || un[1].ID != 4 {
		t.Fatalf("unfinished = %+v, want ops 2 and 4 oldest first", un)
	}
}

func TestAuditAppendOnlyOrdered(t *testing.T) {
	db := openTest(t)
	for i := 0; i < 3; i++ {
		if _, err := db.AppendAudit(AuditRecord{Who: "uid:0", Method: "Rollback", Allowed: i != 1}); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := db.ListAudit(0, 0)
	if err != nil || len(recs) != 3 {
		t.Fatalf("ListAudit = %v, %v", recs, err)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d has seq %d", i, r.Seq)
		}
	}
	if recs[1].Allowed {
		t.Error("record 2 should be a denial")
	}
	after, _ := db.ListAudit(2, 0)
	if len(after) != 1 || after[0].Seq != 3 {
		t.Fatalf("ListAudit(after=2) = %+v", after)
	}
}

func TestActiveIndexFollowsState(t *testing.T) {
	db := openTest(t)
	op := &Operation{State: OpRunning}
	if _, _, err := db.CreateOperation(op); err != nil {
		t.Fatal(err)
	}
	un, _ := db.Unfinished()
	if len(un) != 1 {
		t.Fatalf("running operation not in the index: %v", un)
	}
	op.State = OpSucceeded
	if err := db.PutOperation(op); err != nil {
		t.Fatal(err)
	}
	if un, _ = db.Unfinished(); len(un) != 0 {
		t.Fatalf("succeeded operation still in the index: %v", un)
	}
	op.State = OpNeedsAttention // terminal until someone recovers it
	_ = db.PutOperation(op)
	if un, _ = db.Unfinished(); len(un) != 0 {
		t.Fatal("needs_attention must not be resumed at start")
	}
}

// TestListPages: operations and audit records page newest first below a
// key, and say whether older ones are left.
func TestListPages(t *testing.T) {
	db := openTest(t)
	for i := range 5 {
		vol := []string{"a", "b"}[i%2]
		if _, _, err := db.CreateOperation(&Operation{State: OpSucceeded, Volume: vol}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AppendAudit(AuditRecord{Who: "uid:0", Method: "Rollback"}); err != nil {
			t.Fatal(err)
		}
	}
	onA := func(op *Operation) bool { return op.Volume == "a" }
	opIDs := func(before uint64, limit int, keep func(*Operation) bool) ([]uint64, bool) {
		ops, more, err := db.ListOperationsPage(before, limit, keep)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint64
		for _, op := range ops {
			ids = append(ids, op.ID)
		}
		return ids, more
	}
	seqs := func(before uint64, limit int) ([]uint64, bool) {
		recs, more, err := db.ListAuditBefore(before, limit, 0)
		if err != nil {
			t.Fatal(err)
		}
		var s []uint64
		for _, r := range recs {
			s = append(s, r.Seq)
		}
		return s, more
	}
	tests := []struct {
		name string
		got  func() ([]uint64, bool)
		want []uint64
		more bool
	}{
		{"operations, first page", func() ([]uint64, bool) { return opIDs(0, 2, nil) }, []uint64{5, 4}, true},
		{"operations below 4", func() ([]uint64, bool) { return opIDs(4, 2, nil) }, []uint64{3, 2}, true},
		{"operations below 2, the last", func() ([]uint64, bool) { return opIDs(2, 2, nil) }, []uint64{1}, false},
		{"operations exactly a page", func() ([]uint64, bool) { return opIDs(3, 2, nil) }, []uint64{2, 1}, false},
		{"operations below a gone id", func() ([]uint64, bool) { return opIDs(99, 0, nil) }, []uint64{5, 4, 3, 2, 1}, false},
		{"operations on a, first page", func() ([]uint64, bool) { return opIDs(0, 2, onA) }, []uint64{5, 3}, true},
		{"operations on a below 3", func() ([]uint64, bool) { return opIDs(3, 2, onA) }, []uint64{1}, false},
		{"audit, first page", func() ([]uint64, bool) { return seqs(0, 3) }, []uint64{5, 4, 3}, true},
		{"audit below 3", func() ([]uint64, bool) { return seqs(3, 3) }, []uint64{2, 1}, false},
		{"audit below 1", func() ([]uint64, bool) { return seqs(1, 3) }, nil, false},
	}
	for _, tt := range tests {
		got, more := tt.got()
		if !reflect.DeepEqual(got, tt.want) || more != tt.more {
			t.Errorf("%s: %v, more=%v; want %v, more=%v", tt.name, got, more, tt.want, tt.more)
		}
	}
}
