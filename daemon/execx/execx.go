// Package execx is the one place volctld starts processes. Every platform
// command goes through Runner.Run: an absolute path and an argv (never a
// shell), a context with a deadline, a fixed minimal environment, and capped
// output, and the result records exactly what ran and what it said.
package execx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultMaxOutput caps what is kept of a command's stdout and of its stderr.
const DefaultMaxOutput = 1 << 20

// Env is the environment every command runs with. The C locale keeps the
// messages volctld parses untranslated; nothing of the daemon's own
// environment leaks into platform commands.
var Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C"}

// Result is one command as it ran.
type Result struct {
	Argv     []string
	Exit     int // -1 when the command did not exit by itself
	Stdout   []byte
	Stderr   []byte
	Started  time.Time
	Duration time.Duration
	// Waited is how long the command waited for the Scheduler before it
	// started (not part of Duration).
	Waited time.Duration
	// Err is why the command did not run to an exit status: not found,
	// killed at its deadline, cancelled. Nil when it exited (with any status).
	Err error
}

// ErrTimeout marks a command killed at its deadline.
var ErrTimeout = errors.New("timed out")

// ErrTruncated marks a command whose standard output was longer than the
// output cap: what it printed is not the whole answer, and a listing read
// from it would be a shorter list, not an error (a volume "without" the LU
// that was cut off). It fails like any other command.
var ErrTruncated = errors.New("output exceeded max_output")

// Error is returned by Run when a command did not succeed.
type Error struct{ R *Result }

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(strings.Join(e.R.Argv, " "))
	if e.R.Err != nil {
		fmt.Fprintf(&b, ": %v", e.R.Err)
	} else {
		fmt.Fprintf(&b, ": exit status %d", e.R.Exit)
	}
	if s := strings.TrimSpace(string(e.R.Stderr)); s != "" {
		fmt.Fprintf(&b, ": %s", Cap(s, 2048))
	} else if s := strings.TrimSpace(string(e.R.Stdout)); s != "" && e.R.Err == nil {
		// cmdparse-style tools (stmfadm) print usage errors on stdout.
		fmt.Fprintf(&b, ": %s", Cap(s, 2048))
	}
	return b.String()
}

// Unwrap lets errors.Is find ErrTimeout and context errors.
func (e *Error) Unwrap() error { return e.R.Err }

// Cap shortens s to at most n bytes, saying so.
func Cap(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "...(truncated)"
}

// Runner runs commands.
type Runner struct {
	// Timeout applies when the caller's context has no earlier deadline.
	Timeout time.Duration
	// MaxOutput caps stdout and stderr each; 0 means DefaultMaxOutput.
	MaxOutput int
	// Sched, when set, decides when the command starts (sched.go):
	// Urgent ones at once, counted against Window's stall; the others
	// when a slot is free. The wait is not part of Timeout.
	Sched  *Scheduler
	Urgent bool
	Window *Window
	// OnStart, when set, is called as the command starts (after any
	// wait for the Scheduler).
	OnStart func()
	// Share, with Owner set, lets a command that only reads take the
	// answer of the same command another owner asked for and that still
	// waits for the Scheduler (share.go). Set Owner only for reads; it
	// is who asks (an operation), and an owner never joins itself.
	Share *Shared
	Owner any
}

// Run runs argv[0] (which must be an absolute path) with argv[1:]. It returns
// the result always, and a *Error when the command did not exit 0.
func (r *Runner) Run(ctx context.Context, argv []string) (*Result, error) {
	res := &Result{Argv: append([]string(nil), argv...), Exit: -1, Started: time.Now()}
	if len(argv) == 0 || !filepath.IsAbs(argv[0]) {
		res.Err = fmt.Errorf("command %q is not an absolute path", strings.Join(argv, " "))
		return res, &Error{res}
	}
	if r.Share != nil && r.Owner != nil && r.Sched != nil && !r.Urgent {
		return r.Share.run(ctx, r, argv) // share.go
	}
	return r.run(ctx, argv)
}

