package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ImportOperations writes operations that each already have their id, in
// one transaction, with every index as PutOperation writes them, and moves
// the id sequence past the highest. It is for building a journal in bulk
// (a benchmark's years of history, a test's): the daemon itself writes one
// operation at a time.
func (db *DB) ImportOperations(ops []*Operation) error {
	err := db.update("importing operations", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRoot).Bucket(bucketOps)
		for _, op := range ops {
			if op.ID == 0 {
				return errors.New("an operation without an id")
			}
			if err := putOperationTx(tx, op); err != nil {
				return err
			}
			if op.ID > b.Sequence() {
				if err := b.SetSequence(op.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import operations: %w", err)
	}
	return nil
}
