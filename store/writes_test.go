package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rollbackWrites journals what a rollback of the seed volume does (the
// operation, then three writes of it as its steps gather commands) in db.
func rollbackWrites(t *testing.T, db *DB) {
	t.Helper()
	op := &Operation{Kind: KindRollback, Volume: "pool/idisk0", Snapshot: "pool/idisk0@snap1", State: OpPlanned,
		Steps: make([]Step, 9)}
	if _, _, err := db.CreateOperation(op); err != nil {
		t.Fatal(err)
	}
	out := strings.Repeat("x", 2500) // a list-lu -v, a zpool history
	for i := 1; i <= 3; i++ {
		op.State = OpRunning
		for j := 0; j < 4; j++ {
			op.Steps[i].Commands = append(op.Steps[i].Commands, Command{Argv: []string{"stmfadm", "list-lu", "-v"}, Stdout: out})
		}
		if err := db.PutOperation(op); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNewJournalNotGrownByRollback: a rollback's writes to a new journal
// do not grow its file. Each growth is an ftruncate and an fsync more in
// the write that needs it (bbolt's grow), and bbolt doubled a small file
// at each: two of a new journal's first rollback's four writes grew it.
func TestNewJournalNotGrownByRollback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	opened := size()
	for n := 0; n < 5; n++ {
		rollbackWrites(t, db)
	}
	if got := size(); got != opened {
		t.Errorf("five rollbacks' writes grew the new journal from %d to %d bytes", opened, got)
	}
}

// TestWritesCounted: Writes counts the write transactions that committed,
// and only those.
func TestWritesCounted(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Writes().Commits; got != 1 {
		t.Errorf("a new journal: %d writes, want 1 (the schema)", got)
	}
	before := db.Writes()
	rollbackWrites(t, db)
	if _, err := db.ListOperations(0, nil); err != nil { // a read is no write
		t.Fatal(err)
	}
	if err := db.PutOperation(&Operation{}); err == nil { // nor a write refused
		t.Fatal("an operation without an id was written")
	}
	w := db.Writes().Sub(before)
	if w.Commits != 4 || w.Time <= 0 {
		t.Errorf("a rollback's writes: %+v, want 4 commits and their time", w)
	}
}
