package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// The saga runner over a fake backend: no processes, a real journal. The
// fake's world is a set of applied steps; Do applies a step, Undo takes it
// back, and the commit step's Check reports whether it is applied. A
// rollback is right when it ends succeeded with every step applied, or
// rolled back with none, and the journal says which.

// fakeShape is a step of the fake: its name and where it sits.
type fakeShape struct {
	name           string
	window, commit bool
}

var (
	// solarisLike: stop, then delete/rollback/import in the outage window,
	// then verify and boot.
	solarisLike = []fakeShape{{"stop", false, false}, {"delete", true, false}, {"rollback", true, true},
		{"import", true, false}, {"verify", false, false}, {"boot", false, false}}
	// windowless: nothing is taken away; the commit step alone journals
	// its start.
	windowless = []fakeShape{{"prepare", false, false}, {"rollback", false, true}, {"verify", false, false}}
)

// world is what the fake's steps change.
type world struct {
	mu      sync.Mutex
	applied map[string]bool
	trail   []string // "do X", "undo X", in order
}

func newWorld() *world { return &world{applied: map[string]bool{}} }

func (w *world) set(step string, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.applied[step] = on
	verb := "undo "
	if on {
		verb = "do "
	}
	w.trail = append(w.trail, verb+step)
}

func (w *world) is(step string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.applied[step]
}

func (w *world) copy() *world {
	w.mu.Lock()
	defer w.mu.Unlock()
	return &world{applied: maps.Clone(w.applied)}
}

func (w *world) log() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.trail)
}

// fault is what the fake does wrong at one step.
type fault struct {
	failDo    int   // the first failDo calls of Do fail
	failUndo  int   // likewise Undo
	err       error // the failure (default: a transient error)
	lie       bool  // Do returns nil without applying (the commit step's exit-0 no-op)
	freezeDo  int   // 1: freeze before applying, 2: after (a crash there)
	freezeUn  int   // likewise in Undo
	doCalls   int
	undoCalls int
}

type fakeBackend struct {
	shape  []fakeShape
	w      *world
	mu     sync.Mutex
	faults map[string]*fault
	// frozen is closed when a step freezes (the "crash"); release lets it
	// go on (the dead daemon's goroutine, whose world and journal nobody
	// looks at any more).
	frozen   chan struct{}
	release  chan struct{}
	once     sync.Once
	thawOnce sync.Once
	// run are commands a step's Do runs (through Exec.Run) before
	// anything else, by step name.
	run map[string][]string
}

// thaw lets a frozen step go on.
func (f *fakeBackend) thaw() { f.thawOnce.Do(func() { close(f.release) }) }

func newFake(shape []fakeShape, w *world) *fakeBackend {
	return &fakeBackend{shape: shape, w: w, faults: map[string]*fault{},
		frozen: make(chan struct{}), release: make(chan struct{})}
}

func (f *fakeBackend) fault(step string) *fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.faults[step] == nil {
		f.faults[step] = &fault{}
	}
	return f.faults[step]
}

func (f *fakeBackend) freeze() {
	f.once.Do(func() { close(f.frozen) })
	<-f.release
}

func (f *fakeBackend) Name() string { return "fake" }
func (f *fakeBackend) Capture(context.Context, execx.RunFunc, string, store.Options) (store.Identity, []string, error) {
	return store.Identity{}, nil, nil
}
func (f *fakeBackend) Probe(context.Context, execx.RunFunc) (store.Capabilities, error) {
	return store.Capabilities{}, nil
}
func (f *fakeBackend) VolumeOf(name string) (string, error) {
	vol, _, _ := strings.Cut(name, "@")
	return vol, nil
}
func (f *fakeBackend) ListVolumes(context.Context, execx.RunFunc) ([]Volume, error) { return nil, nil }
func (f *fakeBackend) GetVolume(context.Context, execx.RunFunc, string) (Volume, error) {
	return Volume{}, ErrNotFound
}
func (f *fakeBackend) Snapshots(context.Context, execx.RunFunc, string) ([]Snapshot, error) {
	return nil, nil
}
func (f *fakeBackend) CreateSnapshots(context.Context, execx.RunFunc, []string) error { return nil }
func (f *fakeBackend) DestroySnapshot(context.Context, execx.RunFunc, string) error   { return nil }

