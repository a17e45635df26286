package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// tweaked is the fake backend with its steps changed by tweak (a step
// marked Retried, a Park).
type tweaked struct {
	*fakeBackend
	tweak func([]Step) []Step
}

func (b tweaked) Steps(op *store.Operation) []Step { return b.tweak(b.fakeBackend.Steps(op)) }

// newTweakedRig is newRig over tweaked.
func newTweakedRig(t *testing.T, shape []fakeShape, w *world, tweak func([]Step) []Step) *rig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, db: db, fake: newFake(shape, w), cancel: cancel}
	r.e = New(ctx, db, tweaked{r.fake, tweak}, Config{Retries: 2, RetryDelay: time.Microsecond}, nil)
	t.Cleanup(func() {
		r.fake.thaw()
		cancel()
		r.e.Wait()
		db.Close()
	})
	return r
}

func stepNamed(steps []Step, name string) *Step {
	for i := range steps {
		if steps[i].Name == name {
			return &steps[i]
		}
	}
	panic("no step " + name)
}

// TestSagaRetriedBeforeCommit: a step before the commit marked Retried
// (the Solaris delete-lu, whose failure may have unpersisted the LU) is
// retried by the one retry policy, each attempt's command journaled with
// the step; a permanent failure ("resource busy") is not retried; one that
// fails past the retries goes backward. Steps not so marked are still
// undone at once (TestSagaStepFails).
func TestSagaRetriedBeforeCommit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      int
		err       error
		wantState store.OpState
		wantCalls int
	}{
		{"once", 1, nil, store.OpSucceeded, 2},
		{"twice", 2, nil, store.OpSucceeded, 3},
		{"past the retries", 1 << 20, nil, store.OpRolledBack, 3},
		{"permanent", 1 << 20, Permanent(errors.New("resource busy")), store.OpRolledBack, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			r := newTweakedRig(t, solarisLike, w, func(steps []Step) []Step {
				stepNamed(steps, "delete").Retried = true
				return steps
			})
			r.fake.run = map[string][]string{"delete": {"/bin/true"}}
			flt := r.fake.fault("delete")
			flt.failDo, flt.err = tc.fail, tc.err
			op, _ := r.rollback()
			if op.State != tc.wantState {
				t.Fatalf("state %s, want %s: %s", op.State, tc.wantState, stepStates(op))
			}
			outcome(t, op, w, solarisLike)
			if flt.doCalls != tc.wantCalls {
				t.Errorf("Do ran %d times, want %d", flt.doCalls, tc.wantCalls)
			}
			// Journaled: one command per attempt, and the attempts.
			j, err := r.db.GetOperation(op.ID)
			if err != nil {
				t.Fatal(err)
			}
			st := j.Steps[2]
			if st.Name != "delete" || len(st.Commands) != tc.wantCalls || st.Attempts != tc.wantCalls {
				t.Errorf("journaled %s: %d commands, %d attempts, want %d of each", st.Name, len(st.Commands), st.Attempts, tc.wantCalls)
			}
		})
	}
}

// TestSagaUnpersistedThenRecovered: an undo that brought the LU back but
// could not re-persist it (ErrUnpersisted: the LU is held) ends
// needs_attention with NeedsRepersist; recover refuses without the
// consent, and with it reaches rolled_back: a consistent end, which is
// recover's success (no error), while the rollback itself failed.
func TestSagaUnpersistedThenRecovered(t *testing.T) {
	w := newWorld()
	r := newTweakedRig(t, solarisLike, w, func(steps []Step) []Step { return steps })
	r.fake.fault("rollback").failDo, r.fake.fault("rollback").err = 1, Permanent(errors.New("dataset is busy"))
	r.fake.fault("delete").failUndo, r.fake.fault("delete").err = 1, ErrUnpersisted
	op, err := r.rollback()
	if op.State != store.OpNeedsAttention || !op.NeedsRepersist || err == nil {
		t.Fatalf("state %s, needs_repersist %v, err %v: want needs_attention asking for --repersist", op.State, op.NeedsRepersist, err)
	}
	if _, err := r.e.Recover(context.Background(), op.ID, RecoverOptions{}, func(Event) {}); !errors.Is(err, ErrNeedsConsent) {
		t.Fatalf("recover without repersist: %v, want a consent refusal", err)
	}
	op, err = r.e.Recover(context.Background(), op.ID, RecoverOptions{Repersist: true}, func(Event) {})
	if err != nil || op == nil || op.State != store.OpRolledBack || op.NeedsRepersist {
		t.Fatalf("recover --repersist: %v, %+v: want rolled_back without an error", err, op)
	}
	outcome(t, op, w, solarisLike)
	if op.Error == "" {
		t.Error("the operation no longer says why the rollback failed")
	}
}

