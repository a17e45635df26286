package store

// The volume index (schema 8, issue 24): for each volume, the operations
// that name it (Operation.Targets: a group's every volume), so that a list
// filtered by volume (history --volume) reads that volume's operations
// only, not the whole history. It is written in the same transaction as the
// operation (putOperationTx), so it is never behind the journal.
//
//	volumes/
//	  <volume> 0x00 <id> -> empty
//
// A volume name never holds a NUL byte (ZFS refuses it), so the prefix
// <volume> 0x00 is exactly one volume's. Time needs no index of its own:
// ids are given in creation order, so the ops bucket walked by id is the
// history walked by time. The state filters have theirs already: active
// (not terminal) and attention (needs attention).

import (
	"bytes"
	"encoding/binary"
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// volumeKey is the index key of operation id on volume.
func volumeKey(volume string, id uint64) []byte {
	k := make([]byte, 0, len(volume)+9)
	k = append(k, volume...)
	k = append(k, 0)
	return append(k, u64(id)...)
}

// setVolumesTx indexes op under each of its volumes. It writes only the
// keys that are missing (an operation's volumes are set when it is
// created), so the writes of its later steps touch no index page.
func setVolumesTx(tx *bolt.Tx, op *Operation) error {
	b := tx.Bucket(bucketRoot).Bucket(bucketVolumes)
	if b == nil { // a migration before 8 writing operations
		return nil
	}
	vols, _ := op.Targets()
	for _, v := range vols {
		if v == "" {
			continue
		}
		k := volumeKey(v, op.ID)
		if b.Get(k) != nil {
			continue
		}
		if err := b.Put(k, []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// dropVolumesTx removes op's entries from the volume index (retention).
func dropVolumesTx(tx *bolt.Tx, op *Operation) error {
	b := tx.Bucket(bucketRoot).Bucket(bucketVolumes)
	vols, _ := op.Targets()
	for _, v := range vols {
		if v == "" {
			continue
		}
		if err := b.Delete(volumeKey(v, op.ID)); err != nil {
			return err
		}
	}
	return nil
}

// volumeIDs returns up to max ids of operations on volume below before (0:
// from the newest), newest first, from the index.
func volumeIDs(tx *bolt.Tx, volume string, before uint64, max int) []uint64 {
	prefix := append([]byte(volume), 0)
	c := tx.Bucket(bucketRoot).Bucket(bucketVolumes).Cursor()
	var k []byte
	if before == 0 {
		// The first key past the prefix, then one back.
		if k, _ = c.Seek(append(bytes.Clone(prefix[:len(prefix)-1]), 1)); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	} else {
		if k, _ = c.Seek(volumeKey(volume, before)); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	}
	var ids []uint64
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Prev() {
		if max > 0 && len(ids) >= max {
			break
		}
		id := binary.BigEndian.Uint64(k[len(prefix):])
		if before > 0 && id >= before {
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

func migrateV8(tx *bolt.Tx) error {
	root := tx.Bucket(bucketRoot)
	if _, err := root.CreateBucketIfNotExists(bucketVolumes); err != nil {
		return err
	}
	return root.Bucket(bucketOps).ForEach(func(_, v []byte) error {
		var op Operation
		if json.Unmarshal(v, &op) != nil {
			return nil // damaged: the call that reads it says so (ErrCorrupt)
		}
		return setVolumesTx(tx, &op)
	})
}
