package store

// Long reads (issue 24): a list of the history reads in short transactions
// of readChunk operations each, and waits between them on the pace the
// daemon sets (SetReadPace: while an LU is out of service, the commands
// that bring it back go first). A bbolt read transaction holds the
// mapping's lock for as long as it is open, and a write that must grow the
// mapping waits for every one of them, and pins the pages it reads so that
// writes meanwhile grow the file: a list that held one transaction over
// the whole history (seconds on a journal of years) held up each journal
// write of a rollback's outage window behind it. Chunks keep every read
// transaction short, and no transaction is open while a reader waits.

import (
	bolt "go.etcd.io/bbolt"
)

// readChunk is how many operations one read transaction of a list decodes
// at most (about a millisecond): a chunk in progress when an outage window
// opens is read to its end, beside the window's commands (with 16, eight
// readers of the newest 50 stretched a window 1.09-1.24x; with 4,
// 1.06-1.15x).
const readChunk = 4

// SetReadPace sets what a long read waits on before each of its chunks,
// outside any transaction (nil: nothing); the chunk runs once it returns,
// and calls the release it returned when the chunk is read. The engine
// waits there while an outage window is open, and lets one chunk be read
// at a time.
func (db *DB) SetReadPace(f func() (release func())) {
	if f == nil {
		db.pace.Store(nil)
		return
	}
	db.pace.Store(&f)
}

func (db *DB) waitPace() (release func()) {
	if f := db.pace.Load(); f != nil {
		if rel := (*f)(); rel != nil {
			return rel
		}
	}
	return func() {}
}

// opIDs returns up to max ids of the ops bucket below before (0: from the
// newest), newest first.
func (db *DB) opIDs(tx *bolt.Tx, before uint64, max int) ([]uint64, error) {
	c := tx.Bucket(bucketRoot).Bucket(bucketOps).Cursor()
	var k []byte
	if before == 0 {
		k, _ = c.Last()
	} else if k, _ = c.Seek(u64(before)); k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	var ids []uint64
	for ; k != nil; k, _ = c.Prev() {
		if max > 0 && len(ids) >= max {
			break
		}
		id, err := db.idOf(k, "operations")
		if err != nil {
			return nil, err
		}
		if before > 0 && id >= before {
			continue
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// listPaced lists, newest first, up to limit (0: all) operations with an
// id below before (0: from the newest) that keep keeps (nil: all), whose
// ids next gives (up to max ids below an id, newest first): a chunk of
// readChunk ids per read transaction, pacing before each. more reports that
// older matching operations are left.
func (db *DB) listPaced(before uint64, limit int, keep func(*Operation) bool, next func(tx *bolt.Tx, below uint64, max int) ([]uint64, error)) (ops []*Operation, more bool, err error) {
	below := before
	for {
		release := db.waitPace()
		var ids []uint64
		done := false
		err = db.view("listing operations", func(tx *bolt.Tx) error {
			var err error
			if ids, err = next(tx, below, readChunk); err != nil {
				return err
			}
			for _, id := range ids {
				op, err := db.getOperationTx(tx, id)
				if err != nil {
					return err
				}
				if keep != nil && !keep(op) {
					continue
				}
				if limit > 0 && len(ops) >= limit {
					more, done = true, true
					return nil
				}
				ops = append(ops, op)
			}
			return nil
		})
		release()
		if err != nil {
			return nil, false, err
		}
		if done || len(ids) < readChunk {
			return ops, more, nil
		}
		below = ids[len(ids)-1]
	}
}

// ListOperationsOnVolume is ListOperationsPage of the operations on volume
// (one of a group's volumes too): it reads them through the volume index,
// not the whole history.
func (db *DB) ListOperationsOnVolume(volume string, before uint64, limit int) (ops []*Operation, more bool, err error) {
	return db.listPaced(before, limit, func(op *Operation) bool { return op.OnVolume(volume) },
		func(tx *bolt.Tx, below uint64, max int) ([]uint64, error) {
			return volumeIDs(tx, volume, below, max), nil
		})
}