func (f *fakeBackend) Steps(*store.Operation) []Step {
	var steps []Step
	commit := ""
	for _, sh := range f.shape {
		if sh.commit {
			commit = sh.name
		}
	}
	for _, sh := range f.shape {
		name := sh.name
		st := Step{Name: name, Description: "fake " + name, OutageWindow: sh.window, Commit: sh.commit}
		st.Do = func(ctx context.Context, x *Exec) error {
			if argv := f.run[name]; argv != nil {
				if _, err := x.Run(ctx, argv); err != nil {
					return err
				}
			}
			flt := f.fault(name)
			f.mu.Lock()
			flt.doCalls++
			failing := flt.doCalls <= flt.failDo
			f.mu.Unlock()
			if flt.freezeDo == 1 {
				f.freeze()
			}
			if failing {
				return flt.failure(name)
			}
			if name == "verify" && commit != "" && !f.w.is(commit) {
				return fmt.Errorf("the volume is not at the snapshot: %w", ErrNotCommitted)
			}
			if !flt.lie {
				f.w.set(name, true)
			}
			if flt.freezeDo == 2 {
				f.freeze()
			}
			return nil
		}
		st.Undo = func(context.Context, *Exec) error {
			flt := f.fault(name)
			f.mu.Lock()
			flt.undoCalls++
			failing := flt.undoCalls <= flt.failUndo
			f.mu.Unlock()
			if flt.freezeUn == 1 {
				f.freeze()
			}
			if failing {
				return flt.failure("undo " + name)
			}
			if f.w.is(name) {
				f.w.set(name, false)
			}
			if flt.freezeUn == 2 {
				f.freeze()
			}
			return nil
		}
		if sh.commit {
			st.Check = func(context.Context, *Exec) (bool, error) { return f.w.is(name), nil }
		}
		steps = append(steps, st)
	}
	return steps
}

func (flt *fault) failure(what string) error {
	if flt.err != nil {
		return fmt.Errorf("%s: %w", what, flt.err)
	}
	return fmt.Errorf("%s: transient failure", what)
}

// rig is an engine over a fake backend and a journal in a temporary
// directory.
type rig struct {
	t      *testing.T
	db     *store.DB
	e      *Engine
	fake   *fakeBackend
	cancel context.CancelFunc
	writes int // journal writes of operations (creation included)
}

func newRig(t *testing.T, shape []fakeShape, w *world, dir string) *rig {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, db: db, fake: newFake(shape, w), cancel: cancel}
	var mu sync.Mutex
	r.e = New(ctx, db, r.fake, Config{Retries: 2, RetryDelay: time.Microsecond,
		JournalFault: func(*store.Operation) error { mu.Lock(); r.writes++; mu.Unlock(); return nil }}, nil)
	t.Cleanup(func() {
		r.fake.thaw() // a frozen step goes on, in a world nobody checks
		cancel()
		r.e.Wait()
		db.Close()
	})
	return r
}

func (r *rig) rollback() (*store.Operation, error) {
	return r.e.Rollback(context.Background(), Request{Snapshot: "pool/vol@snap"}, func(Event) {})
}

// outcome checks that the operation ended as one transaction: succeeded
// with every step applied, or rolled back with none.
func outcome(t *testing.T, op *store.Operation, w *world, shape []fakeShape) {
	t.Helper()
	applied := 0
	for _, sh := range shape {
		if w.is(sh.name) {
			applied++
		}
	}
	switch op.State {
	case store.OpSucceeded:
		if applied != len(shape) {
			t.Errorf("succeeded but %d of %d steps applied: %v", applied, len(shape), w.applied)
		}
	case store.OpRolledBack:
		if applied != 0 {
			t.Errorf("rolled back but %d steps still applied: %v", applied, w.applied)
		}
	default:
		t.Errorf("operation ended %s (%s; %s), want succeeded or rolled_back", op.State, op.Error, op.Attention)
	}
}

