package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// The scheduling of the host's commands (sched.go) over the fake backend:
// real processes (/bin/true, and a cat of a FIFO that blocks until the
// test lets it go), a real journal.

// schedFake is the fake backend whose steps each run cmd(op, step) first
// (nil: nothing).
type schedFake struct {
	*fakeBackend
	cmd func(op *store.Operation, step string) []string
}

func (f schedFake) Steps(op *store.Operation) []Step {
	steps := f.fakeBackend.Steps(op)
	for i := range steps {
		name, do := steps[i].Name, steps[i].Do
		steps[i].Do = func(ctx context.Context, x *Exec) error {
			if argv := f.cmd(op, name); argv != nil {
				if _, err := x.Run(ctx, argv); err != nil {
					return err
				}
			}
			return do(ctx, x)
		}
	}
	return steps
}

// gate is a FIFO: a command that reads it blocks until the test opens it
// for writing (let).
type gate struct{ path string }

func newGate(t *testing.T) gate {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gate")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	return gate{p}
}

func (g gate) argv() []string { return []string{"/bin/cat", g.path} }

// let opens the FIFO for writing and closes it at once, so that the
// readers blocked on it read the end; it reports whether a reader was
// there.
func (g gate) let() bool {
	f, err := os.OpenFile(g.path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false // ENXIO: no reader yet
	}
	f.Close()
	return true
}

type schedRig struct {
	e      *Engine
	cancel context.CancelFunc
	db     *store.DB
}

// newSchedRig is an engine over schedFake; at the end the daemon stops
// and g lets every command blocked on it go (a failed test leaves some).
func newSchedRig(t *testing.T, g gate, cfg Config, cmd func(op *store.Operation, step string) []string) *schedRig {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Retries, cfg.RetryDelay = 2, time.Microsecond
	fb := newFake(solarisLike, newWorld())
	r := &schedRig{e: New(ctx, db, schedFake{fb, cmd}, cfg, nil), cancel: cancel, db: db}
	t.Cleanup(func() {
		cancel()
		done := make(chan struct{})
		go func() { r.e.Wait(); close(done) }()
		for {
			select {
			case <-done:
				db.Close()
				return
			case <-time.After(10 * time.Millisecond):
				g.let()
			}
		}
	})
	return r
}

// rollbackAsync rolls back pool/VOL@snap in the background: its events
// go to the returned channel (buffered), its end to done.
type asyncOp struct {
	events chan Event
	done   chan struct{}
	op     *store.Operation
	err    error
}

func (r *schedRig) rollbackAsync(vol string) *asyncOp {
	a := &asyncOp{events: make(chan Event, 1000), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.op, a.err = r.e.Rollback(context.Background(), Request{Snapshot: "pool/" + vol + "@snap"}, func(ev Event) {
			select {
			case a.events <- ev:
			default:
			}
		})
	}()
	return a
}

// waitFor waits for an event of step in state (or, with started, a
// command of step starting).
func (a *asyncOp) waitFor(t *testing.T, step string, state store.StepState, started bool, what string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-a.events:
			if ev.Step == step && (started && ev.CommandStarted != nil || !started && ev.State == state && ev.Command == nil && ev.CommandStarted == nil) {
				return
			}
		case <-a.done:
			t.Fatalf("%s: the operation ended first (%v)", what, a.err)
		case <-timeout:
			t.Fatalf("%s: not within 20 s", what)
		}
	}
}

func (a *asyncOp) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: the operation did not end within 30 s", what)
	}
}

func opEnded(a *asyncOp) bool {
	select {
	case <-a.done:
		return true
	case <-time.After(100 * time.Millisecond):
		return false
	}
}

// An open window's commands start though another operation's command
// holds the only slot; the commands outside the window wait for it.
func TestSchedWindowCommandsGoFirst(t *testing.T) {
	g := newGate(t)
	r := newSchedRig(t, g, Config{MaxCommands: 1, MaxWindows: 1}, func(_ *store.Operation, step string) []string {
		switch step {
		case "delete", "rollback", "import", "verify":
			return []string{"/bin/true"}
		}
		return nil
	})
	// Another operation's read holds the only slot until the gate opens.
	held := make(chan error, 1)
	go func() {
		_, err := r.e.plainRun(context.Background(), g.argv())
		held <- err
	}()
	for r.e.SchedulerStats().Commands == 0 {
		time.Sleep(time.Millisecond)
	}
	a := r.rollbackAsync("vol")
	a.waitFor(t, "import", store.StepDone, false, "the window's commands while another command held the only slot")
	if opEnded(a) {
		t.Fatal("verify ran while another command held the only slot (max_commands 1)")
	}
	for !g.let() {
		time.Sleep(time.Millisecond)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	a.wait(t, "after the slot was free")
	if a.err != nil || a.op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v (%s)", a.err, stepStates(a.op))
	}
	if st := r.e.SchedulerStats(); st.UrgentCommands != 3 || st.Commands != 2 {
		t.Errorf("scheduler counted %d urgent and %d other commands, want 3 (delete, rollback, import) and 2 (the read, verify)", st.UrgentCommands, st.Commands)
	}
}

