package execx

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// manualTimer is a stall timer the test fires by hand.
type manualTimer struct {
	mu      sync.Mutex
	f       func()
	stopped bool
}

func (t *manualTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (t *manualTimer) fire() {
	t.mu.Lock()
	stopped := t.stopped
	t.stopped = true
	t.mu.Unlock()
	if !stopped {
		t.f()
	}
}

// manualStall makes s's stall timers the test's.
func manualStall(s *Scheduler) *[]*manualTimer {
	var mu sync.Mutex
	timers := &[]*manualTimer{}
	s.Stall = time.Hour
	s.afterFun = func(_ time.Duration, f func()) stopper {
		mu.Lock()
		defer mu.Unlock()
		t := &manualTimer{f: f}
		*timers = append(*timers, t)
		return t
	}
	return timers
}

// take returns what ch has within d, and whether it had anything (a
// goroutine blocked in Start or OpenWindow has not).
func take[T any](ch <-chan T, d time.Duration) (T, bool) {
	select {
	case v := <-ch:
		return v, true
	case <-time.After(d):
		var zero T
		return zero, false
	}
}

// ready: ch has something soon (generous, for a loaded machine).
func ready[T any](ch <-chan T) bool {
	_, ok := take(ch, 10*time.Second)
	return ok
}

// blocked: ch has nothing for a short while.
func blocked[T any](ch <-chan T) bool {
	_, ok := take(ch, 50*time.Millisecond)
	return !ok
}

func mustStart(t *testing.T, s *Scheduler, urgent bool, w *Window) *Slot {
	t.Helper()
	sl, _, err := s.Start(context.Background(), urgent, w)
	if err != nil {
		t.Fatal(err)
	}
	return sl
}

// startAsync starts a command in the background; the channel gets its
// slot once it has one.
func startAsync(ctx context.Context, s *Scheduler, urgent bool) <-chan *Slot {
	ch := make(chan *Slot, 1)
	go func() {
		sl, _, err := s.Start(ctx, urgent, nil)
		if err != nil {
			close(ch)
			return
		}
		ch <- sl
	}()
	return ch
}

func TestSchedulerBoundsCommands(t *testing.T) {
	s := &Scheduler{MaxCommands: 3}
	var mu sync.Mutex
	now, most := 0, 0
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sl := mustStart(t, s, false, nil)
			mu.Lock()
			now++
			most = max(most, now)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			now--
			mu.Unlock()
			sl.Done()
		}()
	}
	wg.Wait()
	if most != 3 {
		t.Errorf("%d commands ran at once, want at most (and, with 40 asking, exactly) 3", most)
	}
	if st := s.Stats(); st.Commands != 40 || st.UrgentCommands != 0 {
		t.Errorf("stats %+v, want 40 commands", st)
	}
}

// An urgent command (an open window's) starts at once though every slot
// is taken, and counts: the others wait until it is done too.
func TestSchedulerUrgentFirst(t *testing.T) {
	s := &Scheduler{MaxCommands: 1}
	read := mustStart(t, s, false, nil)
	queued := startAsync(context.Background(), s, false)
	if !blocked(queued) {
		t.Fatal("a second command started past MaxCommands 1")
	}
	u, ok := take(startAsync(context.Background(), s, true), 10*time.Second)
	if !ok {
		t.Fatal("an urgent command waited behind the others")
	}
	read.Done()
	if !blocked(queued) {
		t.Fatal("a command started while the urgent one still ran: urgent commands must count")
	}
	u.Done()
	if !ready(queued) {
		t.Fatal("the queued command did not start once the slots were free")
	}
}

// The others start in the order they asked.
func TestSchedulerOrder(t *testing.T) {
	s := &Scheduler{MaxCommands: 1}
	first := mustStart(t, s, false, nil)
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sl := mustStart(t, s, false, nil)
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			sl.Done()
		}()
		// Each waits before the next asks.
		for {
			s.mu.Lock()
			n := len(s.cmdQ)
			s.mu.Unlock()
			if n == i+1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	first.Done()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("started in the order %v, want 0..4", order)
		}
	}
}

// A command whose context ends while it waits gives up its place; one
// handed a slot as its context ended gives the slot on.
func TestSchedulerCancel(t *testing.T) {
	s := &Scheduler{MaxCommands: 1}
	first := mustStart(t, s, false, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := s.Start(ctx, false, nil)
		errc <- err
	}()
	next := startAsync(context.Background(), s, false)
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled wait did not return")
	}
	first.Done()
	if !ready(next) {
		t.Fatal("the command after a cancelled one never started")
	}
	if s.running != 1 || len(s.cmdQ) != 0 {
		t.Errorf("running %d, queue %d after the cancel; want 1, 0", s.running, len(s.cmdQ))
	}
	// Through Runner: the command does not run, and says why.
	r := Runner{Sched: s}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	res, err := r.Run(cctx, []string{"/bin/true"})
	if !errors.Is(err, context.Canceled) || res.Exit != -1 {
		t.Errorf("Run with a cancelled wait: exit %d, %v", res.Exit, err)
	}
}

