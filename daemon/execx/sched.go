package execx

import (
	"context"
	"sync"
	"time"
)

// Scheduler decides when a command may start and when an outage window may
// open, so that under load the commands that keep an LU away never queue
// behind other operations' reads (docs/scheduling.md).
//
// Two classes of commands:
//
//   - urgent: the commands of an open outage window (delete-lu, zfs
//     rollback, import-lu and its read-backs, create-lu) and of the steps
//     that finish what the window's users need (add-view). They start at
//     once, never waiting: an LU is away while they run.
//   - the others (captures, verifies, zone reads, probes, inventory): at
//     most MaxCommands run at once, urgent ones included, so that an
//     urgent command meets a short queue on the host rather than every
//     command of every operation. They start in the order they asked.
//
// And windows: at most MaxWindows outage windows are open at once. An
// operation waits for a window slot before its LU goes (the wait is not
// an outage), so that each open window's commands compete with few
// others'. A window whose LU is already away (a resume inside the window)
// takes its slot at once, over the bound if it must.
//
// Nothing that holds a slot waits for the scheduler: an urgent command
// never waits, and a window holder's commands are urgent. A command or a
// window held longer than Stall stops counting, so that one hung command
// (it is killed at its own timeout) slows the others by Stall at most, not
// by its timeout.
type Scheduler struct {
	// MaxCommands bounds the commands running at once (urgent ones
	// count, but never wait); <= 0: no bound.
	MaxCommands int
	// MaxWindows bounds the outage windows open at once; <= 0: no bound.
	MaxWindows int
	// Stall is how long a command runs (or a window's command runs)
	// before its slot stops counting; <= 0: never.
	Stall time.Duration

	mu       sync.Mutex
	running  int // counted commands
	open     int // counted windows
	cmdQ     []chan struct{}
	windowQ  []chan struct{}
	stats    SchedStats
	afterFun func(time.Duration, func()) stopper // tests
}

// SchedStats is where the time went, summed since the scheduler was made.
type SchedStats struct {
	// Commands and UrgentCommands counted; CommandWait is what the
	// others waited for a slot (urgent ones never wait); Run and
	// UrgentRun what each class ran for.
	Commands, UrgentCommands int
	CommandWait              time.Duration
	Run, UrgentRun           time.Duration
	// Windows opened (admitted), Forced among them (over the bound),
	// WindowWait what they waited for a slot; Stalled counts commands
	// and windows that stopped counting at Stall.
	Windows, Forced int
	WindowWait      time.Duration
	Stalled         int
}

type stopper interface{ Stop() bool }

func (s *Scheduler) after(d time.Duration, f func()) stopper {
	if s.afterFun != nil {
		return s.afterFun(d, f)
	}
	return time.AfterFunc(d, f)
}

