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
//	  active/
//	    <id>      -> empty: the operations that are not terminal (resumed at start)
//	  attention/
//	    <id>      -> Hold as JSON: an operation that needs attention and the
//	                 volumes and zones it holds (a request touching them
//	                 is refused until it is recovered or resolved)
//	  audit/
//	    <seq>     -> AuditRecord as JSON; seq is a uint64 big-endian; text
//	                 fields capped and escaped (SafeText, MaxAuditText)
//	  zonecalls/
//	    <key>     -> ZoneCall as JSON: a peer's ZoneAction on this (zone)
//	                 host, by its idempotency key
//	  kept/
//	    <id>      -> []Kept as JSON: the datasets operation id kept (a keep
//	                 rollback or an undo, once its commit step is done),
//	                 each kept, undone or forgotten (kept.go)
//	  volumes/
//	    <volume+0x00+id> -> empty: the operations on each volume (index.go)
//
// Every write is one bbolt Update, which fsyncs before it returns: a journal
// entry written before a platform command is on disk when the command starts.
//
// bbolt trusts its file: a damaged page makes it panic or read outside its
// mapping. Open therefore checks an existing file before using it and refuses
// a damaged one, or an empty one, with ErrCorrupt; every later transaction
// runs under protect, so a page or record damaged while the daemon runs fails
// the call that meets it (ErrCorrupt) instead of the daemon.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketRoot     = []byte("v1")
	bucketMeta     = []byte("meta")
	bucketOps      = []byte("ops")
	bucketRequests = []byte("requests")
	bucketAudit    = []byte("audit")
	bucketActive   = []byte("active")
	bucketZoneCall = []byte("zonecalls")
	bucketAttn     = []byte("attention")
	bucketKept     = []byte("kept")
	bucketVolumes  = []byte("volumes")

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
	bolt  *bolt.DB
	path  string
	txns  writeCounter // the writes committed (writes.go)
	group groupCommit  // writes waiting to share a transaction (groupcommit.go)
	// pace is what long reads wait on between their chunks (read.go).
	pace atomic.Pointer[func() func()]
}

// OpenOptions tune OpenWith.
type OpenOptions struct {
	// Timeout is how long to wait for another process to let go of the
	// file, so that a second daemon on the same journal fails fast.
	Timeout time.Duration
	// NewJournal lets an empty (zero-length) file become a new journal
	// (volctld -new-journal). Without it an empty file is refused with
	// ErrCorrupt: volctld never leaves its journal empty, so an empty file
	// was truncated or replaced, and starting afresh would forget every
	// operation that was in progress. It never lets a non-empty file be
	// overwritten.
	NewJournal bool
}

// Open opens (creating if needed) the journal at path and brings its schema up
// to date. It gives up after timeout when another process holds the file, so a
// second daemon on the same database fails fast. An existing file is checked
// first and refused with ErrCorrupt when it is damaged or empty (see
// OpenWith).
func Open(path string, timeout time.Duration) (*DB, error) {
	return OpenWith(path, OpenOptions{Timeout: timeout})
}