func stepStates(op *store.Operation) string {
	var s []string
	for _, st := range op.Steps {
		s = append(s, st.Name+"="+string(st.State))
	}
	return strings.Join(s, " ")
}

func TestSagaSucceeds(t *testing.T) {
	for _, shape := range [][]fakeShape{solarisLike, windowless, windowFirst} {
		t.Run(shape[0].name, func(t *testing.T) {
			w := newWorld()
			r := newRig(t, shape, w, t.TempDir())
			op, err := r.rollback()
			if err != nil {
				t.Fatal(err)
			}
			outcome(t, op, w, shape)
			var want []string
			for _, sh := range shape {
				want = append(want, "do "+sh.name)
			}
			if got := w.log(); !slices.Equal(got, want) {
				t.Errorf("ran %v, want %v", got, want)
			}
			// The journaling policy: the operation with the window's
			// intent (intent.go), the window's result, and the end; or the
			// operation, the commit step's start, and the end.
			wantWrites := 3
			if r.writes != wantWrites {
				t.Errorf("%d journal writes, want %d", r.writes, wantWrites)
			}
			if op.State != store.OpSucceeded || op.Steps[0].Name != "capture" || len(op.Steps) != len(shape)+1 {
				t.Errorf("journal: %s (%s)", stepStates(op), op.State)
			}
		})
	}
}

// TestSagaStepFails fails each step in turn, for good: before and at the
// commit step everything that ran is undone, newest first; past it the
// operation needs attention and keeps what is done.
func TestSagaStepFails(t *testing.T) {
	for _, shape := range [][]fakeShape{solarisLike, windowless} {
		commit := slices.IndexFunc(shape, func(s fakeShape) bool { return s.commit })
		for i, sh := range shape {
			t.Run(fmt.Sprintf("%s/%s", shape[0].name, sh.name), func(t *testing.T) {
				w := newWorld()
				r := newRig(t, shape, w, t.TempDir())
				r.fake.fault(sh.name).failDo = 1 << 20
				op, err := r.rollback()
				if err == nil {
					t.Fatal("rollback succeeded with a failing step")
				}
				var se *StepError
				if !errors.As(err, &se) || se.Step != sh.name {
					t.Fatalf("error %v does not name step %s", err, sh.name)
				}
				if i <= commit {
					if op.State != store.OpRolledBack {
						t.Fatalf("state %s, want rolled_back: %s", op.State, stepStates(op))
					}
					outcome(t, op, w, shape)
					var undone []string
					for _, line := range w.log() {
						if strings.HasPrefix(line, "undo ") {
							undone = append(undone, strings.TrimPrefix(line, "undo "))
						}
					}
					var want []string
					for j := i - 1; j >= 0; j-- {
						want = append(want, shape[j].name)
					}
					if !slices.Equal(undone, want) {
						t.Errorf("undid %v, want %v (newest first)", undone, want)
					}
					// Before the commit a failure is not retried: the undo
					// is the remedy.
					if calls := r.fake.fault(sh.name).doCalls; i < commit && calls != 1 {
						t.Errorf("Do ran %d times, want 1", calls)
					}
					return
				}
				if op.State != store.OpNeedsAttention || !errors.Is(err, ErrNeedsAttention) {
					t.Fatalf("state %s (%v), want needs_attention", op.State, err)
				}
				for j, s := range shape {
					if w.is(s.name) != (j < i) {
						t.Errorf("step %s applied=%v after step %s failed past the commit", s.name, w.is(s.name), sh.name)
					}
				}
				if calls := r.fake.fault(sh.name).doCalls; calls != 3 {
					t.Errorf("Do ran %d times past the commit, want 3 (Retries 2)", calls)
				}
				if !strings.Contains(op.Attention, "volctl recover") {
					t.Errorf("attention %q does not say how to recover", op.Attention)
				}
				// Fixed, recover finishes it forward.
				r.fake.fault(sh.name).failDo = 0
				op, err = r.e.Recover(context.Background(), op.ID, RecoverOptions{}, func(Event) {})
				if err != nil {
					t.Fatalf("recover: %v", err)
				}
				outcome(t, op, w, shape)
			})
		}
	}
}