// Stats returns the sums so far.
func (s *Scheduler) Stats() SchedStats {
	if s == nil {
		return SchedStats{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Window is an outage window's slot. Close gives it back; it is safe to
// call more than once, and on nil.
type Window struct {
	s       *Scheduler
	counted bool
	closed  bool
}

// OpenWindow takes a window slot, waiting on ctx for one unless force
// (the LU is away already: never wait). A nil Scheduler gives a window
// that bounds nothing.
func (s *Scheduler) OpenWindow(ctx context.Context, force bool) (*Window, error) {
	if s == nil {
		return &Window{}, nil
	}
	start := time.Now()
	s.mu.Lock()
	if force || s.MaxWindows <= 0 || (s.open < s.MaxWindows && len(s.windowQ) == 0) {
		s.open++
		s.stats.Windows++
		if force && s.MaxWindows > 0 && s.open > s.MaxWindows {
			s.stats.Forced++
		}
		s.mu.Unlock()
		return &Window{s: s, counted: true}, nil
	}
	ch := make(chan struct{})
	s.windowQ = append(s.windowQ, ch)
	s.mu.Unlock()
	select {
	case <-ch: // handed a slot: s.open counts it already
		s.mu.Lock()
		s.stats.Windows++
		s.stats.WindowWait += time.Since(start)
		s.mu.Unlock()
		return &Window{s: s, counted: true}, nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if i := indexOf(s.windowQ, ch); i >= 0 {
			s.windowQ = append(s.windowQ[:i], s.windowQ[i+1:]...)
		} else {
			// Handed a slot as ctx ended: give it on.
			s.open--
			s.wakeWindowsLocked()
		}
		s.stats.WindowWait += time.Since(start)
		return nil, ctx.Err()
	}
}

// Close gives the window's slot back.
func (w *Window) Close() {
	if w == nil || w.s == nil {
		return
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.closed = true
	w.uncountLocked()
}

// stalled: the window's command ran past Stall; its slot stops counting
// (the window stays open).
func (w *Window) stalled() {
	if w == nil || w.s == nil {
		return
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.counted {
		w.s.stats.Stalled++
	}
	w.uncountLocked()
}

func (w *Window) uncountLocked() {
	if !w.counted {
		return
	}
	w.counted = false
	w.s.open--
	w.s.wakeWindowsLocked()
}

// wakeWindowsLocked hands free window slots to the oldest waiters.
func (s *Scheduler) wakeWindowsLocked() {
	for len(s.windowQ) > 0 && (s.MaxWindows <= 0 || s.open < s.MaxWindows) {
		ch := s.windowQ[0]
		s.windowQ = s.windowQ[1:]
		s.open++
		close(ch)
	}
}

// Slot is a running command's place; Done gives it back.
type Slot struct {
	s       *Scheduler
	urgent  bool
	w       *Window
	start   time.Time
	timer   stopper
	counted bool
	done    bool
}

// Start takes a command slot: at once when urgent, else waiting on ctx
// for one (in the order asked). w, for a command of an open window, is
// the window that stops counting too if the command stalls. It returns
// what the command waited. A nil Scheduler bounds nothing.
func (s *Scheduler) Start(ctx context.Context, urgent bool, w *Window) (*Slot, time.Duration, error) {
	if s == nil {
		return &Slot{}, 0, nil
	}
	begin := time.Now()
	s.mu.Lock()
	if urgent || s.MaxCommands <= 0 || (s.running < s.MaxCommands && len(s.cmdQ) == 0) {
		s.running++
		sl := s.startLocked(urgent, w, 0)
		s.mu.Unlock()
		return sl, 0, nil
	}
	ch := make(chan struct{})
	s.cmdQ = append(s.cmdQ, ch)
	s.mu.Unlock()
	select {
	case <-ch: // handed a slot: s.running counts it already
		waited := time.Since(begin)
		s.mu.Lock()
		sl := s.startLocked(urgent, w, waited)
		s.mu.Unlock()
		return sl, waited, nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if i := indexOf(s.cmdQ, ch); i >= 0 {
			s.cmdQ = append(s.cmdQ[:i], s.cmdQ[i+1:]...)
		} else {
			s.running--
			s.wakeCommandsLocked()
		}
		waited := time.Since(begin)
		s.stats.CommandWait += waited
		return nil, waited, ctx.Err()
	}
}

func (s *Scheduler) startLocked(urgent bool, w *Window, waited time.Duration) *Slot {
	sl := &Slot{s: s, urgent: urgent, w: w, start: time.Now(), counted: true}
	if urgent {
		s.stats.UrgentCommands++
	} else {
		s.stats.Commands++
		s.stats.CommandWait += waited
	}
	if s.Stall > 0 {
		sl.timer = s.after(s.Stall, sl.stalled)
	}
	return sl
}

// stalled: the command ran past Stall; its slot (and its window's) stop
// counting.
func (sl *Slot) stalled() {
	sl.s.mu.Lock()
	if !sl.done && sl.counted {
		sl.counted = false
		sl.s.running--
		sl.s.stats.Stalled++
		sl.s.wakeCommandsLocked()
	}
	done := sl.done
	sl.s.mu.Unlock()
	if !done {
		sl.w.stalled()
	}
}

// Done gives the slot back; it is safe to call more than once, and on nil.
func (sl *Slot) Done() {
	if sl == nil || sl.s == nil {
		return
	}
	if sl.timer != nil {
		sl.timer.Stop()
	}
	s := sl.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl.done {
		return
	}
	sl.done = true
	if sl.urgent {
		s.stats.UrgentRun += time.Since(sl.start)
	} else {
		s.stats.Run += time.Since(sl.start)
	}
	if sl.counted {
		sl.counted = false
		s.running--
		s.wakeCommandsLocked()
	}
}

// wakeCommandsLocked hands free command slots to the oldest waiters.
func (s *Scheduler) wakeCommandsLocked() {
	for len(s.cmdQ) > 0 && (s.MaxCommands <= 0 || s.running < s.MaxCommands) {
		ch := s.cmdQ[0]
		s.cmdQ = s.cmdQ[1:]
		s.running++
		close(ch)
	}
}

func indexOf(q []chan struct{}, ch chan struct{}) int {
	for i, c := range q {
		if c == ch {
			return i
		}
	}
	return -1
}
