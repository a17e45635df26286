package engine

// The first step's first read, run while the operation's first journal
// write commits.
//
// A rollback journals its operation once it is captured (CreateOperation,
// about 1.1 ms of fsyncs here) and only then starts its saga: that write
// is the daemon's own time on every rollback's path. When the first step
// begins with a read (detach-zones lists the zone's state before it
// detaches it), that read need not wait for the write: nothing changes
// before the write has committed, so the read sees the host exactly as it
// would right after the write, only a little sooner. So the engine starts
// that command as the write begins, and the saga's first command, if it is
// that very command (same step, same argv), takes its answer instead of
// running it again; any other first command drops it, so that no later
// read can take an answer older than the commands before it.
//
// What it does not change: the write still comes before anything that
// changes anything (the saga starts only once it has committed), a write
// that fails still refuses the request before the saga starts (the read
// then ran for nothing, as the capture's did), and a crash while the read
// runs finds either no operation or an operation whose first step has not
// started. The command is journaled with the step, with the time it really
// started (a little before its step).

import (
	"context"
	"path/filepath"
	"slices"
	"time"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// firstStep is the step a new operation's saga goes forward from
// (saga.start); step 0 is the capture.
const firstStep = 1

// prefetch is the first step's first read, running or done.
type prefetch struct {
	argv []string
	done chan struct{}
	res  *execx.Result
	err  error
}

// prefetchFirstRead starts the first command of op's first step when the
// step is outside the outage window and that command only reads (the
// backend says so); nil otherwise.
func (e *Engine) prefetchFirstRead(op *store.Operation, steps []Step) *prefetch {
	if len(steps) <= firstStep || len(op.Steps) != len(steps) || steps[firstStep].OutageWindow ||
		op.Steps[firstStep].State != store.StepPending || len(steps[firstStep].Planned) == 0 {
		return nil
	}
	argv := steps[firstStep].Planned[0]
	if len(argv) == 0 || !filepath.IsAbs(argv[0]) || !e.readOnly(argv) {
		return nil
	}
	p := &prefetch{argv: slices.Clone(argv), done: make(chan struct{})}
	r := execx.Runner{Timeout: e.timeout(argv), MaxOutput: e.cfg.MaxOutput, Sched: e.sched}
	e.wg.Add(1) // Engine.Wait waits for its process too
	go func() {
		defer e.wg.Done()
		defer close(p.done)
		p.res, p.err = r.Run(e.base, p.argv)
	}()
	return p
}

// takePrefetch is the saga's first command's check: it returns the
// prefetched read when argv is that read, of the first step, going
// forward; the first command, whatever it is, ends the prefetch's use.
func (x *Exec) takePrefetch(argv []string) *prefetch {
	s := x.s
	s.cmdMu.Lock()
	p := s.prefetch
	s.prefetch = nil
	s.cmdMu.Unlock()
	if p == nil || x.undo || x.index != firstStep || !slices.Equal(argv, p.argv) {
		return nil
	}
	return p
}

// answer is the prefetched read's result, once it has one, or why the
// caller stopped waiting for it (as a wait for the scheduler that ended).
func (p *prefetch) answer(ctx context.Context) (*execx.Result, error) {
	begin := time.Now()
	select {
	case <-p.done:
		return p.res, p.err
	case <-ctx.Done():
		return execx.WaitEnded(p.argv, begin, "for the command started with the journal's write", ctx.Err())
	}
}