// OpenWith is Open with options. A file that does not exist is created. An
// existing file must pass checkFile (its pages can be read and bbolt's
// consistency check finds nothing) or it is refused with a *CorruptError
// that says what to do; an empty file is refused unless o.NewJournal.
func OpenWith(path string, o OpenOptions) (*DB, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A new journal: bbolt creates it.
	case err != nil:
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	case fi.Size() == 0:
		if !o.NewJournal {
			return nil, corruptAt(path, adviceEmpty, nil, "the file is empty (0 bytes)")
		}
	default:
		if err := checkFile(path, o.Timeout); err != nil {
			return nil, err
		}
	}
	b, err := openBolt(path, boltOptions(o.Timeout)) // options.go
	if err != nil {
		return nil, err
	}
	db := &DB{bolt: b, path: path}
	if err := protect(path, adviceOpen, "migrate", db.migrate); err != nil {
		_ = b.Close()
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
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
	err := db.view("reading the schema version", func(tx *bolt.Tx) error {
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

// LastOperationID is the highest id CreateOperation has given (0: none).
func (db *DB) LastOperationID() (uint64, error) {
	var id uint64
	err := db.view("reading the last operation id", func(tx *bolt.Tx) error {
		id = tx.Bucket(bucketRoot).Bucket(bucketOps).Sequence()
		return nil
	})
	return id, err
}

// CreateOperation stores a new operation and assigns its ID, or keeps the
// one it has (an id the engine reserved above LastOperationID when it
// began planning it; one already taken is refused). When the
// operation carries a request ID that was seen before, nothing is written and
// the earlier operation is returned with created=false.
func (db *DB) CreateOperation(op *Operation) (existing *Operation, created bool, err error) {
	err = db.update("creating an operation", func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketRoot)
		if op.RequestID != "" {
			if idb := root.Bucket(bucketRequests).Get([]byte(op.RequestID)); idb != nil {
				id, err := db.idOf(idb, "request "+op.RequestID)
				if err != nil {
					return err
				}
				prev, err := db.getOperationTx(tx, id)
				if err != nil {
					return err
				}
				existing = prev
				return nil
			}
		}
		ops := root.Bucket(bucketOps)
		id := op.ID
		if id == 0 {
			next, err := ops.NextSequence()
			if err != nil {
				return err
			}
			id = next
		} else {
			if ops.Get(u64(id)) != nil {
				return fmt.Errorf("operation id %d is taken", id)
			}
			if id > ops.Sequence() {
				if err := ops.SetSequence(id); err != nil {
					return err
				}
			}
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
	if err := db.update(fmt.Sprintf("writing operation %d", op.ID), func(tx *bolt.Tx) error { return putOperationTx(tx, op) }); err != nil {
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
	if err := setAttentionTx(tx, op); err != nil {
		return err
	}
	if err := setKeptTx(tx, op); err != nil {
		return err
	}
	if err := setVolumesTx(tx, op); err != nil {
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

func (db *DB) getOperationTx(tx *bolt.Tx, id uint64) (*Operation, error) {
	v := tx.Bucket(bucketRoot).Bucket(bucketOps).Get(u64(id))
	if v == nil {
		return nil, fmt.Errorf("operation %d: %w", id, ErrNotFound)
	}
	return db.decodeOperation(id, v)
}

// decodeOperation decodes a stored operation; a record that does not decode
// is damaged. json.Unmarshal copies out of the mmap'd page, so the operation
// outlives the tx.
func (db *DB) decodeOperation(id uint64, v []byte) (*Operation, error) {
	var op Operation
	if err := json.Unmarshal(v, &op); err != nil {
		return nil, db.corrupt(err, "operation %d: decode: %v", id, err)
	}
	return &op, nil
}

// idOf decodes a stored operation id (an index entry).
func (db *DB) idOf(b []byte, what string) (uint64, error) {
	if len(b) != 8 {
		return 0, db.corrupt(nil, "%s: operation id is %d bytes, not 8", what, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// GetOperation reads one operation.
func (db *DB) GetOperation(id uint64) (*Operation, error) {
	var op *Operation
	err := db.view(fmt.Sprintf("reading operation %d", id), func(tx *bolt.Tx) error {
		var err error
		op, err = db.getOperationTx(tx, id)
		return err
	})
	return op, err
}

// ListOperations returns up to limit operations that match keep (nil keeps
// all), newest first.
func (db *DB) ListOperations(limit int, keep func(*Operation) bool) ([]*Operation, error) {
	ops, _, err := db.ListOperationsPage(0, limit, keep)
	return ops, err
}

// ListOperationsPage returns up to limit (0: no limit) operations with an
// id below before (0: from the newest) that match keep (nil keeps all),
// newest first. more reports that older matching operations are left (ask
// again with before set to the last id).
func (db *DB) ListOperationsPage(before uint64, limit int, keep func(*Operation) bool) (ops []*Operation, more bool, err error) {
	return db.listPaced(before, limit, keep, db.opIDs)
}

// Unfinished returns every operation that is not terminal, oldest first: the
// ones the daemon must resume at start. It reads the active index, not the
// history.
func (db *DB) Unfinished() ([]*Operation, error) {
	var ops []*Operation
	err := db.view("listing unfinished operations", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRoot).Bucket(bucketActive).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			id, err := db.idOf(k, "active index")
			if err != nil {
				return err
			}
			op, err := db.getOperationTx(tx, id)
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

// AppendAudit appends a record and assigns its sequence number. Its text is
// stored as SafeText: valid UTF-8, escaped, each field capped (MaxAuditText,
// MaxAuditDetail) with a marker where it was cut.
func (db *DB) AppendAudit(rec AuditRecord) (uint64, error) {
	rec = safeRecord(rec)
	err := db.update("appending an audit record", func(tx *bolt.Tx) error {
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
	recs, _, err := db.ListAuditPage(after, limit, 0)
	return recs, err
}

// ListAuditPage returns audit records with seq > after, oldest first: at
// most limit records (0: no limit) and, after the first, no more than
// maxBytes of stored records (0: no limit), so that one page fits in a reply.
// more reports that records were left for the next page (ask again with after
// set to the last seq). Records come back as SafeText, also those an older
// volctld stored whole.
func (db *DB) ListAuditPage(after uint64, limit, maxBytes int) (recs []AuditRecord, more bool, err error) {
	if after == math.MaxUint64 { // no seq is larger; after+1 would wrap to 0
		return nil, false, nil
	}
	return db.listAudit(func(c *bolt.Cursor) ([]byte, []byte) { return c.Seek(u64(after + 1)) }, (*bolt.Cursor).Next, limit, maxBytes)
}

// ListAuditBefore returns audit records with seq below before (0: from the
// newest), newest first: at most limit records (0: no limit) and, after the
// first, no more than maxBytes of stored records (0: no limit). more reports
// that older records are left (ask again with before set to the last seq).
func (db *DB) ListAuditBefore(before uint64, limit, maxBytes int) (recs []AuditRecord, more bool, err error) {
	if before == 1 { // no seq is smaller; seq starts at 1
		return nil, false, nil
	}
	first := func(c *bolt.Cursor) ([]byte, []byte) {
		if before > 0 {
			if k, _ := c.Seek(u64(before)); k != nil {
				return c.Prev()
			}
		}
		return c.Last()
	}
	return db.listAudit(first, (*bolt.Cursor).Prev, limit, maxBytes)
}

// listAudit reads audit records from first on, moving with next, within
// limit and maxBytes as ListAuditPage says.
func (db *DB) listAudit(first, next func(*bolt.Cursor) ([]byte, []byte), limit, maxBytes int) (recs []AuditRecord, more bool, err error) {
	size := 0
	err = db.view("listing the audit trail", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRoot).Bucket(bucketAudit).Cursor()
		for k, v := first(c); k != nil; k, v = next(c) {
			if limit > 0 && len(recs) >= limit || maxBytes > 0 && len(recs) > 0 && size+len(v) > maxBytes {
				more = true
				break
			}
			var r AuditRecord
			if err := json.Unmarshal(v, &r); err != nil {
				seq, _ := db.idOf(k, "audit")
				return db.corrupt(err, "audit record %d: decode: %v", seq, err)
			}
			size += len(v)
			recs = append(recs, safeRecord(r))
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return recs, more, nil
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
	err := db.view("looking up a request id", func(tx *bolt.Tx) error {
		idb := tx.Bucket(bucketRoot).Bucket(bucketRequests).Get([]byte(reqID))
		if idb == nil {
			return nil
		}
		id, err := db.idOf(idb, "request "+reqID)
		if err != nil {
			return err
		}
		op, err = db.getOperationTx(tx, id)
		return err
	})
	return op, err
}

// ErrKeyMismatch: a zone call's key was used before for another zone or
// verb.
var ErrKeyMismatch = errors.New("idempotency key used for another call")

// GetZoneCall returns the zone call journaled under key, or nil.
func (db *DB) GetZoneCall(key string) (*ZoneCall, error) {
	var c *ZoneCall
	err := db.view("reading a zone call", func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRoot).Bucket(bucketZoneCall).Get([]byte(key))
		if v == nil {
			return nil
		}
		c = &ZoneCall{}
		return json.Unmarshal(v, c)
	})
	if err != nil {
		return nil, fmt.Errorf("zone call %q: %w", key, err)
	}
	return c, nil
}

// PutZoneCall journals a zone call (fsynced before it returns).
func (db *DB) PutZoneCall(c *ZoneCall) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	err = db.update("journaling a zone call", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRoot).Bucket(bucketZoneCall).Put([]byte(c.Key), b)
	})
	if err != nil {
		return fmt.Errorf("zone call %q: %w", c.Key, err)
	}
	return nil
}
