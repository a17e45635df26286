package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migration brings the schema from version-1 to version. Each runs inside the
// one Update that opens the database, so a crash mid-way leaves the old
// schema intact.
type migration struct {
	version uint64
	name    string
	apply   func(tx *bolt.Tx) error
}

// migrations is ordered; append only. Every entry needs a test in
// migrate_test.go (TestEveryMigrationHasATest fails otherwise).
var migrations = []migration{
	{1, "create v1 root, meta, ops and requests buckets", migrateV1},
	{2, "create audit bucket", migrateV2},
	{3, "index the operations that are not terminal", migrateV3},
	{4, "create the zone-call bucket (a zone host's journal of peer calls)", migrateV4},
	{5, "index the operations that need attention and what they hold", migrateV5},
	{6, "type the identity of tgt LUs (LU.TGT, from their tgt.* properties)", migrateV6},
	{7, "create the kept bucket (the datasets keep rollbacks and undos kept)", migrateV7},
	{8, "index the operations by volume (index.go)", migrateV8},
}

// SchemaVersion is the schema this binary writes.
func SchemaVersion() uint64 { return migrations[len(migrations)-1].version }

func migrateV1(tx *bolt.Tx) error {
	root, err := tx.CreateBucketIfNotExists(bucketRoot)
	if err != nil {
		return err
	}
	for _, name := range [][]byte{bucketMeta, bucketOps, bucketRequests} {
		if _, err := root.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

func migrateV2(tx *bolt.Tx) error {
	_, err := tx.Bucket(bucketRoot).CreateBucketIfNotExists(bucketAudit)
	return err
}

func migrateV3(tx *bolt.Tx) error {
	root := tx.Bucket(bucketRoot)
	if _, err := root.CreateBucketIfNotExists(bucketActive); err != nil {
		return err
	}
	return root.Bucket(bucketOps).ForEach(func(_, v []byte) error {
		var op Operation
		if err := json.Unmarshal(v, &op); err != nil {
			return err
		}
		return setActiveTx(tx, &op)
	})
}

func migrateV4(tx *bolt.Tx) error {
	_, err := tx.Bucket(bucketRoot).CreateBucketIfNotExists(bucketZoneCall)
	return err
}

func migrateV5(tx *bolt.Tx) error {
	root := tx.Bucket(bucketRoot)
	if _, err := root.CreateBucketIfNotExists(bucketAttn); err != nil {
		return err
	}
	return root.Bucket(bucketOps).ForEach(func(_, v []byte) error {
		var op Operation
		if err := json.Unmarshal(v, &op); err != nil {
			return err
		}
		return setAttentionTx(tx, &op)
	})
}

// migrateV6 gives every journaled tgt LU, finished operations' and group
// members' too (op show reads them), its typed identity (typeTGT). Only
// the operations that change are written again.
func migrateV6(tx *bolt.Tx) error {
	ops := tx.Bucket(bucketRoot).Bucket(bucketOps)
	var keys, vals [][]byte
	err := ops.ForEach(func(k, v []byte) error {
		if !bytes.Contains(v, []byte(`"`+tgtPrefix)) {
			return nil // no tgt LU
		}
		var op Operation
		if json.Unmarshal(v, &op) != nil {
			// Damaged: left as it is, and the call that reads it says so
			// (ErrCorrupt), as before this migration.
			return nil
		}
		moved := false
		for _, id := range append([]*Identity{&op.Identity}, ptrs(op.Members)...) {
			for i := range id.LUs {
				moved = typeTGT(&id.LUs[i]) || moved
			}
		}
		if !moved {
			return nil
		}
		b, err := json.Marshal(&op)
		if err != nil {
			return err
		}
		keys, vals = append(keys, bytes.Clone(k)), append(vals, b)
		return nil
	})
	if err != nil {
		return err
	}
	// bbolt forbids changing a bucket inside its ForEach.
	for i, k := range keys {
		if err := ops.Put(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func ptrs(ids []Identity) []*Identity {
	out := make([]*Identity, len(ids))
	for i := range ids {
		out[i] = &ids[i]
	}
	return out
}

func (db *DB) migrate() error {
	return db.counted(func(tx *bolt.Tx) error { return migrateTx(tx, SchemaVersion()) })
}

// migrateTx runs every migration above the stored version up to target.
func migrateTx(tx *bolt.Tx, target uint64) error {
	cur := versionTx(tx)
	if cur > SchemaVersion() {
		return fmt.Errorf("%w: file has schema %d, this volctld knows up to %d; use a newer volctld",
			ErrNewerSchema, cur, SchemaVersion())
	}
	for _, m := range migrations {
		if m.version <= cur || m.version > target {
			continue
		}
		if err := m.apply(tx); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		if err := tx.Bucket(bucketRoot).Bucket(bucketMeta).Put(keyVersion, u64(m.version)); err != nil {
			return err
		}
		cur = m.version
	}
	return nil
}