// TestSagaTransientFailures: past the point of no return a step that
// fails once is retried and the rollback succeeds; a permanent failure is
// not retried.
func TestSagaTransientFailures(t *testing.T) {
	cases := []struct {
		step      string
		err       error
		wantState store.OpState
		wantCalls int
	}{
		{"import", nil, store.OpSucceeded, 2},
		{"boot", nil, store.OpSucceeded, 2},
		{"import", Permanent(errors.New("refused")), store.OpNeedsAttention, 1},
		// The commit step: its Check is asked after the failure (nothing
		// applied), then it runs again.
		{"rollback", nil, store.OpSucceeded, 2},
		{"rollback", Permanent(errors.New("dataset is busy")), store.OpRolledBack, 1},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%v", tc.step, tc.err), func(t *testing.T) {
			w := newWorld()
			r := newRig(t, solarisLike, w, t.TempDir())
			flt := r.fake.fault(tc.step)
			flt.failDo, flt.err = 1, tc.err
			op, _ := r.rollback()
			if op.State != tc.wantState {
				t.Fatalf("state %s, want %s: %s", op.State, tc.wantState, stepStates(op))
			}
			if flt.doCalls != tc.wantCalls {
				t.Errorf("Do ran %d times, want %d", flt.doCalls, tc.wantCalls)
			}
			if tc.wantState != store.OpNeedsAttention {
				outcome(t, op, w, solarisLike)
			}
		})
	}
}

// TestSagaCommitLies: the rollback exits 0 and does nothing; verify finds
// out (ErrNotCommitted) and the saga goes backward instead of forward.
func TestSagaCommitLies(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	r.fake.fault("rollback").lie = true
	op, err := r.rollback()
	if err == nil || op.State != store.OpRolledBack {
		t.Fatalf("state %s (%v), want rolled_back", op.State, err)
	}
	outcome(t, op, w, solarisLike)
	if !strings.Contains(op.Error, ErrNotCommitted.Error()) {
		t.Errorf("error %q does not say the rollback did not take effect", op.Error)
	}
}

// TestSagaUndoFails: a compensation that cannot finish needs attention;
// once the cause is fixed, recover compensates the rest and the volume is
// as it was.
func TestSagaUndoFails(t *testing.T) {
	for i, sh := range solarisLike[:2] {
		t.Run(sh.name, func(t *testing.T) {
			w := newWorld()
			r := newRig(t, solarisLike, w, t.TempDir())
			r.fake.fault("rollback").failDo, r.fake.fault("rollback").err = 1, Permanent(errors.New("busy"))
			r.fake.fault(sh.name).failUndo = 1 << 20
			op, err := r.rollback()
			if op.State != store.OpNeedsAttention || !errors.Is(err, ErrNeedsAttention) {
				t.Fatalf("state %s (%v), want needs_attention", op.State, err)
			}
			if !strings.Contains(op.Attention, "could not restore: "+sh.name) {
				t.Errorf("attention %q does not name %s", op.Attention, sh.name)
			}
			// The other steps were undone despite it.
			for j, other := range solarisLike[:2] {
				if j != i && w.is(other.name) {
					t.Errorf("%s not undone", other.name)
				}
			}
			if calls := r.fake.fault(sh.name).undoCalls; calls != 3 {
				t.Errorf("Undo ran %d times, want 3 (Retries 2)", calls)
			}
			r.fake.fault(sh.name).failUndo = 0
			op, err = r.e.Recover(context.Background(), op.ID, RecoverOptions{}, func(Event) {})
			if op == nil || op.State != store.OpRolledBack {
				t.Fatalf("recover: %v %v", op, err)
			}
			outcome(t, op, w, solarisLike)
		})
	}
}

