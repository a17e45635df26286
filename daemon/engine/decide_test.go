package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// shape is a saga's steps as decide sees them: which is the commit step,
// which have a Check, which are in the outage window. windowed is the
// Solaris shape (stop, delete, rollback, import, verify, boot), bare a
// platform without an LU to take away (the commit step alone journals).
var (
	windowed = []Step{
		captureStep,
		{Name: "stop"},
		{Name: "delete", OutageWindow: true},
		{Name: "rollback", OutageWindow: true, Commit: true, Check: noCheck},
		{Name: "import", OutageWindow: true},
		{Name: "verify"},
		{Name: "boot"},
	}
	bare = []Step{
		captureStep,
		{Name: "stop"},
		{Name: "rollback", Commit: true, Check: noCheck},
		{Name: "verify"},
	}
)

func noCheck(context.Context, *Exec) (bool, error) { panic("decide must not run a Check") }

// journaled builds an operation as the journal would hold it: its state,
// its steps' states by letter (p pending, r running, d done, f failed,
// c compensating, C compensated; the capture step is always done), whether
// the outage window is open (w), closed (W) or never started (-), and
// whether any undo ran (u).
func journaled(state store.OpState, steps string, window byte, undone bool) *store.Operation {
	letters := map[byte]store.StepState{'p': store.StepPending, 'r': store.StepRunning, 'd': store.StepDone,
		'f': store.StepFailed, 'c': store.StepCompensating, 'C': store.StepCompensated, 's': store.StepSkipped}
	op := &store.Operation{ID: 7, State: state, Snapshot: "pool/vol@snap", Error: "step x failed: boom"}
	op.Steps = append(op.Steps, store.Step{Name: "capture", State: store.StepDone})
	for i := range len(steps) {
		op.Steps = append(op.Steps, store.Step{Name: fmt.Sprintf("s%d", i+1), State: letters[steps[i]]})
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	switch window {
	case 'w':
		op.OutageStart = t0
	case 'W':
		op.OutageStart, op.OutageEnd = t0, t0.Add(time.Second)
	}
	if undone {
		op.Steps[1].CompensationCommands = []store.Command{{Argv: []string{"/bin/undo"}}}
	}
	return op
}

// TestDecide has a case for every journaled operation state, and for each
// place in the saga a crash or a failure can leave it.
func TestDecide(t *testing.T) {
	yes := checkReport{asked: true, done: true}
	no := checkReport{asked: true}
	unknown := checkReport{asked: true, err: errors.New("zpool history: I/O error")}
	cases := []struct {
		name  string
		steps []Step
		op    *store.Operation
		check checkReport
		want  decision
	}{
		{"planned: nothing ran, start from the first step", windowed,
			journaled(store.OpPlanned, "pppppp", '-', false), checkReport{}, decision{dir: goForward, from: 1}},
		{"running, before the window: go on", windowed,
			journaled(store.OpRunning, "dppppp", '-', false), checkReport{}, decision{dir: goForward, from: 2}},
		{"running, nothing journaled past capture: go on", windowed,
			journaled(store.OpRunning, "pppppp", '-', false), checkReport{}, decision{dir: goForward, from: 1}},
		{"running, window open: ask the check", windowed,
			journaled(store.OpRunning, "drpppp", 'w', false), checkReport{}, decision{dir: askCheck, from: 3}},
		{"running, window open, rollback took effect: forward past it", windowed,
			journaled(store.OpRunning, "drpppp", 'w', false), yes, decision{dir: goForward, from: 4, doneThrough: 3}},
		{"running, window open, rollback did not take effect: finish the window forward", windowed,
			journaled(store.OpRunning, "drpppp", 'w', false), no, decision{dir: goForward, from: 2}},
		{"running, window open, check failed: finish the window forward", windowed,
			journaled(store.OpRunning, "drpppp", 'w', false), unknown, decision{dir: goForward, from: 2}},
		{"running, window open, rollback done: forward", windowed,
			journaled(store.OpRunning, "dddppp", 'w', false), checkReport{}, decision{dir: goForward, from: 4}},
		{"running, window closed, after the rollback: forward", windowed,
			journaled(store.OpRunning, "ddddpp", 'W', false), checkReport{}, decision{dir: goForward, from: 5}},
		{"running, every step done: finished", windowed,
			journaled(store.OpRunning, "dddddd", 'W', false), checkReport{}, decision{dir: finished}},
		{"running, skipped counts as done", windowed,
			journaled(store.OpRunning, "dsdddd", 'W', false), checkReport{}, decision{dir: finished}},
		{"running, no window, rollback started: ask the check", bare,
			journaled(store.OpRunning, "drp", '-', false), checkReport{}, decision{dir: askCheck, from: 2}},
		{"running, no window, rollback took effect: forward", bare,
			journaled(store.OpRunning, "drp", '-', false), yes, decision{dir: goForward, from: 3, doneThrough: 2}},
		{"running, no window, rollback did not take effect: go on (the steps converge)", bare,
			journaled(store.OpRunning, "drp", '-', false), no, decision{dir: goForward, from: 2}},
		{"compensating: compensate again from the last step", windowed,
			journaled(store.OpCompensating, "dCpppp", '-', true), checkReport{}, decision{dir: goBackward, from: 6}},
		{"needs attention, committed: recover goes forward", windowed,
			journaled(store.OpNeedsAttention, "dddddf", 'W', false), checkReport{}, decision{dir: goForward, from: 6}},
		{"needs attention, an undo failed: compensate again", windowed,
			journaled(store.OpNeedsAttention, "fCCppp", 'W', true), checkReport{}, decision{dir: goBackward, from: 6, cause: "step x failed: boom"}},
		{"needs attention, window open, not compensated: ask the check", windowed,
			journaled(store.OpNeedsAttention, "ddfppp", 'w', false), checkReport{}, decision{dir: askCheck, from: 3}},
		{"needs attention, rollback took effect: forward", windowed,
			journaled(store.OpNeedsAttention, "ddfppp", 'w', false), yes, decision{dir: goForward, from: 4, doneThrough: 3}},
		{"needs attention, rollback did not take effect: backward", windowed,
			journaled(store.OpNeedsAttention, "ddfppp", 'w', false), no, decision{dir: goBackward, from: 3, cause: "step x failed: boom"}},
		{"needs attention before the window (journal ended behind): backward", windowed,
			journaled(store.OpNeedsAttention, "fppppp", '-', false), checkReport{}, decision{dir: goBackward, from: 1, cause: "step x failed: boom"}},
		{"succeeded: ended", windowed,
			journaled(store.OpSucceeded, "dddddd", 'W', false), checkReport{}, decision{dir: ended}},
		{"rolled back: ended", windowed,
			journaled(store.OpRolledBack, "CCCppp", 'W', true), checkReport{}, decision{dir: ended}},
		{"the daemon builds other steps than the journal has: stuck", bare,
			journaled(store.OpRunning, "dddddd", 'W', false), checkReport{}, decision{dir: stuck}},
	}
	seen := map[store.OpState]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen[tc.op.State] = true
			before := fmt.Sprintf("%+v", *tc.op)
			got := decide(tc.op, tc.steps, tc.check)
			if after := fmt.Sprintf("%+v", *tc.op); after != before {
				t.Errorf("decide changed the operation:\nbefore %s\nafter  %s", before, after)
			}
			if got.why == "" {
				t.Errorf("decision %v has no reason for the log", got.dir)
			}
			got.why = ""
			if got != tc.want {
				t.Errorf("decide = %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, st := range []store.OpState{store.OpPlanned, store.OpRunning, store.OpCompensating,
		store.OpSucceeded, store.OpRolledBack, store.OpNeedsAttention} {
		if !seen[st] {
			t.Errorf("no case for journaled state %s", st)
		}
	}
}

// TestDecideStuckNamesTheOperation: a journal whose steps this daemon
// does not build is left to a person, who is told where to look.
func TestDecideStuckNamesTheOperation(t *testing.T) {
	d := decide(journaled(store.OpRunning, "ddd", '-', false), windowed, checkReport{})
	if d.dir != stuck || !strings.Contains(d.why, "volctl op show 7") {
		t.Fatalf("decide = %+v, want stuck naming volctl op show 7", d)
	}
}

func TestDecideFailure(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name  string
		steps string // the journal as the step failed (the failed step is 'f')
		at    int
		err   error
		want  direction
	}{
		{"before the window", "fppppp", 1, boom, goBackward},
		{"in the window, before the rollback", "dfpppp", 2, boom, goBackward},
		{"the rollback itself", "ddfppp", 3, boom, goBackward},
		{"past the rollback", "dddfpp", 4, boom, stuck},
		{"after the window", "dddddf", 6, boom, stuck},
		{"past the rollback, which did not take effect", "ddddfp", 5, fmt.Errorf("verify: %w", ErrNotCommitted), goBackward},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := journaled(store.OpRunning, tc.steps, 'w', false)
			d := decideFailure(op, windowed, tc.at, tc.err)
			if d.dir != tc.want || d.from != tc.at {
				t.Fatalf("decideFailure = %+v, want %v from %d", d, tc.want, tc.at)
			}
			if !strings.Contains(d.cause, windowed[tc.at].Name) || !strings.Contains(d.cause, tc.err.Error()) {
				t.Errorf("cause %q does not name the step and the error", d.cause)
			}
			if d.dir == stuck && !strings.Contains(d.why, "volctl recover 7") {
				t.Errorf("attention %q does not say how to recover", d.why)
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	transient := errors.New("transient")
	final := Permanent(errors.New("refused"))
	cases := []struct {
		name     string
		fails    []error // what the calls return, in order; then nil
		attempts int
		settled  bool // settled reports success after the first failure
		stop     bool
		wantErr  error
		calls    int
		sleeps   []time.Duration
	}{
		{"first call succeeds", nil, 3, false, false, nil, 1, nil},
		{"transient failures are retried with a growing delay", []error{transient, transient}, 3, false, false, nil, 3, []time.Duration{10, 20}},
		{"attempts run out", []error{transient, transient, transient}, 2, false, false, transient, 3, []time.Duration{10, 20}},
		{"a final failure is not retried", []error{final}, 3, false, false, final, 1, nil},
		{"a stopping daemon does not retry", []error{transient}, 3, false, true, transient, 1, nil},
		{"settled ends as a success", []error{transient}, 3, true, false, nil, 1, nil},
		{"no attempts: one call", []error{transient}, 0, false, false, transient, 1, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sleeps []time.Duration
			var retried []int
			p := retryPolicy{attempts: tc.attempts, delay: 10, final: IsPermanent,
				stop: func() bool { return tc.stop }, sleep: func(d time.Duration) { sleeps = append(sleeps, d) }}
			calls := 0
			f := func() error {
				calls++
				if calls <= len(tc.fails) {
					return tc.fails[calls-1]
				}
				return nil
			}
			var settled func(error) bool
			if tc.settled {
				settled = func(error) bool { return true }
			}
			err := p.run(f, settled, func(n int, _ error) { retried = append(retried, n) })
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if calls != tc.calls {
				t.Errorf("calls = %d, want %d", calls, tc.calls)
			}
			if fmt.Sprint(sleeps) != fmt.Sprint(tc.sleeps) {
				t.Errorf("sleeps = %v, want %v", sleeps, tc.sleeps)
			}
			if len(retried) != calls-1 {
				t.Errorf("retrying told %d times for %d calls", len(retried), calls)
			}
		})
	}
}