func TestSchedulerWindows(t *testing.T) {
	s := &Scheduler{MaxWindows: 2}
	ctx := context.Background()
	w1, _ := s.OpenWindow(ctx, false)
	w2, _ := s.OpenWindow(ctx, false)
	third := make(chan *Window, 1)
	go func() {
		w, err := s.OpenWindow(ctx, false)
		if err == nil {
			third <- w
		}
	}()
	if !blocked(third) {
		t.Fatal("a third window opened past MaxWindows 2")
	}
	// A window whose LU is away already never waits.
	forced, err := s.OpenWindow(ctx, true)
	if err != nil || forced == nil {
		t.Fatalf("forced window: %v", err)
	}
	w1.Close()
	if !blocked(third) {
		t.Fatal("a window opened while 2 (one forced) were open")
	}
	forced.Close()
	forced.Close() // twice: nothing more
	if !ready(third) {
		t.Fatal("the waiting window did not open once a slot was free")
	}
	w2.Close()
	if s.open != 1 {
		t.Errorf("%d windows counted, want 1", s.open)
	}
	st := s.Stats()
	if st.Windows != 4 || st.Forced != 1 {
		t.Errorf("stats %+v, want 4 windows, 1 forced", st)
	}

	// A wait for a window ends with its context (a daemon shutting down).
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	w3, _ := s.OpenWindow(ctx, false) // now 2 open
	go func() { _, err := s.OpenWindow(cctx, false); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled window wait: %v", err)
	}
	w3.Close()
	if s.open != 1 || len(s.windowQ) != 0 {
		t.Errorf("%d windows counted, %d waiting; want 1, 0", s.open, len(s.windowQ))
	}
}

// A command that runs past Stall stops counting, and so does its window:
// one hung command does not hold the others back for its whole timeout.
func TestSchedulerStall(t *testing.T) {
	s := &Scheduler{MaxCommands: 1, MaxWindows: 1}
	timers := manualStall(s)
	ctx := context.Background()
	w, _ := s.OpenWindow(ctx, false)
	hung := mustStart(t, s, true, w)
	next := startAsync(ctx, s, false)
	nextWindow := make(chan *Window, 1)
	go func() {
		w, err := s.OpenWindow(ctx, false)
		if err == nil {
			nextWindow <- w
		}
	}()
	if !blocked(next) || !blocked(nextWindow) {
		t.Fatal("started past the bounds before any stall")
	}
	(*timers)[0].fire()
	if !ready(next) {
		t.Fatal("a command still waits behind a stalled one")
	}
	if !ready(nextWindow) {
		t.Fatal("a window still waits behind a stalled one")
	}
	hung.Done() // it ends at last: nothing to give back twice
	w.Close()
	if s.running != 1 || s.open != 1 {
		t.Errorf("running %d, open %d; want 1, 1 (the ones that took the freed slots)", s.running, s.open)
	}
	if st := s.Stats(); st.Stalled != 2 {
		t.Errorf("stalled %d, want 2 (the command and its window)", st.Stalled)
	}
	// A command done before its timer fires: the timer is stopped.
	quick := mustStart(t, s, true, nil)
	quick.Done()
	if tm := (*timers)[len(*timers)-1]; !tm.stopped {
		t.Error("a finished command's stall timer was not stopped")
	}
}

// Many commands of both classes and windows at once, some cancelled and
// some stalling for real: everything ends and every count goes back to 0.
func TestSchedulerNoDeadlock(t *testing.T) {
	s := &Scheduler{MaxCommands: 2, MaxWindows: 1, Stall: 5 * time.Millisecond}
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*time.Millisecond)
			defer cancel()
			if i%3 == 0 {
				w, err := s.OpenWindow(ctx, i%9 == 0)
				if err != nil {
					return
				}
				defer w.Close()
				for range 3 {
					sl, _, _ := s.Start(ctx, true, w)
					time.Sleep(time.Duration(i%4) * 3 * time.Millisecond)
					sl.Done()
				}
				return
			}
			sl, _, err := s.Start(ctx, false, nil)
			if err != nil {
				return
			}
			time.Sleep(time.Duration(i%5) * 2 * time.Millisecond)
			sl.Done()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("deadlock: the commands did not all end")
	}
	if s.running != 0 || s.open != 0 || len(s.cmdQ) != 0 || len(s.windowQ) != 0 {
		t.Errorf("left: running %d, open %d, queued %d, %d", s.running, s.open, len(s.cmdQ), len(s.windowQ))
	}
}
