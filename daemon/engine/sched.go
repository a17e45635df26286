package engine

import (
	"time"

	"github.com/volctl/volctl/daemon/execx"
)

// Scheduling the host's commands (docs/scheduling.md): under load the
// commands of an open outage window must not queue behind other
// operations' captures, verifies and zone reads. execx.Scheduler does the
// counting; here is who is what:
//
//   - a saga takes a window slot before its first window step (admitWindow)
//     and gives it back once the window's end is journaled, or when the
//     saga ends (closeWindow); while it holds it, every command it runs is
//     urgent (Exec.Run), its undo and its Park included;
//   - a saga that finds its LU away (a resume, a compensation of an open
//     window) takes its slot at once, over the bound if it must
//     (holdOpenWindow): an LU that is away never waits;
//   - a FollowsWindow step's commands are urgent too (restore-views);
//   - everything else (captures, verifies, zone steps, probes, inventory
//     reads: plainRun) waits for one of MaxCommands slots.

// The defaults, measured with BenchmarkParallelRollbacks on a 2-core
// machine (daemon/solaris/bench_parallel_test.go; the figures are in the
// commit that set them).
const (
	DefaultMaxCommands = 4
	DefaultMaxWindows  = 2
	DefaultStall       = 2 * time.Second
)

func newScheduler(cfg Config) *execx.Scheduler {
	s := &execx.Scheduler{MaxCommands: cfg.MaxCommands, MaxWindows: cfg.MaxWindows, Stall: cfg.Stall}
	if s.MaxCommands == 0 {
		s.MaxCommands = DefaultMaxCommands
	}
	if s.MaxWindows == 0 {
		s.MaxWindows = DefaultMaxWindows
	}
	if s.Stall == 0 {
		s.Stall = DefaultStall
	}
	return s
}

// SchedulerStats is where the host's commands spent their time so far
// (benchmarks).
func (e *Engine) SchedulerStats() execx.SchedStats { return e.sched.Stats() }

// SharedReads is how many reads took another operation's identical read's
// answer so far (benchmarks).
func (e *Engine) SharedReads() int {
	if e.shared == nil {
		return 0
	}
	return e.shared.Joined()
}

// share lets run take, when argv only reads (the backend says so), the
// answer of the same read of another operation that still waits for the
// scheduler (execx.Shared says why that is as fresh as its own). owner is
// who asks: a capture's recorder, a saga.
func (e *Engine) share(run *execx.Runner, argv []string, owner any) {
	if e.shared != nil && e.readOnly(argv) {
		run.Share, run.Owner = e.shared, owner
	}
}

// admitWindow takes a window slot for the saga unless it holds one:
// waiting for one while its LU is still there (a shutdown ends the wait:
// false), at once while it is away.
func (s *saga) admitWindow() bool {
	if s.window != nil {
		return true
	}
	if windowOpen(s.op) {
		s.holdOpenWindow()
		return true
	}
	w, err := s.e.sched.OpenWindow(s.e.base, false)
	if err != nil {
		return false
	}
	s.window = w
	return true
}

// holdOpenWindow takes a window slot at once if the saga's LU is away and
// it holds none.
func (s *saga) holdOpenWindow() {
	if s.window != nil || !windowOpen(s.op) {
		return
	}
	s.window, _ = s.e.sched.OpenWindow(s.e.base, true)
}

// closeWindow gives the saga's window slot back.
func (s *saga) closeWindow() {
	s.window.Close()
	s.window = nil
}
