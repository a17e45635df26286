package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fixtureOps is how many operations a fixture holds: enough, at 6 KB each,
// for bbolt to spread them over several leaf pages (it keeps at least two
// keys on a page).
const fixtureOps = 8

// journalFixture is a closed journal with fixtureOps operations and a few
// audit records.
type journalFixture struct {
	path     string
	pageSize int
}

// marker is written into operation id's stdout so a test can find the page
// that holds it.
func marker(id uint64) string { return fmt.Sprintf("MARKER-OF-OPERATION-%d-", id) }

func newFixture(t *testing.T) journalFixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "j.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= fixtureOps; i++ {
		op := &Operation{Volume: "pool/v", Snapshot: "pool/v@s", State: OpSucceeded,
			Steps: []Step{{Name: "rollback", Commands: []Command{{Argv: []string{"zfs"},
				Stdout: marker(i) + strings.Repeat("x", 6000)}}}}}
		if _, _, err := db.CreateOperation(op); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if _, err := db.AppendAudit(AuditRecord{Who: "uid=0(root) gid=0", Method: "/volctl.v1.RollbackService/Rollback", Allowed: true}); err != nil {
			t.Fatal(err)
		}
	}
	ps := db.bolt.Info().PageSize
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return journalFixture{path: path, pageSize: ps}
}

// pages returns the type of every page below the high-water mark ("meta",
// "freelist", "leaf", "branch", "free"), and the overflow of each.
func (f journalFixture) pages(t *testing.T) (types []string, overflow []int) {
	t.Helper()
	b, err := bolt.Open(f.path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.View(func(tx *bolt.Tx) error {
		for id := 0; ; id++ {
			p, err := tx.Page(id)
			if err != nil {
				return err
			}
			if p == nil {
				return nil
			}
			types = append(types, p.Type)
			overflow = append(overflow, p.OverflowCount)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return types, overflow
}

// liveLeaf returns the leaf page (the first of its run with the overflow)
// that holds text in the tree, not in a page bbolt has freed, and the
// offset of text in the file.
func (f journalFixture) liveLeaf(t *testing.T, text string) (page int, off int64) {
	t.Helper()
	data, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	types, overflow := f.pages(t)
	for from := 0; ; {
		i := bytes.Index(data[from:], []byte(text))
		if i < 0 {
			t.Fatalf("no live leaf page holds %q", text)
		}
		at := (from + i) / f.pageSize
		for id := at; id >= 0 && id < len(types); id-- {
			if types[id] == "free" {
				break
			}
			if types[id] == "leaf" && id+overflow[id] >= at {
				return id, int64(from + i)
			}
		}
		from += i + 1
	}
}

// opsOn returns the operations whose record is on the leaf run at page.
func (f journalFixture) opsOn(t *testing.T, page int) map[uint64]bool {
	t.Helper()
	on := map[uint64]bool{}
	for id := uint64(1); id <= fixtureOps; id++ {
		if p, _ := f.liveLeaf(t, marker(id)); p == page {
			on[id] = true
		}
	}
	return on
}

func (f journalFixture) firstPage(t *testing.T, typ string) int {
	t.Helper()
	types, _ := f.pages(t)
	for id, ty := range types {
		if ty == typ {
			return id
		}
	}
	t.Fatalf("no %s page in %v", typ, types)
	return 0
}

func scribble(t *testing.T, path string, off int64, garbage []byte) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteAt(garbage, off); err != nil {
		t.Fatal(err)
	}
}

// garbage is what the tests write: a page header that makes no sense (an
// id, flags and counts bbolt does not expect) followed by noise.
func garbage(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(0xA5 ^ i*7)
	}
	return b
}

// mustNotPanic runs f and fails the test if it panics.
func mustNotPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s panicked: %v", what, r)
		}
	}()
	f()
}

