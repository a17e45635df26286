package store

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func init() { migrationTests[8] = testMigrationV8 }

// testMigrationV8: every operation journaled before schema 8 is in the
// volume index under each of its volumes, and nothing else is.
func testMigrationV8(t *testing.T, b *bolt.DB) {
	want, got := map[string]bool{}, map[string]bool{}
	mustView(t, b, func(tx *bolt.Tx) {
		_ = tx.Bucket(bucketRoot).Bucket(bucketOps).ForEach(func(k, v []byte) error {
			var op Operation
			if json.Unmarshal(v, &op) != nil {
				return nil
			}
			vols, _ := op.Targets()
			for _, vol := range vols {
				if vol != "" {
					want[string(volumeKey(vol, op.ID))] = true
				}
			}
			return nil
		})
		_ = tx.Bucket(bucketRoot).Bucket(bucketVolumes).ForEach(func(k, _ []byte) error {
			got[string(k)] = true
			return nil
		})
	})
	if len(want) == 0 {
		t.Fatal("no operation before v8 to index")
	}
	for k := range want {
		if !got[k] {
			t.Errorf("volume index after v8 lacks %q", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("volume index after v8 has %q, which no operation names", k)
		}
	}
}

// TestVolumeIndexFromSchema7 opens a journal written by a schema 7 volctld
// (no volume index): the migration indexes its history, and a list by
// volume finds a group's operation by any of its volumes, newest first,
// page by page.
func TestVolumeIndexFromSchema7(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error {
		if err := migrateTx(tx, 7); err != nil {
			return err
		}
		ops := tx.Bucket(bucketRoot).Bucket(bucketOps)
		for id := uint64(1); id <= 40; id++ {
			op := Operation{ID: id, State: OpSucceeded, Volume: fmt.Sprintf("pool/v%d", id%4), Snapshot: fmt.Sprintf("pool/v%d@s", id%4)}
			if id%10 == 0 { // a group of v0 and pool/g
				op.Options.Group = []string{op.Snapshot, "pool/g@s"}
			}
			v, _ := json.Marshal(op)
			if err := ops.Put(u64(id), v); err != nil {
				return err
			}
		}
		return ops.SetSequence(40)
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.Version(); v != SchemaVersion() {
		t.Fatalf("schema %d after open, want %d", v, SchemaVersion())
	}
	ids := func(ops []*Operation) []uint64 {
		var out []uint64
		for _, op := range ops {
			out = append(out, op.ID)
		}
		return out
	}
	ops, more, err := db.ListOperationsOnVolume("pool/g", 0, 0)
	if err != nil || more || !slices.Equal(ids(ops), []uint64{40, 30, 20, 10}) {
		t.Errorf("pool/g: %v more=%v %v; want [40 30 20 10]", ids(ops), more, err)
	}
	ops, more, err = db.ListOperationsOnVolume("pool/v1", 0, 3)
	if err != nil || !more || !slices.Equal(ids(ops), []uint64{37, 33, 29}) {
		t.Errorf("pool/v1 first page: %v more=%v %v; want [37 33 29] and more", ids(ops), more, err)
	}
	ops, more, err = db.ListOperationsOnVolume("pool/v1", 29, 0)
	if err != nil || more || len(ops) != 7 || ops[0].ID != 25 || ops[6].ID != 1 {
		t.Errorf("pool/v1 below 29: %v more=%v %v; want 25 down to 1", ids(ops), more, err)
	}
	if ops, _, err := db.ListOperationsOnVolume("pool/v", 0, 0); err != nil || len(ops) != 0 {
		t.Errorf("pool/v (a prefix of other volumes): %v %v; want none", ids(ops), err)
	}
	// A new operation is indexed as it is created.
	if _, _, err := db.CreateOperation(&Operation{State: OpRunning, Volume: "pool/new", Snapshot: "pool/new@s"}); err != nil {
		t.Fatal(err)
	}
	if ops, _, err := db.ListOperationsOnVolume("pool/new", 0, 0); err != nil || !slices.Equal(ids(ops), []uint64{41}) {
		t.Errorf("pool/new: %v %v; want [41]", ids(ops), err)
	}
}

// TestListPacesBetweenChunks: a long list reads in chunks, waiting on the
// pace before each, never inside a transaction (a write goes through while
// the reader waits).
func TestListPacesBetweenChunks(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "j.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ops []*Operation
	for id := uint64(1); id <= 5*readChunk; id++ {
		ops = append(ops, &Operation{ID: id, State: OpSucceeded, Volume: "pool/a", Snapshot: "pool/a@s"})
	}
	if err := db.ImportOperations(ops); err != nil {
		t.Fatal(err)
	}
	waits := 0
	db.SetReadPace(func() func() {
		waits++
		// No read transaction is open here: a write does not wait.
		done := make(chan error, 1)
		go func() {
			done <- db.PutOperation(&Operation{ID: 1, State: OpSucceeded, Volume: "pool/a", Snapshot: "pool/a@s"})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a write waited for a reader that was pacing")
		}
		return nil
	})
	got, more, err := db.ListOperationsPage(0, 0, nil)
	if err != nil || more || len(got) != 5*readChunk {
		t.Fatalf("list: %d operations, more=%v, %v", len(got), more, err)
	}
	if waits < 5 {
		t.Errorf("the list paced %d times over %d chunks", waits, 5)
	}
	got, _, err = db.ListOperationsOnVolume("pool/a", 0, 0)
	if err != nil || len(got) != 5*readChunk {
		t.Fatalf("list on pool/a: %d operations, %v", len(got), err)
	}
}
