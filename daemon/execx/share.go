package execx

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Shared lets callers that ask for the same read while it still waits for
// the Scheduler take its answer instead of queueing a copy of it
// (docs/scheduling.md, "Shared reads").
//
// Why it is safe: a caller joins only a command that has not started, so
// the command starts after the caller asked, exactly as the caller's own
// would have: it reads the host as late as the caller's own read would
// have, and sees every change the caller made before asking. A command
// that has started is never joined. Only reads are shared (the caller
// says so: Runner.Owner is set only for commands the backend lists as
// read-only), and only between different owners (operations): one
// operation's own reads, such as a group's captures side by side, stay a
// command each, as its journal and the crash suites count them.
//
// Why: under load, many operations capture at once and their host-wide
// listings (every LU, every target, host and target group, every zone,
// the pool's history) queue behind the scheduler's bound as identical
// commands, each printing and parsing the same listing. On a real host
// each of them costs the host as much as any other command.
type Shared struct {
	mu      sync.Mutex
	waiting map[string][]*flight
	joined  int
}

// flight is one shared command, from its first caller (the leader, who
// runs it) to its end.
type flight struct {
	owners  []any    // who asked: the leader first
	onStart []func() // the joiners' Runner.OnStart
	done    chan struct{}
	res     *Result
	err     error
	// abandoned: the leader's own context ended before the command
	// started or while it ran; its joiners run it themselves.
	abandoned bool
}

// Joined is how many callers took another's command's answer so far.
func (sh *Shared) Joined() int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.joined
}

// shareKey: commands are one command only with the same argv, deadline
// and output cap.
func shareKey(r *Runner, argv []string) string {
	return fmt.Sprintf("%d\x00%d\x00%s", r.Timeout, r.MaxOutput, strings.Join(argv, "\x00"))
}

// run is Runner.Run for a command that may be shared.
func (sh *Shared) run(ctx context.Context, r *Runner, argv []string) (*Result, error) {
	key := shareKey(r, argv)
	begin := time.Now()
	for {
		sh.mu.Lock()
		if f := sh.joinableLocked(key, r.Owner); f != nil {
			f.owners = append(f.owners, r.Owner)
			if r.OnStart != nil {
				f.onStart = append(f.onStart, r.OnStart)
			}
			sh.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				// Gone before the answer: as a wait for the scheduler
				// that ended (the command goes on for the others).
				return WaitEnded(argv, begin, "to start", ctx.Err())
			}
			if f.abandoned {
				continue
			}
			sh.mu.Lock()
			sh.joined++
			sh.mu.Unlock()
			return f.answerFor(begin)
		}
		f := &flight{owners: []any{r.Owner}, done: make(chan struct{})}
		if sh.waiting == nil {
			sh.waiting = map[string][]*flight{}
		}
		sh.waiting[key] = append(sh.waiting[key], f)
		sh.mu.Unlock()

		lead := *r
		lead.OnStart = func() {
			// Started: nobody joins it any more.
			sh.mu.Lock()
			sh.removeLocked(key, f)
			joiners := f.onStart
			sh.mu.Unlock()
			if r.OnStart != nil {
				r.OnStart()
			}
			for _, fn := range joiners {
				fn()
			}
		}
		res, err := lead.run(ctx, argv)
		sh.mu.Lock()
		sh.removeLocked(key, f) // when it never started
		f.res, f.err = res, err
		f.abandoned = err != nil && ctx.Err() != nil
		sh.mu.Unlock()
		close(f.done)
		return res, err
	}
}

// joinableLocked is a flight for key that has not started and that owner
// is not in yet.
func (sh *Shared) joinableLocked(key string, owner any) *flight {
	for _, f := range sh.waiting[key] {
		if !slices.Contains(f.owners, owner) {
			return f
		}
	}
	return nil
}

func (sh *Shared) removeLocked(key string, f *flight) {
	fs := sh.waiting[key]
	if i := slices.Index(fs, f); i >= 0 {
		fs = slices.Delete(fs, i, i+1)
	}
	if len(fs) == 0 {
		delete(sh.waiting, key)
	} else {
		sh.waiting[key] = fs
	}
}

// answerFor is the flight's result as a joiner's own: its own copy of the
// bytes (callers may keep or change them), and its own wait.
func (f *flight) answerFor(begin time.Time) (*Result, error) {
	res := *f.res
	res.Argv = slices.Clone(f.res.Argv)
	res.Stdout = slices.Clone(f.res.Stdout)
	res.Stderr = slices.Clone(f.res.Stderr)
	res.Waited = max(0, f.res.Started.Sub(begin))
	if f.err == nil {
		return &res, nil
	}
	return &res, &Error{&res} // Runner.run's errors are all *Error
}
