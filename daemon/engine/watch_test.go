package engine

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// eventKinds names each event: "plan", "STEP STATE", "STEP start ARGV"
// (a command starting), "STEP cmd ARGV", "STEP undo ..." for the
// compensation's, "note: ..." and "final STATE".
func eventKinds(evs []Event) []string {
	var k []string
	for _, ev := range evs {
		undo := ""
		if ev.Compensation {
			undo = "undo "
		}
		switch {
		case ev.Plan != nil:
			k = append(k, "plan")
		case ev.Final != nil:
			k = append(k, "final "+string(ev.Final.State))
		case ev.CommandStarted != nil:
			k = append(k, ev.Step+" "+undo+"start "+strings.Join(ev.CommandStarted.Argv[1:], " "))
		case ev.Command != nil:
			k = append(k, ev.Step+" "+undo+"cmd "+strings.Join(ev.Command.Argv[1:], " "))
		case ev.Message != "":
			k = append(k, "note: "+ev.Message)
		default:
			k = append(k, ev.Step+" "+undo+string(ev.State))
		}
	}
	return k
}

// fromJournal is what a replay from the journal can show: no notes.
func fromJournal(kinds []string) []string {
	return slices.DeleteFunc(slices.Clone(kinds), func(k string) bool { return strings.HasPrefix(k, "note: ") })
}

// waitSubscribers waits until operation id in flight has n subscribers.
func waitSubscribers(t *testing.T, e *Engine, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		e.mu.Lock()
		got := 0
		for _, fl := range e.running {
			fl.mu.Lock()
			got += len(fl.subs)
			fl.mu.Unlock()
		}
		e.mu.Unlock()
		if got >= n {
			return
		}
	}
	t.Fatalf("never %d subscribers", n)
}

// trueCmd is argv that runs and exits 0, named as a step's is.
func trueCmd(t *testing.T, name string) []string {
	t.Helper()
	p, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1)")
	}
	return []string{p, name}
}

// waitFrozen waits for the fake's step to freeze.
func waitFrozen(t *testing.T, f *fakeBackend) {
	t.Helper()
	select {
	case <-f.frozen:
	case <-time.After(10 * time.Second):
		t.Fatal("the saga never reached the freezing step")
	}
}

type watched struct {
	events []Event
	op     *store.Operation
	err    error
}

func watchAsync(e *Engine, id uint64) chan watched {
	out := make(chan watched, 1)
	go func() {
		var w watched
		w.op, w.err = e.Watch(context.Background(), id, func(ev Event) { w.events = append(w.events, ev) })
		out <- w
	}()
	return out
}

// TestWatchLive: a watcher that comes while a step hangs sees the same
// stream as the caller that started the rollback, from the plan on, every
// command's start and end once, then the end: nothing lost between the
// replay of what happened and the live events, nothing twice.
func TestWatchLive(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	r.fake.run = map[string][]string{"stop": trueCmd(t, "stop"), "delete": trueCmd(t, "delete"), "import": trueCmd(t, "import"), "boot": trueCmd(t, "boot")}
	r.fake.fault("import").freezeDo = 1 // after its command, before it returns
	callerCh := make(chan watched, 1)
	go func() {
		var c watched
		c.op, c.err = r.e.Rollback(context.Background(), Request{Snapshot: "pool/vol@snap"}, func(ev Event) { c.events = append(c.events, ev) })
		callerCh <- c
	}()
	waitFrozen(t, r.fake)
	watcherCh := watchAsync(r.e, 1)
	waitSubscribers(t, r.e, 2)
	r.fake.thaw()
	caller, watcher := <-callerCh, <-watcherCh
	if caller.err != nil || watcher.err != nil {
		t.Fatalf("errors: %v, %v", caller.err, watcher.err)
	}
	a, b := eventKinds(caller.events), eventKinds(watcher.events)
	if !slices.Equal(a, b) {
		t.Errorf("the watcher saw\n%q\nthe caller\n%q", b, a)
	}
	for _, want := range []string{"plan", "stop start stop", "stop cmd stop", "import start import", "boot cmd boot", "final succeeded"} {
		if n := slices.Index(b, want); n < 0 || slices.Index(b[n+1:], want) >= 0 {
			t.Errorf("the watcher saw %q %d times, want once: %q", want, strings.Count(strings.Join(b, "|")+"|", want+"|"), b)
		}
	}
	// A start comes before its end.
	if slices.Index(b, "import start import") > slices.Index(b, "import cmd import") {
		t.Errorf("a command's end before its start: %q", b)
	}
}

// TestWatchEnded: an operation that has ended is replayed from the
// journal as it streamed (less the notes, which are not journaled), forward and through its compensation, and the watch ends
// with the operation's error, as Rollback's.
func TestWatchEnded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  string
		state store.OpState
	}{{"succeeded", "", store.OpSucceeded}, {"rolled back", "rollback", store.OpRolledBack}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			r := newRig(t, solarisLike, w, t.TempDir())
			r.fake.run = map[string][]string{"delete": trueCmd(t, "delete"), "rollback": trueCmd(t, "rollback")}
			if tc.fail != "" {
				r.fake.fault(tc.fail).failDo, r.fake.fault(tc.fail).err = 1, Permanent(errors.New("busy"))
			}
			var caller []Event
			op, cerr := r.e.Rollback(context.Background(), Request{Snapshot: "pool/vol@snap"}, func(ev Event) { caller = append(caller, ev) })
			if op.State != tc.state {
				t.Fatalf("rollback ended %s (%v), want %s", op.State, cerr, tc.state)
			}
			got := <-watchAsync(r.e, op.ID)
			if (got.err == nil) != (cerr == nil) || got.op == nil || got.op.State != tc.state {
				t.Errorf("watch: %v %v, want the rollback's outcome (%v)", got.op, got.err, cerr)
			}
			a, b := fromJournal(eventKinds(caller)), eventKinds(got.events)
			if !slices.Equal(a, b) {
				t.Errorf("the replay\n%q\nthe rollback streamed\n%q", b, a)
			}
		})
	}
}

