// Package store is volctld's journal: operations, their steps and the audit
// trail, kept in one bbolt file so that a rollback interrupted by a crash can
// be finished or undone from what was written before each change.
//
// Bucket tree (keep current):
//
//	v1/
//	  meta/
//	    version   -> uint64 big-endian: the schema minor version
//	  ops/
//	    <id>      -> Operation as JSON; id is a uint64 big-endian so cursors walk in order
//	  requests/
//	    <request id> -> uint64 big-endian operation id (idempotency)
//	  audit/
//	    <seq>     -> AuditRecord as JSON; seq is a uint64 big-endian
//
// Every write is one bbolt Update, which fsyncs before it returns: a journal
// entry written before a platform command is on disk when the command starts.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	bucketRoot     = []byte("v1")
	bucketMeta     = []byte("meta")
	bucketOps      = []byte("ops")
	bucketRequests = []byte("requests")
	bucketAudit    = []byte("audit")
	bucketActive   = []byte("active")

	keyVersion = []byte("version")
)

// Errors callers match with errors.Is.
var (
	// ErrNotFound: no such operation.
	ErrNotFound = errors.New("not found")
	// ErrNewerSchema: the database was written by a newer volctld.
	ErrNewerSchema = errors.New("database schema is newer than this volctld")
	// ErrInUse: another process holds the database.
	ErrInUse = errors.New("database is in use by another process")
)

// DB is the journal.
type DB struct {
	bolt *bolt.DB
	path string
}

// Open opens (creating if needed) the journal at path and brings its schema up
// to date. It gives up after timeout when another process holds the file, so a
// second daemon on the same database fails fast.
func Open(path string, timeout time.Duration) (*DB, error) {
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open journal %s: %w", path, ErrInUse)
		}
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path}
	if err := db.migrate(); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	return db, nil
}

// Close closes the journal.
func (db *DB) Close() error { return db.bolt.Close() }

// Path is the file the journal lives in.
func (db *DB) Path() string { return db.path }

// Version returns the schema version stored in the file.
func (db *DB) Version() (uint64, error) {
	var v uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v = versionTx(tx)
		return nil
	})
	return v, err
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// CreateOperation stores a new operation and assigns its ID. When the
// operation carries a request ID that was seen before, nothing is written and
// the earlier operation is returned with created=false.
func (db *DB) CreateOperation(op *Operation) (existing *Operation, created bool, err error) {
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketRoot)
		if op.RequestID != "" {
			if idb := root.Bucket(bucketRequests).Get([]byte(op.RequestID)); idb != nil {
				prev, err := getOperationTx(tx, binary.BigEndian.Uint64(idb))
				if err != nil {
					return err
				}
				existing = prev
				return nil
			}
		}
		ops := root.Bucket(bucketOps)
		id, err := ops.NextSequence()
		if err != nil {
			return err
		}
		op.ID = id
		if err := putOperationTx(tx, op); err != nil {
			return err
		}
		if op.RequestID != "" {
			if err := root.Bucket(bucketRequests).Put([]byte(op.RequestID), u64(id)); err != nil {
				return err
			}
		}
		created = true
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("create operation: %w", err)
	}
	if !created {
		return existing, false, nil
	}
	return op, true, nil
}

// PutOperation writes the operation as it is now (a journal entry).
func (db *DB) PutOperation(op *Operation) error {
	if op.ID == 0 {
		return errors.New("put operation: no id")
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return putOperationTx(tx, op) }); err != nil {
		return fmt.Errorf("put operation %d: %w", op.ID, err)
	}
	return nil
}

func putOperationTx(tx *bolt.Tx, op *Operation) error {
	b, err := json.Marshal(op)
	if err != nil {
		return err
	}
	root := tx.Bucket(bucketRoot)
	if err := root.Bucket(bucketOps).Put(u64(op.ID), b); err != nil {
		return err
	}
	return setActiveTx(tx, op)
}