// TestSagaRollbackThatRollsBackIsAFailure: the rollback's own end
// rolled_back stays an error for its caller (only recover counts it as
// reaching a consistent end).
func TestSagaRollbackThatRollsBackIsAFailure(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	r.fake.fault("rollback").failDo, r.fake.fault("rollback").err = 1, Permanent(errors.New("dataset is busy"))
	op, err := r.rollback()
	if op.State != store.OpRolledBack || !errors.Is(err, ErrStepFailed) {
		t.Fatalf("state %s, err %v: want rolled_back and a step error", op.State, err)
	}
}

// TestSagaPark: a step in the outage window past the commit that fails for
// good is parked before the operation stops: its Park brings back what
// the window took away (the window closes), and the attention is Park's
// text. Recover runs the step again with the window open again, and the
// operation ends forward. A Park that fails leaves the window open and
// says so.
func TestSagaPark(t *testing.T) {
	for _, parkFails := range []bool{false, true} {
		t.Run(map[bool]string{false: "parked", true: "park fails"}[parkFails], func(t *testing.T) {
			w := newWorld()
			var mu sync.Mutex
			parks := 0
			r := newTweakedRig(t, solarisLike, w, func(steps []Step) []Step {
				stepNamed(steps, "import").Park = func(_ context.Context, x *Exec, cause error) (string, error) {
					mu.Lock()
					defer mu.Unlock()
					parks++
					if parkFails {
						return "", Permanent(errors.New("import refused"))
					}
					if !windowOpen(x.Op()) {
						return "", errors.New("parked with the window closed")
					}
					return "parked: " + cause.Error(), nil
				}
				return steps
			})
			r.fake.fault("import").failDo = 1 << 20
			op, err := r.rollback()
			if op.State != store.OpNeedsAttention || !errors.Is(err, ErrNeedsAttention) {
				t.Fatalf("state %s (%v), want needs_attention", op.State, err)
			}
			if parks != 1 {
				t.Errorf("parked %d times, want 1", parks)
			}
			if parkFails {
				if !windowOpen(op) || !strings.Contains(op.Attention, "failed too") || !strings.Contains(op.Attention, "volctl recover") {
					t.Errorf("window open %v, attention %q: want it open, saying the park failed and how to recover", windowOpen(op), op.Attention)
				}
			} else if windowOpen(op) || !strings.HasPrefix(op.Attention, "parked: ") || !strings.Contains(op.Attention, "transient failure") {
				t.Errorf("window open %v, attention %q: want it closed and Park's text", windowOpen(op), op.Attention)
			}
			parkedEnd := op.OutageEnd
			r.fake.fault("import").failDo = 0
			op, err = r.e.Recover(context.Background(), op.ID, RecoverOptions{}, func(Event) {})
			if err != nil || op.State != store.OpSucceeded {
				t.Fatalf("recover: %v, %s", err, stepStates(op))
			}
			outcome(t, op, w, solarisLike)
			if windowOpen(op) || (!parkFails && !op.OutageEnd.After(parkedEnd)) {
				t.Errorf("outage %s..%s (parked at %s): want the window reopened by the recover and closed after import", op.OutageStart, op.OutageEnd, parkedEnd)
			}
		})
	}
}
