package store

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestGroupCommit: writes from many goroutines at once all commit and
// read back, in fewer transactions than writes (they shared them); a write
// that fails inside a shared transaction fails alone and leaves nothing,
// and the others still commit.
func TestGroupCommit(t *testing.T) {
	db := openTest(t)
	taken, _, err := db.CreateOperation(&Operation{Snapshot: "pool/v@taken"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	before := db.Writes()
	ops := make([]*Operation, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			op := &Operation{Snapshot: fmt.Sprintf("pool/v%d@s", i), RequestID: fmt.Sprintf("req-%d", i)}
			if i%16 == 5 {
				op.ID = taken.ID // refused inside the transaction
			}
			ops[i] = op
			_, _, errs[i] = db.CreateOperation(op)
			if errs[i] == nil {
				op.Snapshot += "-written"
				errs[i] = db.PutOperation(op)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, op := range ops {
		if i%16 == 5 {
			if errs[i] == nil || !strings.Contains(errs[i].Error(), "is taken") {
				t.Errorf("write %d with a taken id: %v, want refused", i, errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("write %d: %v", i, errs[i])
		}
		got, err := db.GetOperation(op.ID)
		if err != nil || got.Snapshot != fmt.Sprintf("pool/v%d@s-written", i) {
			t.Errorf("operation %d read back %+v, %v", op.ID, got, err)
		}
	}
	// The refused writes left nothing: their request IDs are unknown.
	for i := 5; i < n; i += 16 {
		prev, created, err := db.CreateOperation(&Operation{Snapshot: "pool/x@s", RequestID: fmt.Sprintf("req-%d", i)})
		if err != nil || !created || prev == nil {
			t.Errorf("request req-%d was recorded by a refused write: %+v %v %v", i, prev, created, err)
		}
	}
	writes := 2*n - n/16
	if c := db.Writes().Sub(before).Commits; c >= uint64(writes) || c == 0 {
		t.Errorf("%d writes took %d transactions: none shared", writes, c)
	} else {
		t.Logf("%d writes in %d transactions", writes, c)
	}
}
