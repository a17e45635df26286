package execx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingCommand is a script that appends a line to its log each time it
// runs and prints its arguments (or fails with exit 3 when the first is
// "fail").
func countingCommand(t *testing.T) (argv0 string, runs func() int) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "runs")
	argv0 = filepath.Join(dir, "list")
	script := "#!/bin/sh\necho x >> " + log + "\nif [ \"$1\" = fail ]; then echo 'busy' >&2; exit 3; fi\necho \"$@\"\n"
	if err := os.WriteFile(argv0, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return argv0, func() int {
		b, err := os.ReadFile(log)
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "x\n")
	}
}

type answer struct {
	res *Result
	err error
}

func runAsync(ctx context.Context, r Runner, argv []string) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		res, err := r.Run(ctx, argv)
		ch <- answer{res, err}
	}()
	return ch
}

// waitQueued waits until the flight for argv has n callers.
func waitQueued(t *testing.T, sh *Shared, r Runner, argv []string, n int) {
	t.Helper()
	key := shareKey(&r, argv)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		sh.mu.Lock()
		got := 0
		for _, f := range sh.waiting[key] {
			got += len(f.owners)
		}
		sh.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("the flight for %v never had %d callers", argv, n)
}

func TestSharedReads(t *testing.T) {
	tests := []struct {
		name     string
		owners   []any // who asks, in order, while the one slot is held
		args     []string
		wantRuns int
		wantJoin int
		wantExit int
	}{
		{"two operations share one command", []any{"op1", "op2"}, []string{"lu"}, 1, 1, 0},
		{"four operations, one command", []any{"op1", "op2", "op3", "op4"}, []string{"lu"}, 1, 3, 0},
		{"an operation never joins itself", []any{"op1", "op1"}, []string{"lu"}, 2, 0, 0},
		{"two of one operation and one other", []any{"op1", "op1", "op2"}, []string{"lu"}, 2, 1, 0},
		{"a failure is shared as a failure", []any{"op1", "op2"}, []string{"fail"}, 1, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			argv0, runs := countingCommand(t)
			s := &Scheduler{MaxCommands: 1}
			sh := &Shared{}
			hold := mustStart(t, s, false, nil)
			argv := append([]string{argv0}, tt.args...)
			var started atomic.Int32
			var chans []<-chan answer
			for i, o := range tt.owners {
				r := Runner{Timeout: time.Minute, Sched: s, Share: sh, Owner: o, OnStart: func() { started.Add(1) }}
				chans = append(chans, runAsync(context.Background(), r, argv))
				waitQueued(t, sh, r, argv, i+1)
			}
			hold.Done()
			for i, ch := range chans {
				a, ok := take(ch, 10*time.Second)
				if !ok {
					t.Fatalf("caller %d got no answer", i)
				}
				if a.res.Exit != tt.wantExit {
					t.Errorf("caller %d: exit %d, want %d (%v)", i, a.res.Exit, tt.wantExit, a.err)
				}
				var xe *Error
				if (tt.wantExit != 0) != errors.As(a.err, &xe) {
					t.Errorf("caller %d: error %v for exit %d", i, a.err, a.res.Exit)
				}
				if tt.wantExit == 0 && strings.TrimSpace(string(a.res.Stdout)) != strings.Join(tt.args, " ") {
					t.Errorf("caller %d: stdout %q", i, a.res.Stdout)
				}
				if tt.wantExit != 0 && !strings.Contains(a.err.Error(), "busy") {
					t.Errorf("caller %d: error %q does not quote stderr", i, a.err)
				}
			}
			if got := runs(); got != tt.wantRuns {
				t.Errorf("the command ran %d times, want %d", got, tt.wantRuns)
			}
			if got := sh.Joined(); got != tt.wantJoin {
				t.Errorf("Joined() = %d, want %d", got, tt.wantJoin)
			}
			if got := int(started.Load()); got != len(tt.owners) {
				t.Errorf("OnStart ran for %d callers, want %d", got, len(tt.owners))
			}
		})
	}
}

// A command that has started is never joined: a caller that asks while it
// runs runs its own (it must see the host as it is after it asked).
func TestSharedReadsNeverJoinAStartedCommand(t *testing.T) {
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	log := filepath.Join(dir, "runs")
	argv0 := filepath.Join(dir, "list")
	// The first run waits for the gate file; later runs do not.
	script := "#!/bin/sh\necho x >> " + log + "\nif [ \"$(wc -l < " + log + ")\" -eq 1 ]; then while [ ! -e " + gate + " ]; do sleep 0.01; done; fi\necho ok\n"
	if err := os.WriteFile(argv0, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Scheduler{MaxCommands: 4}
	sh := &Shared{}
	argv := []string{argv0}
	startedFirst := make(chan struct{})
	r1 := Runner{Timeout: time.Minute, Sched: s, Share: sh, Owner: "op1", OnStart: func() { close(startedFirst) }}
	first := runAsync(context.Background(), r1, argv)
	if !ready(startedFirst) {
		t.Fatal("the first command never started")
	}
	// OnStart runs just before the process starts: wait until its script
	// has logged its run, or the second's could log first and be the one
	// that waits for the gate.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(log); strings.Count(string(b), "x\n") == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first command never ran its script")
		}
	}
	r2 := Runner{Timeout: time.Minute, Sched: s, Share: sh, Owner: "op2"}
	second := runAsync(context.Background(), r2, argv)
	a2, ok := take(second, 10*time.Second)
	if !ok || a2.err != nil {
		t.Fatalf("the second caller: %v (answered: %v)", a2.err, ok)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if a1, ok := take(first, 10*time.Second); !ok || a1.err != nil {
		t.Fatalf("the first caller: %v (answered: %v)", a1.err, ok)
	}
	b, _ := os.ReadFile(log)
	if n := strings.Count(string(b), "x\n"); n != 2 {
		t.Errorf("the command ran %d times, want 2", n)
	}
	if sh.Joined() != 0 {
		t.Errorf("Joined() = %d, want 0", sh.Joined())
	}
}

