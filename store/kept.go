package store

// The kept records (issue 22, docs/keep.md §4): the datasets a keep
// rollback or an undo set aside, each kept, undone (the dataset is the
// volume again) or forgotten (destroyed). They are not written by anyone:
// putOperationTx derives them from the operation it writes, in the same
// transaction, so a record exists exactly when the journal says the step
// that made it true is done, whatever crashed in between:
//
//   - a keep rollback's or an undo's commit step done: one record per
//     volume (Identity.Kept), kept;
//   - an undo's commit step done: the undone operation's records undone,
//     by the undo;
//   - a forget's commit step (destroy-kept) done: the forgotten
//     operation's records forgotten, by the forget.
//
// A commit step that turns out not to have taken effect (it is failed
// again, the operation compensates) takes its records back: the set-aside
// is undone, so there is no kept dataset to name.

import (
	"encoding/json"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// KeptState is the state of a kept dataset.
type KeptState string

// Kept states.
const (
	// KeptKept: the dataset exists, holding what the volume had.
	KeptKept KeptState = "kept"
	// KeptUndone: an undo (By) swapped it back: it is the volume again.
	KeptUndone KeptState = "undone"
	// KeptForgotten: a forget (By) destroyed it.
	KeptForgotten KeptState = "forgotten"
)

// Kept is one dataset an operation kept.
type Kept struct {
	// Op is the keep rollback or undo that kept it; Kind its kind.
	Op   uint64 `json:"op"`
	Kind string `json:"kind"`
	// Volume went back to Snapshot; Dataset holds what it had before
	// (with its snapshots newer than Snapshot).
	Volume   string `json:"volume"`
	Snapshot string `json:"snapshot"`
	Dataset  string `json:"dataset"`
	// Created is when the operation's commit step was done (the dataset
	// holds the data from then on).
	Created time.Time `json:"created"`
	// UsedAtCapture is what the volume used when the operation captured it
	// (Identity.KeptUsed): the most the dataset holds.
	UsedAtCapture uint64    `json:"used_at_capture,omitempty"`
	State         KeptState `json:"state"`
	// By is the undo or forget that changed the state, at Changed.
	By      uint64    `json:"by,omitempty"`
	Changed time.Time `json:"changed,omitzero"`
}

// KeepsData reports whether op sets datasets aside (a keep rollback or an
// undo), so that its commit step makes kept records.
func KeepsData(op *Operation) bool {
	return op.Kind == KindUndo || (op.Kind == KindRollback || op.Kind == "") && op.Options.Keep
}

// commitDone reports whether op's commit step is journaled done, and when.
func commitDone(op *Operation) (bool, time.Time) {
	for _, st := range op.Steps {
		if st.Commit && st.State == StepDone {
			at := st.Finished
			if at.IsZero() {
				at = op.Updated
			}
			return true, at.UTC()
		}
	}
	return false, time.Time{}
}

// setKeptTx keeps the kept records in step with op (see the top of this
// file). It touches nothing for an operation that keeps or forgets
// nothing.
func setKeptTx(tx *bolt.Tx, op *Operation) error {
	keeps, forgets := KeepsData(op), op.Kind == KindForget
	if !keeps && !forgets {
		return nil
	}
	b := tx.Bucket(bucketRoot).Bucket(bucketKept)
	done, at := commitDone(op)
	if forgets {
		return markKept(b, op.Options.Forget, func(k *Kept) {
			switch {
			case done && k.State == KeptKept && (len(op.Options.ForgetDatasets) == 0 || slices.Contains(op.Options.ForgetDatasets, k.Dataset)):
				k.State, k.By, k.Changed = KeptForgotten, op.ID, at
			case !done && k.State == KeptForgotten && k.By == op.ID:
				k.State, k.By, k.Changed = KeptKept, 0, time.Time{}
			}
		})
	}
	own, err := getKept(b, op.ID)
	if err != nil {
		return err
	}
	switch {
	case done && own == nil:
		for _, id := range op.Volumes() {
			if id.Kept == "" {
				continue // the capture names every kept dataset; nothing to record
			}
			own = append(own, Kept{Op: op.ID, Kind: kindOr(op.Kind), Volume: id.Volume, Snapshot: id.Snapshot,
				Dataset: id.Kept, Created: at, UsedAtCapture: id.KeptUsed, State: KeptKept})
		}
		if len(own) > 0 {
			if err := putKept(b, op.ID, own); err != nil {
				return err
			}
		}
	case !done && own != nil && !slices.ContainsFunc(own, func(k Kept) bool { return k.State != KeptKept }):
		if err := b.Delete(u64(op.ID)); err != nil {
			return err
		}
	}
	if op.Kind != KindUndo || op.Options.Undo == 0 {
		return nil
	}
	return markKept(b, op.Options.Undo, func(k *Kept) {
		switch {
		case done && k.State == KeptKept:
			k.State, k.By, k.Changed = KeptUndone, op.ID, at
		case !done && k.State == KeptUndone && k.By == op.ID:
			k.State, k.By, k.Changed = KeptKept, 0, time.Time{}
		}
	})
}

func kindOr(kind string) string {
	if kind == "" {
		return KindRollback
	}
	return kind
}

// markKept applies mark to each record of operation id and writes them
// back when one changed.
func markKept(b *bolt.Bucket, id uint64, mark func(*Kept)) error {
	recs, err := getKept(b, id)
	if err != nil || recs == nil {
		return err
	}
	before := slices.Clone(recs)
	for i := range recs {
		mark(&recs[i])
	}
	if slices.Equal(before, recs) {
		return nil
	}
	return putKept(b, id, recs)
}

func getKept(b *bolt.Bucket, id uint64) ([]Kept, error) {
	v := b.Get(u64(id))
	if v == nil {
		return nil, nil
	}
	var recs []Kept
	if err := json.Unmarshal(v, &recs); err != nil {
		return nil, &keptDecodeError{id: id, err: err}
	}
	return recs, nil
}

func putKept(b *bolt.Bucket, id uint64, recs []Kept) error {
	v, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	return b.Put(u64(id), v)
}

type keptDecodeError struct {
	id  uint64
	err error
}

func (e *keptDecodeError) Error() string { return "kept records: decode: " + e.err.Error() }

// KeptOf returns the records of the datasets operation id kept (none: it
// kept nothing, or not yet).
func (db *DB) KeptOf(id uint64) ([]Kept, error) {
	var recs []Kept
	err := db.view("reading kept records", func(tx *bolt.Tx) error {
		var err error
		recs, err = db.keptTx(tx, id)
		return err
	})
	return recs, err
}

func (db *DB) keptTx(tx *bolt.Tx, id uint64) ([]Kept, error) {
	recs, err := getKept(tx.Bucket(bucketRoot).Bucket(bucketKept), id)
	if err != nil {
		return nil, db.corrupt(err, "kept records of operation %d: %v", id, err)
	}
	for _, k := range recs {
		if k.Op != id {
			return nil, db.corrupt(nil, "kept records: the entry of operation %d names operation %d", id, k.Op)
		}
	}
	return recs, nil
}

// ListKept returns every kept record, newest operation first (a group's in
// its volumes' order).
func (db *DB) ListKept() ([]Kept, error) {
	var out []Kept
	err := db.view("listing kept records", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRoot).Bucket(bucketKept).Cursor()
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			id, err := db.idOf(k, "kept records")
			if err != nil {
				return err
			}
			recs, err := db.keptTx(tx, id)
			if err != nil {
				return err
			}
			out = append(out, recs...)
		}
		return nil
	})
	return out, err
}

// LaterOperations returns the operations with an id above after that match
// keep (nil keeps all), newest first. It reads only those.
func (db *DB) LaterOperations(after uint64, keep func(*Operation) bool) ([]*Operation, error) {
	var ops []*Operation
	err := db.view("listing later operations", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRoot).Bucket(bucketOps).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			id, err := db.idOf(k, "operations")
			if err != nil {
				return err
			}
			if id <= after {
				break
			}
			op, err := db.decodeOperation(id, v)
			if err != nil {
				return err
			}
			if keep == nil || keep(op) {
				ops = append(ops, op)
			}
		}
		return nil
	})
	return ops, err
}

func migrateV7(tx *bolt.Tx) error {
	root := tx.Bucket(bucketRoot)
	if _, err := root.CreateBucketIfNotExists(bucketKept); err != nil {
		return err
	}
	// No volctld before this one ran keep rollbacks; an operation that
	// says it did is recorded as putOperationTx would, oldest first (an
	// undo marks what it undid).
	return root.Bucket(bucketOps).ForEach(func(_, v []byte) error {
		var op Operation
		if json.Unmarshal(v, &op) != nil {
			return nil // damaged: the call that reads it says so (ErrCorrupt)
		}
		return setKeptTx(tx, &op)
	})
}