// TestSagaCrash freezes the daemon before and after every step, forward
// and in compensation, takes the journal as it was on disk then and the
// world as the steps left it, starts a new engine on them, and checks that
// the resume ends in one transaction: never half rolled back, and forward
// whenever the rollback had taken effect.
func TestSagaCrash(t *testing.T) {
	type point struct {
		step       string
		undo       bool
		after      bool
		failCommit bool // the commit step fails for good, so the saga compensates
	}
	for _, shape := range [][]fakeShape{solarisLike, windowless} {
		commit := ""
		var points []point
		for _, sh := range shape {
			if sh.commit {
				commit = sh.name
			}
			points = append(points, point{step: sh.name}, point{step: sh.name, after: true})
		}
		for _, sh := range shape {
			if sh.name == commit {
				break
			}
			points = append(points, point{step: sh.name, undo: true, failCommit: true},
				point{step: sh.name, undo: true, after: true, failCommit: true})
		}
		for _, p := range points {
			name := fmt.Sprintf("%s/%s", shape[0].name, p.step)
			if p.undo {
				name += "/undo"
			}
			if p.after {
				name += "/after"
			} else {
				name += "/before"
			}
			t.Run(name, func(t *testing.T) {
				w1 := newWorld()
				r1 := newRig(t, shape, w1, t.TempDir())
				flt := r1.fake.fault(p.step)
				how := 1
				if p.after {
					how = 2
				}
				if p.undo {
					flt.freezeUn = how
				} else {
					flt.freezeDo = how
				}
				if p.failCommit {
					r1.fake.fault(commit).failDo, r1.fake.fault(commit).err = 1, Permanent(errors.New("busy"))
				}
				done := make(chan struct{})
				go func() { defer close(done); _, _ = r1.rollback() }()
				select {
				case <-r1.fake.frozen:
				case <-done:
					t.Fatal("the saga ended without reaching the crash point")
				case <-time.After(10 * time.Second):
					t.Fatal("the saga never reached the crash point")
				}
				ops, err := r1.db.Unfinished()
				if err != nil || len(ops) != 1 {
					t.Fatalf("journal at the crash: %v %v", ops, err)
				}
				onDisk := ops[0]
				w2 := w1.copy()
				committedAtCrash := w2.is(commit)
				r2 := newRig(t, shape, w2, t.TempDir())
				if err := r2.db.PutOperation(onDisk); err != nil {
					t.Fatal(err)
				}
				if err := r2.e.Start(); err != nil {
					t.Fatal(err)
				}
				r2.e.Wait()
				final, err := r2.db.GetOperation(onDisk.ID)
				if err != nil {
					t.Fatal(err)
				}
				outcome(t, final, w2, shape)
				if committedAtCrash && final.State != store.OpSucceeded {
					t.Errorf("the rollback had taken effect but the resume ended %s", final.State)
				}
				if p.undo && final.State != store.OpRolledBack {
					t.Errorf("a crash while compensating ended %s, want rolled_back", final.State)
				}
				if t.Failed() {
					t.Logf("journal at the crash: %s %s; after: %s; world trail %v", onDisk.State, stepStates(onDisk), stepStates(final), w2.log())
				}
			})
		}
	}
}

// TestSagaResumeMismatch: a journal whose steps this daemon does not build
// is not run; it needs attention.
func TestSagaResumeMismatch(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	op := &store.Operation{ID: 1, Platform: "fake", Volume: "pool/vol", Snapshot: "pool/vol@snap", State: store.OpRunning,
		Steps: []store.Step{{Name: "capture", State: store.StepDone}, {Name: "old", State: store.StepPending}}}
	if err := r.db.PutOperation(op); err != nil {
		t.Fatal(err)
	}
	if err := r.e.Start(); err != nil {
		t.Fatal(err)
	}
	r.e.Wait()
	got, err := r.db.GetOperation(1)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.OpNeedsAttention || !strings.Contains(got.Attention, "finish it by hand") {
		t.Errorf("state %s attention %q, want needs_attention", got.State, got.Attention)
	}
	if len(w.log()) != 0 {
		t.Errorf("steps ran: %v", w.log())
	}
}

