package solaris_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// diskFull fails every journal write from the nth on, as a filesystem that
// filled up does, until it is freed.
type diskFull struct {
	mu     sync.Mutex
	nth    int
	writes int
	freed  bool
}

var errNoSpace = errors.New("write journal.db: no space left on device")

func (d *diskFull) write(*store.Operation) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes++
	if !d.freed && d.writes >= d.nth {
		return errNoSpace
	}
	return nil
}

func (d *diskFull) free() {
	d.mu.Lock()
	d.freed = true
	d.mu.Unlock()
}

// TestJournalFillsUpAtEveryWrite: the journal's filesystem fills at each
// journal write of a rollback in turn (kz1 running, so every step runs).
// The saga must never leave the LU away: it goes on in memory, ends with
// the LU imported, its views back and the zone running, and tells the
// caller; new operations are refused while the journal cannot be written;
// once there is space again the ended operation's record is written first.
func TestJournalFillsUpAtEveryWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection: not in -short")
	}
	injected, consistent := 0, 0
	for nth := 1; ; nth++ {
		fired := false
		ok := t.Run(fmt.Sprintf("write-%d", nth), func(t *testing.T) {
			root := faultHost(t, sim.FlavorSolaris)
			full := &diskFull{nth: nth}
			e, db := newEngine(t, root, engine.Config{JournalFault: full.write})
			op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
			full.mu.Lock()
			fired = full.writes >= nth
			full.mu.Unlock()
			if !fired {
				return
			}
			if err == nil {
				t.Fatal("the journal filled up and the caller was not told")
			}
			outcome := simtest.Untouched
			if op != nil && stepDone(op, "rollback") {
				outcome = simtest.AtSnapshot
			}
			if bad := simtest.CheckZone(root, outcome, sim.ZoneRunning); len(bad) > 0 {
				t.Fatalf("inconsistent after the journal filled at write %d (op %v: %v): %s", nth, stateOf(op), err, strings.Join(bad, "; "))
			}
			if op == nil {
				// The very first write (the operation itself) failed:
				// nothing ran.
				if !errors.Is(err, engine.ErrUnavailable) {
					t.Errorf("err = %v, want unavailable", err)
				}
				return
			}
			if len(e.RunningOperations()) != 0 {
				t.Error("an ended operation is reported as running")
			}
			if strings.Contains(err.Error(), "shutting down") {
				t.Errorf("the daemon is not shutting down, but the caller is told so: %v", err)
			}
			if op.State == store.OpNeedsAttention && strings.Contains(op.Attention, "journal could not be written") {
				// While the journal is full nothing new starts.
				if _, err := e.CreateSnapshot(context.Background(), "pool/idisk1@x"); !errors.Is(err, engine.ErrUnavailable) {
					t.Errorf("a new operation while the journal is full: %v, want unavailable", err)
				}
			}
			full.free()
			if _, err := e.CreateSnapshot(context.Background(), "pool/idisk1@after"); err != nil {
				t.Fatalf("with space again: %v", err)
			}
			stored, err := db.GetOperation(op.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !stored.State.Terminal() {
				t.Errorf("with space again the journal says %s for an operation that ended", stored.State)
			}
		})
		if !fired {
			break
		}
		injected++
		if ok {
			consistent++
		}
	}
	// Three writes: the operation with the window's intent, the window's
	// result, the end (docs/architecture.md, "What is journaled").
	if injected < 3 {
		t.Fatalf("only %d journal writes: the test injected nothing useful", injected)
	}
	simtest.Summary("journal-full", injected, consistent)
}

func stepDone(op *store.Operation, name string) bool {
	for _, s := range op.Steps {
		if s.Name == name {
			return s.State == store.StepDone
		}
	}
	return false
}