// At most MaxWindows outage windows are open at once: an operation waits
// for a slot before its LU goes, and the wait is not part of its outage.
func TestSchedWindowSlots(t *testing.T) {
	g := newGate(t)
	r := newSchedRig(t, g, Config{MaxWindows: 1, Stall: time.Hour}, func(op *store.Operation, step string) []string {
		if step == "delete" {
			return g.argv()
		}
		return nil
	})
	a := r.rollbackAsync("a")
	a.waitFor(t, "delete", "", true, "a's delete-lu")
	b := r.rollbackAsync("b")
	b.waitFor(t, "stop", store.StepDone, false, "b's step before the window")
	select {
	case ev := <-b.events:
		t.Fatalf("b went on (%s %s) while a's window held the only window slot", ev.Step, ev.State)
	case <-time.After(200 * time.Millisecond):
	}
	for !opEnded(a) || !opEnded(b) {
		g.let()
	}
	for _, o := range []*asyncOp{a, b} {
		if o.err != nil || o.op.State != store.OpSucceeded {
			t.Fatalf("rollback: %v (%s)", o.err, stepStates(o.op))
		}
	}
	if b.op.OutageStart.Before(a.op.OutageEnd) {
		t.Errorf("windows overlap: a %s..%s, b %s..%s", a.op.OutageStart, a.op.OutageEnd, b.op.OutageStart, b.op.OutageEnd)
	}
	if st := r.e.SchedulerStats(); st.Windows != 2 || st.WindowWait <= 0 {
		t.Errorf("scheduler: %d windows, waited %s; want 2 and a wait", st.Windows, st.WindowWait)
	}
}

// A window whose command hangs stops counting at Stall: the other
// operations' windows open and end meanwhile (the hung command is killed
// at its own timeout, which is much longer).
func TestSchedHungWindow(t *testing.T) {
	g := newGate(t)
	r := newSchedRig(t, g, Config{MaxCommands: 1, MaxWindows: 1, Stall: 50 * time.Millisecond}, func(op *store.Operation, step string) []string {
		if op.Volume == "pool/hung" && step == "delete" {
			return g.argv()
		}
		if step == "verify" || step == "delete" {
			return []string{"/bin/true"}
		}
		return nil
	})
	hung := r.rollbackAsync("hung")
	hung.waitFor(t, "delete", "", true, "the hung delete-lu")
	var others []*asyncOp
	for i := range 3 {
		others = append(others, r.rollbackAsync(fmt.Sprintf("v%d", i)))
	}
	for _, o := range others {
		o.wait(t, "an operation behind a hung window")
		if o.err != nil || o.op.State != store.OpSucceeded {
			t.Fatalf("rollback: %v (%s)", o.err, stepStates(o.op))
		}
	}
	if opEnded(hung) {
		t.Fatal("the hung operation ended before its command was let go")
	}
	for !opEnded(hung) {
		g.let()
	}
	if hung.err != nil || hung.op.State != store.OpSucceeded {
		t.Fatalf("hung rollback: %v (%s)", hung.err, stepStates(hung.op))
	}
	if st := r.e.SchedulerStats(); st.Stalled < 2 {
		t.Errorf("stalled %d, want the hung command and its window", st.Stalled)
	}
}

// A daemon that stops while an operation waits for a window slot stops
// that operation before its window (its LU never went; the next start
// goes on with it), and finishes the open window of the other.
func TestSchedShutdownWhileWaitingForWindow(t *testing.T) {
	g := newGate(t)
	r := newSchedRig(t, g, Config{MaxWindows: 1, Stall: time.Hour}, func(op *store.Operation, step string) []string {
		if step == "delete" {
			return g.argv()
		}
		return nil
	})
	a := r.rollbackAsync("a")
	a.waitFor(t, "delete", "", true, "a's delete-lu")
	b := r.rollbackAsync("b")
	b.waitFor(t, "stop", store.StepDone, false, "b's step before the window")
	r.cancel()
	b.wait(t, "b waiting for a window slot as the daemon stops")
	if !errors.Is(b.err, ErrShuttingDown) {
		t.Errorf("b: %v, want it stopped by the shutdown", b.err)
	}
	jb, err := r.db.GetOperation(b.op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if jb.State != store.OpRunning || !jb.OutageStart.IsZero() || jb.Steps[2].State != store.StepPending {
		t.Errorf("b journaled %s (%s), outage from %s; want running, delete pending, no outage", jb.State, stepStates(jb), jb.OutageStart)
	}
	if opEnded(a) {
		t.Fatal("a ended with its command still blocked")
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.e.Wait() }()
	for !opEnded(a) {
		g.let()
	}
	wg.Wait()
	ja, err := r.db.GetOperation(a.op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if windowOpen(ja) || ja.OutageEnd.IsZero() {
		t.Errorf("a's window was left open at shutdown: %s (%s)", ja.State, stepStates(ja))
	}
}