// TestWatchResumed: after a crash inside the outage window the resumed
// operation's watcher sees what ran before the crash (from the journal),
// a note that it was resumed, then the resumed saga live; the operation
// records the resume. (windowFirst: with a step before the window, the
// journal's record at a crash inside it is the operation's first, which
// carries the window's intent and no step: intent.go.)
func TestWatchResumed(t *testing.T) {
	w1 := newWorld()
	r1 := newRig(t, windowFirst, w1, t.TempDir())
	r1.fake.fault("import").freezeDo = 2
	go func() { _, _ = r1.rollback() }()
	waitFrozen(t, r1.fake)
	ops, err := r1.db.Unfinished()
	if err != nil || len(ops) != 1 {
		t.Fatalf("journal at the crash: %v %v", ops, err)
	}
	w2 := w1.copy()
	r2 := newRig(t, windowFirst, w2, t.TempDir())
	if err := r2.db.PutOperation(ops[0]); err != nil {
		t.Fatal(err)
	}
	r2.fake.fault("boot").freezeDo = 1 // the resumed operation runs until boot
	if err := r2.e.Start(); err != nil {
		t.Fatal(err)
	}
	waitFrozen(t, r2.fake)
	watcherCh := watchAsync(r2.e, ops[0].ID)
	waitSubscribers(t, r2.e, 1)
	r2.fake.thaw()
	got := <-watcherCh
	if got.err != nil || got.op.State != store.OpSucceeded {
		t.Fatalf("watch: %v %v", got.op, got.err)
	}
	k := eventKinds(got.events)
	note := slices.IndexFunc(k, func(s string) bool { return strings.HasPrefix(s, "note: resumed after a restart") })
	if len(k) < 6 || k[0] != "capture running" || k[1] != "plan" || note < 0 {
		t.Fatalf("watch of a resumed operation: %q", k)
	}
	before, after := k[2:note], k[note+1:]
	for _, want := range []string{"delete running"} {
		if !slices.Contains(before, want) {
			t.Errorf("the replay from the journal lacks %q: %q", want, before)
		}
	}
	if !slices.Contains(after, "boot done") || after[len(after)-1] != "final succeeded" {
		t.Errorf("the live part: %q", after)
	}
	if !strings.Contains(k[note], "in step delete") {
		t.Errorf("the note %q does not say where it stopped", k[note])
	}
	final, err := r2.db.GetOperation(ops[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(final.Resumes) != 1 || final.Resumes[0].Trigger != store.ResumeRestart || final.Resumes[0].Step != "delete" ||
		final.Resumes[0].State != store.OpRunning || !final.Resumes[0].Stopped.Equal(ops[0].Updated) {
		t.Errorf("resumes %+v, want one restart in step delete, stopped %s", final.Resumes, ops[0].Updated)
	}
}

func TestWatchNotFound(t *testing.T) {
	r := newRig(t, windowless, newWorld(), t.TempDir())
	if _, err := r.e.Watch(context.Background(), 999, func(Event) {}); !errors.Is(err, ErrNotFound) {
		t.Errorf("watch of an unknown operation: %v, want ErrNotFound", err)
	}
}

// TestActiveExcludesIdle: an operation that waited an hour for recover
// was active only while it ran: the hour is idle, and the resume is
// recorded with where it stood.
func TestActiveExcludesIdle(t *testing.T) {
	w := newWorld()
	r := newRig(t, solarisLike, w, t.TempDir())
	r.fake.fault("boot").failDo = 1 << 20
	op, _ := r.rollback()
	if op.State != store.OpNeedsAttention {
		t.Fatalf("state %s, want needs_attention", op.State)
	}
	ranFor := op.Active()
	stopped := op.Updated
	later := stopped.Add(time.Hour)
	r.e.now = func() time.Time { return later }
	r.fake.fault("boot").failDo = 0
	op, err := r.e.Recover(context.Background(), op.ID, RecoverOptions{}, func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	op, err = r.db.GetOperation(op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := op.Updated.Sub(op.Created); got < time.Hour {
		t.Fatalf("created to updated %s, want over the hour", got)
	}
	if op.Idle != time.Hour || op.Active() != ranFor {
		t.Errorf("idle %s active %s, want 1h and %s", op.Idle, op.Active(), ranFor)
	}
	want := store.Resume{Time: later.UTC(), Trigger: store.ResumeRecover, Stopped: stopped, State: store.OpNeedsAttention}
	if len(op.Resumes) != 1 || !op.Resumes[0].Time.Equal(want.Time) || op.Resumes[0].Trigger != want.Trigger ||
		!op.Resumes[0].Stopped.Equal(want.Stopped) || op.Resumes[0].State != want.State || op.Resumes[0].Step != "" {
		t.Errorf("resumes %+v, want %+v", op.Resumes, want)
	}
}