// TestOpenRefusesDamagedFiles writes garbage at several places of a
// journal and checks that Open refuses it with ErrCorrupt naming the file,
// where bbolt alone panics ("invalid freelist page", "unexpected page type")
// or opens it.
func TestOpenRefusesDamagedFiles(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, f journalFixture)
		reason string // in the error
	}{
		{"both meta pages", func(t *testing.T, f journalFixture) {
			scribble(t, f.path, 0, garbage(f.pageSize*2))
		}, "meta pages"},
		{"freelist page", func(t *testing.T, f journalFixture) {
			scribble(t, f.path, int64(f.firstPage(t, "freelist")*f.pageSize), garbage(64))
		}, "freelist"},
		{"leaf page header of an operation", func(t *testing.T, f journalFixture) {
			leaf, _ := f.liveLeaf(t, marker(2))
			scribble(t, f.path, int64(leaf*f.pageSize), garbage(16))
		}, "bbolt"},
		{"leaf page elements of an operation", func(t *testing.T, f journalFixture) {
			leaf, _ := f.liveLeaf(t, marker(2))
			scribble(t, f.path, int64(leaf*f.pageSize+16), garbage(64))
		}, ""},
		{"branch page", func(t *testing.T, f journalFixture) {
			scribble(t, f.path, int64(f.firstPage(t, "branch")*f.pageSize+8), garbage(64))
		}, ""},
		{"truncated", func(t *testing.T, f journalFixture) {
			// Half of what it holds (the file is longer: options.go).
			types, _ := f.pages(t)
			if err := os.Truncate(f.path, int64(len(types)*f.pageSize/2)); err != nil {
				t.Fatal(err)
			}
		}, "truncated"},
		{"not a journal", func(t *testing.T, f journalFixture) {
			if err := os.WriteFile(f.path, bytes.Repeat([]byte("not a bbolt file\n"), 1000), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a bbolt database"},
		{"empty", func(t *testing.T, f journalFixture) {
			if err := os.Truncate(f.path, 0); err != nil {
				t.Fatal(err)
			}
		}, "-new-journal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.damage(t, f)
			var err error
			mustNotPanic(t, "Open", func() {
				var db *DB
				db, err = Open(f.path, time.Second)
				if err == nil {
					db.Close()
				}
			})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Path != f.path || !strings.Contains(err.Error(), f.path) {
				t.Errorf("error does not name the file: %v", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not say %q", err, tc.reason)
			}
			t.Logf("%v", err)
			// The file is not locked any more: a fresh check sees the same.
			if _, err2 := Open(f.path, 100*time.Millisecond); errors.Is(err2, ErrInUse) {
				t.Errorf("refused file still locked: %v", err2)
			}
		})
	}
}

// TestOneDamagedMetaPage: bbolt keeps two meta pages so that a torn write of
// one (power lost during a commit) falls back to the other, the previous
// commit. That is recovery, not damage: Open succeeds and the records
// written before are there.
func TestOneDamagedMetaPage(t *testing.T) {
	for _, page := range []int{0, 1} {
		t.Run(fmt.Sprint("meta", page), func(t *testing.T) {
			f := newFixture(t)
			scribble(t, f.path, int64(page*f.pageSize+16), garbage(64))
			db, err := Open(f.path, time.Second)
			if err != nil {
				t.Fatalf("Open with one meta page damaged: %v", err)
			}
			defer db.Close()
			ops, err := db.ListOperations(0, nil)
			if err != nil || len(ops) < 2 {
				t.Fatalf("ListOperations = %d operations, %v", len(ops), err)
			}
		})
	}
}

func TestEmptyFileNeedsNewJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, time.Second)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "the file is empty (0 bytes)") {
		t.Fatalf("Open of an empty file = %v, want ErrCorrupt", err)
	}
	db, err := OpenWith(path, OpenOptions{Timeout: time.Second, NewJournal: true})
	if err != nil {
		t.Fatalf("OpenWith NewJournal: %v", err)
	}
	if v, _ := db.Version(); v != SchemaVersion() {
		t.Errorf("new journal at schema %d", v)
	}
	db.Close()
	if db, err = Open(path, time.Second); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	db.Close()

	// NewJournal never overwrites a file that has something in it.
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, bytes.Repeat([]byte{0xff}, 3*4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWith(junk, OpenOptions{Timeout: time.Second, NewJournal: true}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenWith NewJournal of a non-empty damaged file = %v, want ErrCorrupt", err)
	}
}

func TestMissingFileIsCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "j.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// TestDamagedRecord: a record whose bytes are damaged but whose pages are
// sound passes the check at open; reading it fails that call with
// ErrCorrupt, and the other records are still served.
func TestDamagedRecord(t *testing.T) {
	f := newFixture(t)
	// Turn the quote before the marker into a byte JSON refuses.
	_, off := f.liveLeaf(t, marker(2))
	scribble(t, f.path, off-1, []byte{0x01})
	db, err := Open(f.path, time.Second)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	assertDamagedCallsFail(t, db, map[uint64]bool{2: true})
	if _, err := db.GetOperation(2); err == nil || !strings.Contains(err.Error(), "operation 2: decode") {
		t.Errorf("GetOperation(2) = %v, want a decode error", err)
	}
}

// assertDamagedCallsFail: reading a damaged operation fails with ErrCorrupt
// naming the file, so does listing them, and everything else is served.
func assertDamagedCallsFail(t *testing.T, db *DB, damaged map[uint64]bool) {
	t.Helper()
	mustNotPanic(t, "reads", func() {
		for id := range damaged {
			_, err := db.GetOperation(id)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), db.Path()) {
				t.Errorf("GetOperation(%d) = %v, want ErrCorrupt naming the file", id, err)
			}
		}
		if _, err := db.ListOperations(0, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ListOperations = %v, want ErrCorrupt", err)
		}
		served := 0
		for id := uint64(1); id <= fixtureOps; id++ {
			if damaged[id] {
				continue
			}
			op, err := db.GetOperation(id)
			if err != nil || op.ID != id {
				t.Errorf("GetOperation(%d) = %v, %v; the other records must still be served", id, op, err)
			}
			served++
		}
		if served == 0 {
			t.Error("every operation is on the damaged page: the fixture proves nothing")
		}
		if recs, err := db.ListAudit(0, 0); err != nil || len(recs) != 3 {
			t.Errorf("ListAudit = %d records, %v", len(recs), err)
		}
		if _, err := db.AppendAudit(AuditRecord{Who: "x", Method: "m"}); err != nil {
			t.Errorf("AppendAudit after a damaged read: %v", err)
		}
	})
}

// TestDamageWhileServing: a page damaged after Open (the daemon is running)
// makes bbolt panic in the middle of a read ("slice bounds out of range"
// from volctl history); the call fails with ErrCorrupt and the daemon goes
// on serving the rest.
func TestDamageWhileServing(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  func(f journalFixture, leaf int) int64
		n    int
	}{
		{"leaf page header", func(f journalFixture, leaf int) int64 { return int64(leaf * f.pageSize) }, 16},
		{"leaf element", func(f journalFixture, leaf int) int64 { return int64(leaf*f.pageSize + 16) }, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			leaf, _ := f.liveLeaf(t, marker(2))
			damaged := f.opsOn(t, leaf)
			db, err := Open(f.path, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// bbolt maps the file shared: what is written to it is what
			// the next read sees.
			scribble(t, f.path, tc.off(f, leaf), garbage(tc.n))
			assertDamagedCallsFail(t, db, damaged)
		})
	}
}

// TestDamageAnywhere writes garbage at a few offsets of every page: Open
// and every read either work or fail with ErrCorrupt, and never panic or
// crash the process.
func TestDamageAnywhere(t *testing.T) {
	f0 := newFixture(t)
	types, _ := f0.pages(t)
	for id := range types {
		for _, at := range []int{0, 8, 16, 40, f0.pageSize / 2} {
			t.Run(fmt.Sprintf("page%d+%d", id, at), func(t *testing.T) {
				f := newFixture(t)
				scribble(t, f.path, int64(id*f.pageSize+at), garbage(24))
				mustNotPanic(t, "Open and reads", func() {
					db, err := Open(f.path, time.Second)
					if err != nil {
						if !errors.Is(err, ErrCorrupt) {
							t.Fatalf("Open = %v, want nil or ErrCorrupt", err)
						}
						return
					}
					defer db.Close()
					for _, err := range []error{
						func() error { _, err := db.ListOperations(0, nil); return err }(),
						func() error { _, err := db.Unfinished(); return err }(),
						func() error { _, err := db.ListAudit(0, 0); return err }(),
						func() error { _, err := db.GetOperation(2); return err }(),
						func() error { _, err := db.OperationByRequest("r"); return err }(),
					} {
						if err != nil && !errors.Is(err, ErrCorrupt) {
							t.Errorf("read = %v, want nil or ErrCorrupt", err)
						}
					}
				})
			})
		}
	}
}
