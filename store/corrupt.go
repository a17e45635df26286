package store

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrCorrupt: the journal file is damaged. Open refuses such a file; a read
// or write that meets a damaged page or record fails with it, and the rest
// of the file can still be read. Every such error is a *CorruptError, which
// names the file and says what to do.
var ErrCorrupt = errors.New("journal is damaged")

// CorruptError is a damaged journal: which file, what was found, and what
// the administrator can do about it.
type CorruptError struct {
	Path   string
	Reason string // what was found, e.g. "consistency check: page 5: invalid type"
	Advice string
	Err    error // the cause, when there is one (a bbolt error)
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal %s is damaged: %s; %s", e.Path, e.Reason, e.Advice)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func (e *CorruptError) Unwrap() error { return e.Err }

// What an administrator can do, by when the damage was found.
const (
	adviceOpen = "volctld will not use it: keep the file for inspection (bbolt check FILE), restore the journal " +
		"from a backup, or move the file aside and start volctld again to begin a new journal, then check by hand " +
		"any rollback that was in progress"
	adviceEmpty = "volctld never leaves its journal empty, so the file was truncated or replaced: restore it from a " +
		"backup, or, if you know it held nothing (volctld stopped before it first wrote it), start volctld with " +
		"-new-journal"
	adviceRead = "this call failed and the rest of the journal can still be read; stop volctld and check the file " +
		"(bbolt check FILE) before it is written again"
)

func corruptAt(path, advice string, cause error, format string, args ...any) *CorruptError {
	return &CorruptError{Path: path, Reason: fmt.Sprintf(format, args...),
		Advice: strings.ReplaceAll(advice, "FILE", path), Err: cause}
}

// protect runs f, turning a panic or a memory fault into an error. bbolt
// trusts the file: a damaged page makes it panic (slice bounds out of range,
// invalid freelist page, unexpected page type) or read outside the mapping,
// and either would take the daemon down in the middle of serving. what names
// the access for the error.
func protect(path, advice, what string, f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = corruptAt(path, advice, nil, "%s: bbolt: %v", what, r)
		}
	}()
	return f()
}

func (db *DB) view(what string, fn func(*bolt.Tx) error) error {
	return protect(db.path, adviceRead, what, func() error { return db.bolt.View(fn) })
}

// update runs fn in a write transaction, shared with the writes that
// arrive while another commits (groupcommit.go).
func (db *DB) update(what string, fn func(*bolt.Tx) error) error {
	return db.grouped(what, fn)
}

// corrupt reports a damaged record found while serving.
func (db *DB) corrupt(cause error, format string, args ...any) error {
	return corruptAt(db.path, adviceRead, cause, format, args...)
}

// openBolt is bolt.Open, made safe against damaged files: a panic inside it
// (it reads the freelist as it opens) becomes an ErrCorrupt and the file it
// opened is closed, so its lock goes with it.
func openBolt(path string, o *bolt.Options) (*bolt.DB, error) {
	var file *os.File
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	var b *bolt.DB
	err := protect(path, adviceOpen, "open", func() error {
		var err error
		b, err = bolt.Open(path, 0o600, o)
		return err
	})
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, ErrCorrupt):
		if file != nil {
			_ = file.Close()
		}
		return nil, err
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open journal %s: %w", path, ErrInUse)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum), strings.HasPrefix(err.Error(), "file size too small"):
		return nil, corruptAt(path, adviceOpen, err, "not a bbolt database, or both of its meta pages are damaged (%v)", err)
	}
	return nil, fmt.Errorf("open journal %s: %w", path, err)
}

// maxCheckErrors is how many of bbolt's consistency-check findings an
// error quotes; the rest are counted.
const maxCheckErrors = 3

// checkFile opens an existing, non-empty journal read-only and checks it
// before Open hands it to bbolt for writing: the file is as long as its meta
// page says, every page and value of every bucket can be read, and bbolt's
// own consistency check (tx.Check: page types, references, key order, the
// freelist) finds nothing. The walk runs first and on this goroutine, where
// protect turns a fault into an error; tx.Check runs on a goroutine of its
// own and recovers its own panics, but not faults, so it only walks pages
// the first pass has shown to be readable.
func checkFile(path string, timeout time.Duration) error {
	b, err := openBolt(path, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if err != nil {
		return err
	}
	defer b.Close()
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("open journal %s: %w", path, err)
	}
	return protect(path, adviceOpen, "reading every page", func() error {
		return b.View(func(tx *bolt.Tx) error {
			if tx.Size() > fi.Size() {
				return corruptAt(path, adviceOpen, nil, "the file is %d bytes, its meta page says %d: it was truncated",
					fi.Size(), tx.Size())
			}
			var sum byte
			if err := tx.ForEach(func(_ []byte, bk *bolt.Bucket) error {
				sum ^= walkBucket(bk)
				return nil
			}); err != nil {
				return err
			}
			runtime.KeepAlive(sum)
			var found []string
			n := 0
			for err := range tx.Check() {
				if n++; n <= maxCheckErrors {
					found = append(found, err.Error())
				}
			}
			if n > maxCheckErrors {
				found = append(found, fmt.Sprintf("and %d more", n-maxCheckErrors))
			}
			if n > 0 {
				return corruptAt(path, adviceOpen, nil, "consistency check: %s", strings.Join(found, "; "))
			}
			return nil
		})
	})
}

// walkBucket reads every byte of every key and value of b and of the buckets
// in it, so that a page that cannot be read is found under protect. The
// result only keeps the reads from being optimised away.
func walkBucket(b *bolt.Bucket) byte {
	var x byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		for _, ch := range k {
			x ^= ch
		}
		if v == nil {
			if child := b.Bucket(k); child != nil {
				x ^= walkBucket(child)
			}
			continue
		}
		for _, ch := range v {
			x ^= ch
		}
	}
	return x
}
