package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// migrationTests holds one test per migration version; a migration added
// without one fails TestEveryMigrationHasATest.
var migrationTests = map[uint64]func(t *testing.T, b *bolt.DB){
	1: func(t *testing.T, b *bolt.DB) {
		mustView(t, b, func(tx *bolt.Tx) {
			root := tx.Bucket(bucketRoot)
			if root == nil {
				t.Fatal("no v1 root bucket")
			}
			for _, n := range [][]byte{bucketMeta, bucketOps, bucketRequests} {
				if root.Bucket(n) == nil {
					t.Errorf("bucket %s missing after v1", n)
				}
			}
			if root.Bucket(bucketAudit) != nil {
				t.Error("audit bucket exists after v1 alone")
			}
		})
	},
	2: func(t *testing.T, b *bolt.DB) {
		mustView(t, b, func(tx *bolt.Tx) {
			if tx.Bucket(bucketRoot).Bucket(bucketAudit) == nil {
				t.Error("audit bucket missing after v2")
			}
		})
		// Operations journaled by a v2 daemon, for v3 to index.
		if err := b.Update(func(tx *bolt.Tx) error {
			ops := tx.Bucket(bucketRoot).Bucket(bucketOps)
			for id, st := range map[uint64]OpState{1: OpSucceeded, 2: OpRunning, 3: OpCompensating, 4: OpRolledBack} {
				v, _ := json.Marshal(Operation{ID: id, State: st})
				if err := ops.Put(u64(id), v); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	},
	3: func(t *testing.T, b *bolt.DB) {
		var ids []uint64
		mustView(t, b, func(tx *bolt.Tx) {
			_ = tx.Bucket(bucketRoot).Bucket(bucketActive).ForEach(func(k, _ []byte) error {
				ids = append(ids, binary.BigEndian.Uint64(k))
				return nil
			})
		})
		if len(ids) != 2 || ids[0] != 2 || ids[1] != 3 {
			t.Errorf("active index after v3 = %v, want [2 3]", ids)
		}
	},
	4: func(t *testing.T, b *bolt.DB) {
		mustView(t, b, func(tx *bolt.Tx) {
			if tx.Bucket(bucketRoot).Bucket(bucketZoneCall) == nil {
				t.Error("zonecalls bucket missing after v4")
			}
		})
		// An operation that needs attention, journaled by a v4 daemon,
		// for v5 to index (ops 1 to 4 above are not).
		if err := b.Update(func(tx *bolt.Tx) error {
			v, _ := json.Marshal(Operation{ID: 5, State: OpNeedsAttention, Volume: "pool/a", Attention: "attach-zones is left",
				Identity: Identity{Volume: "pool/a", Zones: []Zone{{Name: "kz1", Host: "h2"}}}})
			return tx.Bucket(bucketRoot).Bucket(bucketOps).Put(u64(5), v)
		}); err != nil {
			t.Fatal(err)
		}
	},
	5: func(t *testing.T, b *bolt.DB) {
		var got map[uint64]Hold
		mustView(t, b, func(tx *bolt.Tx) {
			got = map[uint64]Hold{}
			_ = tx.Bucket(bucketRoot).Bucket(bucketAttn).ForEach(func(k, v []byte) error {
				var h Hold
				if err := json.Unmarshal(v, &h); err != nil {
					t.Errorf("attention entry %x: %v", k, err)
				}
				got[binary.BigEndian.Uint64(k)] = h
				return nil
			})
		})
		want := map[uint64]Hold{5: {Op: 5, Volumes: []string{"pool/a"}, Zones: []ZoneRef{{Name: "kz1", Host: "h2"}}, Attention: "attach-zones is left"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("attention index after v5 = %+v, want %+v", got, want)
		}
		journalV5TGT(t, b) // Linux operations with tgt.* properties, for v6
	},
	6: func(t *testing.T, b *bolt.DB) {
		testMigrationV6(t, b)
		journalV6Keep(t, b) // keep operations, for v7 to record
	},
	7: testMigrationV7,
}

func mustView(t *testing.T, b *bolt.DB, fn func(tx *bolt.Tx)) {
	t.Helper()
	if err := b.View(func(tx *bolt.Tx) error { fn(tx); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestEveryMigrationHasATest(t *testing.T) {
	for i, m := range migrations {
		if m.version != uint64(i+1) {
			t.Errorf("migration %d has version %d: versions must be 1, 2, 3, ...", i, m.version)
		}
		if migrationTests[m.version] == nil {
			t.Errorf("migration %d (%s) has no test in migrationTests", m.version, m.name)
		}
	}
}

// TestMigrations applies the migrations one at a time from an empty file and
// runs each version's test right after it.
func TestMigrations(t *testing.T) {
	b, err := bolt.Open(filepath.Join(t.TempDir(), "j.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, m := range migrations {
		if err := b.Update(func(tx *bolt.Tx) error { return migrateTx(tx, m.version) }); err != nil {
			t.Fatalf("migrate to %d: %v", m.version, err)
		}
		var got uint64
		mustView(t, b, func(tx *bolt.Tx) { got = versionTx(tx) })
		if got != m.version {
			t.Fatalf("stored version %d after migration %d", got, m.version)
		}
		t.Run(m.name, func(t *testing.T) { migrationTests[m.version](t, b) })
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRoot).Bucket(bucketMeta).Put(keyVersion, u64(SchemaVersion()+1))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(path, time.Second)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of a newer schema: got %v, want ErrNewerSchema", err)
	}
}

func TestOpenTwiceFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = Open(path, 100*time.Millisecond)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: got %v, want ErrInUse", err)
	}
}
