package store

// Retention of the journal's history (volctld.toml [journal], issue 24):
// PruneOperations drops finished operations past an age or beyond a count,
// and never one that recovery or undo still needs:
//
//   - an operation that is not terminal (it is resumed at start), or that
//     needs attention (recover, resolve and the holds read it);
//   - an operation whose kept dataset still exists (kept records in state
//     kept: undo swaps it back from the record), and every later
//     operation on that volume (undo refuses when a later operation
//     changed the volume, and reads those operations to know it).
//
// An operation dropped goes with everything that indexes it (the volume
// index, its request id, its kept records, all of them undone or
// forgotten), in the same transaction. The audit trail is not touched: it
// keeps its own records, and the engine appends one for each prune that
// says what went (retention_journal.go in daemon/engine).

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Prune says which finished operations PruneOperations drops: those that
// ended (Updated) before Before, and those beyond the newest KeepLast
// operations. Zero values set no limit.
type Prune struct {
	Before   time.Time
	KeepLast int
	// Max is how many operations one call drops at most (0: 256), so
	// that each transaction stays short; call again while it drops Max.
	Max int
}

// Pruned is what one PruneOperations dropped and what it kept that the
// limits would have dropped.
type Pruned struct {
	Dropped        int
	First, Last    uint64 // the lowest and highest id dropped
	KeptAttention  int    // needs attention
	KeptUnfinished int    // not terminal
	KeptForUndo    int    // a kept dataset exists on its volume, from it or before it
	// More: Max were dropped; there may be more to drop.
	More bool
}

// PruneOperations drops, oldest first, up to p.Max finished operations that
// p says are past, in one transaction (see the top of this file for what
// is never dropped).
func (db *DB) PruneOperations(p Prune) (Pruned, error) {
	var res Pruned
	if p.Before.IsZero() && p.KeepLast <= 0 {
		return res, nil
	}
	max := p.Max
	if max <= 0 {
		max = 256
	}
	err := db.update("pruning the journal", func(tx *bolt.Tx) error {
		res = Pruned{}
		root := tx.Bucket(bucketRoot)
		ops := root.Bucket(bucketOps)
		// The newest KeepLast are kept: boundary is the lowest of them.
		var boundary uint64
		if p.KeepLast > 0 {
			c := ops.Cursor()
			k, _ := c.Last()
			for i := 1; k != nil && i < p.KeepLast; i++ {
				k, _ = c.Prev()
			}
			if k == nil {
				boundary = 0 // fewer than KeepLast: none is beyond
			} else {
				boundary = u64of8(k)
			}
		}
		undo, err := db.keptFloorTx(tx)
		if err != nil {
			return err
		}
		var drop []*Operation
		c := ops.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			id, err := db.idOf(k, "operations")
			if err != nil {
				return err
			}
			beyond := p.KeepLast > 0 && boundary != 0 && id < boundary
			if p.KeepLast > 0 && !beyond && p.Before.IsZero() {
				break // the newest KeepLast from here on
			}
			op, err := db.decodeOperation(id, v)
			if err != nil {
				return err
			}
			old := !p.Before.IsZero() && op.Updated.Before(p.Before)
			if !beyond && !old {
				if (p.KeepLast <= 0 || id >= boundary) && !p.Before.IsZero() && !op.Created.Before(p.Before) {
					break // ids go in creation order: the rest are newer
				}
				continue
			}
			switch {
			case op.State == OpNeedsAttention:
				res.KeptAttention++
				continue
			case !op.State.Terminal():
				res.KeptUnfinished++
				continue
			case neededForUndo(op, undo):
				res.KeptForUndo++
				continue
			}
			if len(drop) >= max {
				res.More = true
				break
			}
			drop = append(drop, op)
		}
		for _, op := range drop {
			if err := db.dropOperationTx(tx, op); err != nil {
				return err
			}
			if res.First == 0 || op.ID < res.First {
				res.First = op.ID
			}
			res.Last = max64(res.Last, op.ID)
			res.Dropped++
		}
		return nil
	})
	if err != nil {
		return Pruned{}, err
	}
	return res, nil
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

func u64of8(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return uint64(k[0])<<56 | uint64(k[1])<<48 | uint64(k[2])<<40 | uint64(k[3])<<32 |
		uint64(k[4])<<24 | uint64(k[5])<<16 | uint64(k[6])<<8 | uint64(k[7])
}

// keptFloorTx maps each volume that has a kept dataset (a record in state
// kept) to the lowest id of the operations that kept one on it: from that
// operation on, the volume's history is what undo reads.
func (db *DB) keptFloorTx(tx *bolt.Tx) (map[string]uint64, error) {
	floor := map[string]uint64{}
	err := tx.Bucket(bucketRoot).Bucket(bucketKept).ForEach(func(k, _ []byte) error {
		id, err := db.idOf(k, "kept records")
		if err != nil {
			return err
		}
		recs, err := db.keptTx(tx, id)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.State != KeptKept {
				continue
			}
			if f, ok := floor[r.Volume]; !ok || id < f {
				floor[r.Volume] = id
			}
		}
		return nil
	})
	return floor, err
}

// neededForUndo reports whether op is, or comes after, an operation whose
// kept dataset on one of op's volumes still exists.
func neededForUndo(op *Operation, floor map[string]uint64) bool {
	vols, _ := op.Targets()
	for _, id := range op.Volumes() {
		vols = append(vols, id.Volume)
	}
	for _, v := range vols {
		if f, ok := floor[v]; ok && op.ID >= f {
			return true
		}
	}
	return false
}

// dropOperationTx deletes op and what indexes it.
func (db *DB) dropOperationTx(tx *bolt.Tx, op *Operation) error {
	root := tx.Bucket(bucketRoot)
	if err := dropVolumesTx(tx, op); err != nil {
		return err
	}
	if op.RequestID != "" {
		reqs := root.Bucket(bucketRequests)
		if v := reqs.Get([]byte(op.RequestID)); len(v) == 8 && u64of8(v) == op.ID {
			if err := reqs.Delete([]byte(op.RequestID)); err != nil {
				return err
			}
		}
	}
	if err := root.Bucket(bucketKept).Delete(u64(op.ID)); err != nil {
		return err
	}
	if err := root.Bucket(bucketAttn).Delete(u64(op.ID)); err != nil {
		return err
	}
	if err := root.Bucket(bucketActive).Delete(u64(op.ID)); err != nil {
		return err
	}
	return root.Bucket(bucketOps).Delete(u64(op.ID))
}
