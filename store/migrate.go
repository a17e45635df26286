package store

import (
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

func (db *DB) migrate() error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return migrateTx(tx, SchemaVersion()) })
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
