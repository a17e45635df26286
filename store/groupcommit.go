package store

// Group commit: the journal's writes from many operations at once share
// their transactions. Each bbolt Update ends in two fdatasyncs, and bbolt
// has one writer: 64 rollbacks at once queued their three writes each
// behind one another (the writer's lock was 96% of the time the daemon's
// goroutines spent waiting for a lock in BenchmarkParallelRatios). Here
// the first write to arrive commits at once, as before; the writes that
// arrive while it commits wait for it, then go together in the next
// transaction. A write returns only once the transaction that holds it
// has committed, so it is as durable as it was alone.
//
// A write whose function fails is taken out of the shared transaction
// (which is rolled back, so none of its changes stay) and run alone, as
// bbolt's own Batch does, so one failure never fails another write. A
// panic inside bbolt (a damaged file, protect) fails the whole group with
// the same ErrCorrupt each of its writes would have met alone.

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// pendingWrite is one write waiting for its group.
type pendingWrite struct {
	what string
	fn   func(*bolt.Tx) error
	done chan error
}

// groupCommit queues the writes that arrive while a group commits.
type groupCommit struct {
	mu      sync.Mutex
	pending []*pendingWrite
	leading bool // a goroutine is committing groups
}

// errAlone marks a write taken out of its group: it runs in its own
// transaction.
var errAlone = errors.New("store: run this write alone")

// grouped runs fn in a write transaction shared with whatever other
// writes are waiting, and returns once it committed (or failed).
func (db *DB) grouped(what string, fn func(*bolt.Tx) error) error {
	w := &pendingWrite{what: what, fn: fn, done: make(chan error, 1)}
	g := &db.group
	g.mu.Lock()
	g.pending = append(g.pending, w)
	if g.leading {
		g.mu.Unlock()
		return db.finish(w, <-w.done)
	}
	// This goroutine commits groups until none is waiting; its own write
	// is in the first.
	g.leading = true
	for len(g.pending) > 0 {
		batch := g.pending
		g.pending = nil
		g.mu.Unlock()
		db.commitGroup(batch)
		g.mu.Lock()
	}
	g.leading = false
	g.mu.Unlock()
	return db.finish(w, <-w.done)
}

// finish runs a write that its group took out alone.
func (db *DB) finish(w *pendingWrite, err error) error {
	if err != errAlone {
		return err
	}
	return protect(db.path, adviceRead, w.what, func() error { return db.counted(w.fn) })
}

// commitGroup commits the writes in one transaction, taking out each that
// fails, and tells every one its outcome.
func (db *DB) commitGroup(batch []*pendingWrite) {
	for len(batch) > 0 {
		failed := -1
		what := batch[0].what
		err := protect(db.path, adviceRead, what, func() error {
			return db.counted(func(tx *bolt.Tx) error {
				for i, w := range batch {
					if err := w.fn(tx); err != nil {
						failed = i
						return err
					}
				}
				return nil
			})
		})
		if failed >= 0 && len(batch) > 1 {
			batch[failed].done <- errAlone
			batch = append(batch[:failed:failed], batch[failed+1:]...)
			continue
		}
		for _, w := range batch {
			w.done <- err
		}
		return
	}
}