// heldRig is a counting read and a scheduler whose one slot is held, so
// that the reads asked for queue.
type heldRig struct {
	argv []string
	runs func() int
	s    *Scheduler
	sh   *Shared
	hold *Slot
}

func newHeldRig(t *testing.T) heldRig {
	t.Helper()
	argv0, runs := countingCommand(t)
	s := &Scheduler{MaxCommands: 1}
	return heldRig{argv: []string{argv0, "lu"}, runs: runs, s: s, sh: &Shared{}, hold: mustStart(t, s, false, nil)}
}

// The leader's context ends while it waits: the joiner runs the command
// itself and gets a whole answer; a joiner whose own context ends gets
// its context's error and the leader goes on.
func TestSharedReadsCancel(t *testing.T) {
	t.Run("leader gone", func(t *testing.T) {
		g := newHeldRig(t)
		argv, runs, s, sh, hold := g.argv, g.runs, g.s, g.sh, g.hold
		ctx, cancel := context.WithCancel(context.Background())
		r1 := Runner{Timeout: time.Minute, Sched: s, Share: sh, Owner: "op1"}
		leader := runAsync(ctx, r1, argv)
		waitQueued(t, sh, r1, argv, 1)
		r2 := Runner{Timeout: time.Minute, Sched: s, Share: sh, Owner: "op2"}
		joiner := runAsync(context.Background(), r2, argv)
		waitQueued(t, sh, r2, argv, 2)
		cancel()
		if a, ok := take(leader, 10*time.Second); !ok || !errors.Is(a.err, context.Canceled) {
			t.Fatalf("leader: %v, want context.Canceled", a.err)
		}
		hold.Done()
		a, ok := take(joiner, 10*time.Second)
		if !ok || a.err != nil || strings.TrimSpace(string(a.res.Stdout)) != "lu" {
			t.Fatalf("joiner: %v %q", a.err, a.res.Stdout)
		}
		if runs() != 1 || sh.Joined() != 0 {
			t.Errorf("runs %d joined %d, want 1 and 0", runs(), sh.Joined())
		}
	})
	t.Run("joiner gone", func(t *testing.T) {
		g := newHeldRig(t)
		argv, runs, s, sh, hold := g.argv, g.runs, g.s, g.sh, g.hold
		r1 := Runner{Timeout: time.Minute, Sched: s, Share: sh, Owner: "op1"}
		leader := runAsync(context.Background(), r1, argv)
		waitQueued(t, sh, r1, argv, 1)
		ctx, cancel := context.WithCancel(context.Background())
		r2 := Runner{Timeout: time.Minute, Sched: s, Share: sh, Owner: "op2"}
		joiner := runAsync(ctx, r2, argv)
		waitQueued(t, sh, r2, argv, 2)
		cancel()
		if a, ok := take(joiner, 10*time.Second); !ok || !errors.Is(a.err, context.Canceled) || a.res.Exit != -1 {
			t.Fatalf("joiner: %v exit %d, want context.Canceled, -1", a.err, a.res.Exit)
		}
		hold.Done()
		if a, ok := take(leader, 10*time.Second); !ok || a.err != nil {
			t.Fatalf("leader: %v", a.err)
		}
		if runs() != 1 {
			t.Errorf("runs %d, want 1", runs())
		}
	})
}

// Without an owner, or for an urgent command, nothing is shared.
func TestSharedReadsOnlyWhenAsked(t *testing.T) {
	for _, r := range []Runner{{Owner: nil}, {Owner: "op2", Urgent: true}} {
		g := newHeldRig(t)
		argv, runs, s, sh, hold := g.argv, g.runs, g.s, g.sh, g.hold
		r1 := Runner{Timeout: time.Minute, Sched: s, Share: sh, Owner: "op1"}
		leader := runAsync(context.Background(), r1, argv)
		waitQueued(t, sh, r1, argv, 1)
		r.Timeout, r.Sched, r.Share = time.Minute, s, sh
		other := runAsync(context.Background(), r, argv)
		if r.Urgent {
			// It runs at once, while the leader still waits.
			if a, ok := take(other, 10*time.Second); !ok || a.err != nil {
				t.Fatalf("the urgent command: %v (answered %v)", a.err, ok)
			}
		} else {
			waitQueued(t, sh, r1, argv, 1) // still the leader alone
		}
		hold.Done()
		waiting := []<-chan answer{leader}
		if !r.Urgent {
			waiting = append(waiting, other)
		}
		for _, ch := range waiting {
			if a, ok := take(ch, 10*time.Second); !ok || a.err != nil {
				t.Fatalf("%v (answered %v)", a.err, ok)
			}
		}
		if runs() != 2 || sh.Joined() != 0 {
			t.Errorf("owner %v urgent %v: runs %d joined %d, want 2 and 0", r.Owner, r.Urgent, runs(), sh.Joined())
		}
	}
}
