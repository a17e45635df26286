package store

// What the journal's writes cost: every write is one bbolt Update, and a
// committed Update is two fdatasyncs (its pages, then its meta page, which
// bbolt must order so), and an ftruncate and an fsync more when it grows
// the file (see boltOptions in options.go, which makes that rare). Writes
// counts them, so that a test can hold a rollback to the writes recovery
// needs (docs/architecture.md, "What is journaled, and why that is
// enough") and a benchmark can say how much of a rollback's time is the
// journal's.

import (
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// WriteStats are the write transactions the journal committed since it was
// opened (the one that opened it, migrating the schema, included).
type WriteStats struct {
	// Commits is how many committed.
	Commits uint64
	// Time is how long they took, from waiting for the writer's lock to
	// the last fdatasync.
	Time time.Duration
}

// Sub is what happened between an earlier reading and s.
func (s WriteStats) Sub(earlier WriteStats) WriteStats {
	return WriteStats{Commits: s.Commits - earlier.Commits, Time: s.Time - earlier.Time}
}

// writeCounter is DB's tally behind Writes.
type writeCounter struct {
	commits atomic.Uint64
	nanos   atomic.Int64
}

// Writes returns the tally so far.
func (db *DB) Writes() WriteStats {
	return WriteStats{Commits: db.txns.commits.Load(), Time: time.Duration(db.txns.nanos.Load())}
}

// counted runs one bbolt Update and counts it when it commits.
func (db *DB) counted(fn func(*bolt.Tx) error) error {
	start := time.Now()
	err := db.bolt.Update(fn)
	if err == nil {
		db.txns.commits.Add(1)
		db.txns.nanos.Add(int64(time.Since(start)))
	}
	return err
}