// TestRequestIDReused: the same request id follows its operation; with
// another snapshot or other consents it is refused, naming the operation
// (issue 13: it used to print the other operation's success).
func TestRequestIDReused(t *testing.T) {
	w := newWorld()
	r := newRig(t, windowless, w, t.TempDir())
	req := Request{Snapshot: "pool/vol@snap", RequestID: "X"}
	first, err := r.e.Rollback(context.Background(), req, func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.e.Rollback(context.Background(), req, func(Event) {})
	if err != nil || again.ID != first.ID {
		t.Fatalf("the same request again: %v %v, want operation %d", again, err, first.ID)
	}
	for _, other := range []Request{
		{Snapshot: "pool/other@base", RequestID: "X"},
		{Snapshot: "pool/vol@snap", RequestID: "X", Options: store.Options{HaltZones: true}},
	} {
		op, err := r.e.Rollback(context.Background(), other, func(Event) {})
		if !errors.Is(err, ErrAlreadyExists) || op != nil {
			t.Errorf("%+v: %v %v, want ErrAlreadyExists", other, op, err)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("operation %d", first.ID)) {
			t.Errorf("error %q does not name operation %d", err, first.ID)
		}
	}
	if n := len(w.log()); n != len(windowless) {
		t.Errorf("%d steps ran, want %d (one rollback)", n, len(windowless))
	}
}

// TestFollowerSeesEverything: a second caller with the same request id,
// arriving mid-way, gets the plan and every event from the first step on,
// the same as the caller that started it.
func TestFollowerSeesEverything(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	r.fake.fault("verify").freezeDo = 1
	req := Request{Snapshot: "pool/vol@snap", RequestID: "Y"}
	type run struct {
		events []Event
		err    error
	}
	collect := func(out chan<- run) {
		var got run
		_, got.err = r.e.Rollback(context.Background(), req, func(ev Event) { got.events = append(got.events, ev) })
		out <- got
	}
	firstCh, secondCh := make(chan run, 1), make(chan run, 1)
	go collect(firstCh)
	<-r.fake.frozen
	go collect(secondCh)
	// The follower subscribes while the saga is frozen; wait for that.
	for deadline := time.Now().Add(5 * time.Second); ; {
		r.e.mu.Lock()
		n := 0
		for _, fl := range r.e.running {
			fl.mu.Lock()
			n = len(fl.subs)
			fl.mu.Unlock()
		}
		r.e.mu.Unlock()
		if n == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	r.fake.thaw()
	first, second := <-firstCh, <-secondCh
	if first.err != nil || second.err != nil {
		t.Fatalf("errors: %v, %v", first.err, second.err)
	}
	kinds := func(evs []Event) []string {
		var k []string
		for _, ev := range evs {
			switch {
			case ev.Plan != nil:
				k = append(k, "plan")
			case ev.Final != nil:
				k = append(k, "final "+string(ev.Final.State))
			default:
				k = append(k, ev.Step+" "+string(ev.State))
			}
		}
		return k
	}
	a, b := kinds(first.events), kinds(second.events)
	if !slices.Equal(a, b) {
		t.Errorf("the follower saw\n%v\nthe caller\n%v", b, a)
	}
	if len(b) < 4 || b[0] != "capture running" || b[1] != "plan" || b[2] != "stop running" {
		t.Errorf("the follower's stream does not start with the capture (the operation's id), the plan and the first step: %v", b)
	}
}

// TestPlanWhileBusy: a dry run while another operation holds the volume is
// refused, naming it (issue 13: it planned from the half-rolled-back state,
// without the zone steps, exit 0).
func TestPlanWhileBusy(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	if _, err := r.e.Plan(context.Background(), Request{Snapshot: "pool/vol@snap"}); err != nil {
		t.Fatalf("plan on an idle volume: %v", err)
	}
	r.fake.fault("import").freezeDo = 1
	go func() { _, _ = r.rollback() }()
	<-r.fake.frozen
	_, err := r.e.Plan(context.Background(), Request{Snapshot: "pool/vol@other"})
	var busy *BusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) || busy.Holder == 0 {
		t.Fatalf("plan while operation runs: %v, want a BusyError naming it", err)
	}
	if _, err := r.e.Plan(context.Background(), Request{Snapshot: "pool/another@snap"}); err != nil {
		t.Errorf("plan of another volume: %v", err)
	}
}