// WaitEnded is the result of a command that never started because its
// caller stopped waiting for it (what for: "to start" for the
// Scheduler): exit -1, the wait since begin, and why.
func WaitEnded(argv []string, begin time.Time, what string, why error) (*Result, error) {
	res := &Result{Argv: append([]string(nil), argv...), Exit: -1, Started: begin, Waited: time.Since(begin)}
	res.Err = fmt.Errorf("waiting %s %s: %w", res.Waited.Round(time.Millisecond), what, why)
	return res, &Error{res}
}

// run is Run once argv was checked.
func (r *Runner) run(ctx context.Context, argv []string) (*Result, error) {
	res := &Result{Argv: append([]string(nil), argv...), Exit: -1, Started: time.Now()}
	if r.Sched != nil {
		slot, waited, err := r.Sched.Start(ctx, r.Urgent, r.Window)
		if err != nil {
			return WaitEnded(argv, res.Started, "to start", err)
		}
		res.Waited = waited
		defer slot.Done()
		res.Started = time.Now()
	}
	if r.OnStart != nil {
		r.OnStart()
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	max := r.MaxOutput
	if max <= 0 {
		max = DefaultMaxOutput
	}
	stdout, stderr := &capped{max: max}, &capped{max: max}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = Env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Dir = "/"
	setProcessGroup(cmd)
	// Give a killed command's pipes a moment to close even if it left
	// children holding them.
	cmd.WaitDelay = 2 * time.Second
	err := run(cmd, res.Argv) // recorded while it runs: fence.go
	res.Duration = time.Since(res.Started)
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		res.Exit = cmd.ProcessState.ExitCode()
	}
	switch {
	case ctx.Err() == nil && err == nil && stdout.dropped > 0:
		res.Err = fmt.Errorf("%w (%d bytes, %d over the cap): raise max_output", ErrTruncated, stdout.buf.Len()+stdout.dropped, stdout.dropped)
	case ctx.Err() == context.DeadlineExceeded:
		res.Err = fmt.Errorf("%w after %s", ErrTimeout, res.Duration.Round(time.Millisecond))
	case ctx.Err() != nil:
		res.Err = ctx.Err()
	case err != nil && res.Exit < 0:
		res.Err = err
	}
	if res.Err != nil || res.Exit != 0 {
		return res, &Error{res}
	}
	return res, nil
}

// capped keeps the first max bytes written and counts the rest.
type capped struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		if len(p) <= room {
			c.buf.Write(p)
		} else {
			c.buf.Write(p[:room])
			c.dropped += len(p) - room
		}
	} else {
		c.dropped += len(p)
	}
	return len(p), nil
}

// ReadFrom reads r to its end: os/exec copies each of a command's pipes
// into its writer with io.Copy, which, without a ReaderFrom, allocates and
// clears a 32 KiB buffer per pipe, two per command (a tenth of volctld's
// CPU under 64 rollbacks at once). The buffers are pooled instead.
func (c *capped) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var n int64
	for {
		k, err := r.Read(*bp)
		if k > 0 {
			_, _ = c.Write((*bp)[:k])
			n += int64(k)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (c *capped) Bytes() []byte {
	if c.dropped == 0 {
		return c.buf.Bytes()
	}
	return append(c.buf.Bytes(), fmt.Sprintf("%s%d bytes dropped)", truncMark, c.dropped)...)
}

const truncMark = "\n...("

// Truncated reports whether out was cut at the output cap: such output is
// not the whole answer and must not be read as if it were.
func Truncated(out []byte) bool {
	i := bytes.LastIndex(out, []byte(truncMark))
	return i >= 0 && bytes.HasSuffix(out, []byte(" bytes dropped)"))
}

// Stderr returns what a failed command printed on stderr (nil when err is
// not a command's failure), for the adapters' classifiers.
func Stderr(err error) []byte {
	var xe *Error
	if errors.As(err, &xe) {
		return xe.R.Stderr
	}
	return nil
}
