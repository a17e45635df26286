package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// initialMmapSize is the journal's first mapping, and so (bbolt grows the
// file to its mapping while that is at most its AllocSize, 16 MiB) the size
// the file is grown to by its first write that needs more room. Without it
// bbolt doubles a small file at each write that outgrows it (32 KiB, 64 KiB,
// ...), each time an ftruncate and an fsync more, on the write a rollback
// waits for: two of a fresh journal's first rollback's writes did. The
// file is extended, not filled (its blocks are allocated as pages are
// written), and a mapping this size is also one a reader does not have to
// let go of (bbolt remaps under a lock readers hold) for the first 16 MiB.
const initialMmapSize = 16 << 20

// boltOptions are the options the journal is opened with for writing.
// NoSync is never set: every write that recovery needs is on disk before
// the command it guards runs (docs/architecture.md, "What is journaled").
// NoFreelistSync is not set either: it saves a page per write but makes
// every open scan the whole file to rebuild the freelist, which a journal
// that lasts years cannot afford at start. The freelist is kept in memory
// as a hashmap (bbolt's FreelistMapType): allocation does not walk a sorted
// array of every free page, which grows with the journal.
func boltOptions(timeout time.Duration) *bolt.Options {
	return &bolt.Options{
		Timeout:         timeout,
		InitialMmapSize: initialMmapSize,
		FreelistType:    bolt.FreelistMapType,
	}
}