// setActiveTx keeps the active index in step with the operation's state.
func setActiveTx(tx *bolt.Tx, op *Operation) error {
	active := tx.Bucket(bucketRoot).Bucket(bucketActive)
	if op.State.Terminal() {
		return active.Delete(u64(op.ID))
	}
	return active.Put(u64(op.ID), nil)
}

func getOperationTx(tx *bolt.Tx, id uint64) (*Operation, error) {
	v := tx.Bucket(bucketRoot).Bucket(bucketOps).Get(u64(id))
	if v == nil {
		return nil, fmt.Errorf("operation %d: %w", id, ErrNotFound)
	}
	var op Operation
	// json.Unmarshal copies out of the mmap'd page, so op outlives the tx.
	if err := json.Unmarshal(v, &op); err != nil {
		return nil, fmt.Errorf("operation %d: decode: %w", id, err)
	}
	return &op, nil
}

// GetOperation reads one operation.
func (db *DB) GetOperation(id uint64) (*Operation, error) {
	var op *Operation
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		op, err = getOperationTx(tx, id)
		return err
	})
	return op, err
}

// ListOperations returns up to limit operations that match keep (nil keeps
// all), newest first.
func (db *DB) ListOperations(limit int, keep func(*Operation) bool) ([]*Operation, error) {
	var out []*Operation
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRoot).Bucket(bucketOps).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			if limit > 0 && len(out) >= limit {
				break
			}
			var op Operation
			if err := json.Unmarshal(v, &op); err != nil {
				return fmt.Errorf("operation %d: decode: %w", binary.BigEndian.Uint64(k), err)
			}
			if keep == nil || keep(&op) {
				out = append(out, &op)
			}
		}
		return nil
	})
	return out, err
}

// Unfinished returns every operation that is not terminal, oldest first: the
// ones the daemon must resume at start. It reads the active index, not the
// history.
func (db *DB) Unfinished() ([]*Operation, error) {
	var ops []*Operation
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRoot).Bucket(bucketActive).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			op, err := getOperationTx(tx, binary.BigEndian.Uint64(k))
			if err != nil {
				return err
			}
			ops = append(ops, op)
		}
		return nil
	})
	return ops, err
}

// AuditRecord is one entry of the append-only audit trail.
type AuditRecord struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Who       string    `json:"who"`
	Role      string    `json:"role,omitempty"`
	Method    string    `json:"method"`
	Target    string    `json:"target,omitempty"`
	Allowed   bool      `json:"allowed"`
	Result    string    `json:"result"`
	Operation uint64    `json:"operation,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

// AppendAudit appends a record and assigns its sequence number.
func (db *DB) AppendAudit(rec AuditRecord) (uint64, error) {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRoot).Bucket(bucketAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		rec.Seq = seq
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return b.Put(u64(seq), v)
	})
	if err != nil {
		return 0, fmt.Errorf("append audit: %w", err)
	}
	return rec.Seq, nil
}

// ListAudit returns audit records with seq > after, oldest first, at most
// limit (0: all).
func (db *DB) ListAudit(after uint64, limit int) ([]AuditRecord, error) {
	var out []AuditRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRoot).Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) >= limit {
				break
			}
			var r AuditRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

func versionTx(tx *bolt.Tx) uint64 {
	root := tx.Bucket(bucketRoot)
	if root == nil {
		return 0
	}
	meta := root.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	v := meta.Get(keyVersion)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// OperationByRequest returns the operation created for a request id, or nil
// when the id was never seen.
func (db *DB) OperationByRequest(reqID string) (*Operation, error) {
	var op *Operation
	err := db.bolt.View(func(tx *bolt.Tx) error {
		idb := tx.Bucket(bucketRoot).Bucket(bucketRequests).Get([]byte(reqID))
		if idb == nil {
			return nil
		}
		var err error
		op, err = getOperationTx(tx, binary.BigEndian.Uint64(idb))
		return err
	})
	return op, err
}
