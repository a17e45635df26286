package store

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestHolds: the attention index follows each operation's state, names
// every volume and zone of a group (a zone on each host it is on or
// configured on), and is there after the journal is opened again.
func TestHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	group := &Operation{Volume: "pool/a", Snapshot: "pool/a@s", State: OpRunning,
		Options: Options{Group: []string{"pool/a@s", "pool/b@s"}},
		Identity: Identity{Volume: "pool/a", Zones: []Zone{
			{Name: "kz1"}, {Name: "kz2", Host: "h2", ConfiguredOn: []string{"", "h3"}}}},
		Members: []Identity{{Volume: "pool/b", Zones: []Zone{{Name: "kz3", Host: "h2"}}}}}
	single := &Operation{Volume: "pool/c", Snapshot: "pool/c@s", State: OpRunning, Identity: Identity{Volume: "pool/c"}}
	for _, op := range []*Operation{group, single} {
		if _, _, err := db.CreateOperation(op); err != nil {
			t.Fatal(err)
		}
	}
	holds := func(db *DB) []Hold {
		t.Helper()
		h, err := db.Holds()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := holds(db); len(h) != 0 {
		t.Fatalf("running operations hold %+v", h)
	}
	group.State, group.Attention = OpNeedsAttention, "boot-zones is left"
	single.State = OpNeedsAttention
	for _, op := range []*Operation{group, single} {
		if err := db.PutOperation(op); err != nil {
			t.Fatal(err)
		}
	}
	want := []Hold{
		{Op: 1, Volumes: []string{"pool/a", "pool/b"}, Attention: "boot-zones is left",
			Zones: []ZoneRef{{Name: "kz1"}, {Name: "kz2", Host: "h2"}, {Name: "kz2"}, {Name: "kz2", Host: "h3"}, {Name: "kz3", Host: "h2"}}},
		{Op: 2, Volumes: []string{"pool/c"}},
	}
	if got := holds(db); !reflect.DeepEqual(got, want) {
		t.Fatalf("holds\n got %+v\nwant %+v", got, want)
	}
	// Across a restart.
	db.Close()
	if db, err = Open(path, time.Second); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := holds(db); !reflect.DeepEqual(got, want) {
		t.Fatalf("holds after reopening\n got %+v\nwant %+v", got, want)
	}
	// Recovered (running again), resolved: no longer held.
	group.State = OpRunning
	single.State = OpResolved
	for _, op := range []*Operation{group, single} {
		if err := db.PutOperation(op); err != nil {
			t.Fatal(err)
		}
	}
	if h := holds(db); len(h) != 0 {
		t.Fatalf("holds after recover and resolve: %+v", h)
	}
}

// BenchmarkHolds: what a rollback, dry run or snapshot destroy pays to
// know the holds, in a journal of 10,000 operations of which 10 need
// attention: the attention index (Holds), against the scan of every
// operation it replaces (ListOperations with a filter).
func BenchmarkHolds(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "j.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cmds := []Command{{Argv: []string{"/usr/sbin/zoneadm", "-z", "kz1", "list", "-p"}, Stdout: strings.Repeat("x", 2000)}}
	err = db.update("seeding", func(tx *bolt.Tx) error {
		for i := uint64(1); i <= 10000; i++ {
			st := OpSucceeded
			if i%1000 == 0 {
				st = OpNeedsAttention
			}
			op := &Operation{ID: i, Volume: fmt.Sprintf("pool/v%d", i%50), State: st,
				Identity: Identity{Volume: fmt.Sprintf("pool/v%d", i%50), Zones: []Zone{{Name: "kz1"}}},
				Steps:    []Step{{Name: "capture", State: StepDone, Commands: cmds}}}
			if err := putOperationTx(tx, op); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			if h, err := db.Holds(); err != nil || len(h) != 10 {
				b.Fatal(len(h), err)
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			ops, err := db.ListOperations(0, func(op *Operation) bool { return op.State == OpNeedsAttention })
			if err != nil || len(ops) != 10 {
				b.Fatal(len(ops), err)
			}
		}
	})
}
