package linuxtgt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/engine/backendtest"
	"github.com/volctl/volctl/daemon/linuxtgt"
	"github.com/volctl/volctl/internal/linuxstack"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// The crash harness of the keep saga on the real stack: a child process
// (this test binary, TestKeepCrashChild) runs the operation on a journal
// and stops dead at a step's boundary (before its Do, or after it
// returned) once it has written a marker; the parent kills it with
// SIGKILL there, then starts a new engine on the same journal (as volctld
// does at start) and checks that the resumed operation ends consistent.

// crashJob is what the parent tells the child.
type crashJob struct {
	Journal, Port, Snapshot, Step, When, Marker string
	// Undo is the operation the child undoes; 0: a keep rollback.
	Undo uint64
}

const crashEnv = "VOLCTL_KEEP_CRASH_JOB"

// crashAt stops the child at job's step boundary: it writes the marker
// and waits to be killed.
type crashAt struct {
	engine.Backend
	job crashJob
}

func (c crashAt) Steps(op *store.Operation) []engine.Step {
	steps := c.Backend.Steps(op)
	stop := func() {
		_ = os.WriteFile(c.job.Marker, []byte(c.job.Step+" "+c.job.When), 0o644)
		select {} // until SIGKILL
	}
	for i := range steps {
		if steps[i].Name != c.job.Step {
			continue
		}
		do := steps[i].Do
		steps[i].Do = func(ctx context.Context, x *engine.Exec) error {
			if c.job.When == "before" {
				stop()
			}
			err := do(ctx, x)
			if err == nil && c.job.When == "after" {
				stop()
			}
			return err
		}
	}
	return steps
}

// TestKeepCrashChild is the child; it does nothing unless started by
// runKeepCrash.
func TestKeepCrashChild(t *testing.T) {
	raw := os.Getenv(crashEnv)
	if raw == "" {
		t.Skip("the crash harness's child process: run by TestCrashInjectionKeepLinux")
	}
	var job crashJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(job.Journal, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b := crashAt{Backend: linuxtgt.New(linuxtgt.Paths{Zfs: linuxstack.Zfs, Tgtadm: linuxstack.Tgtadm, TgtControlPort: job.Port}), job: job}
	e := engine.New(context.Background(), db, b, engine.Config{DefaultTimeout: time.Minute, Retries: 2, RetryDelay: 50 * time.Millisecond}, nil)
	var op *store.Operation
	if job.Undo != 0 {
		op, err = e.Undo(context.Background(), engine.UndoRequest{Operation: job.Undo}, func(engine.Event) {})
	} else {
		op, err = e.Rollback(context.Background(), engine.Request{Snapshot: job.Snapshot, Options: store.Options{Keep: true}}, func(engine.Event) {})
	}
	t.Fatalf("the child was not killed: the operation ended (%v, %v)", op, err)
}

// journalEngine is an engine on the journal at path, started (resuming
// what the journal has unfinished); close it before another opens path.
func journalEngine(t *testing.T, path string, b engine.Backend) (*engine.Engine, func()) {
	t.Helper()
	db, err := store.Open(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := engine.New(ctx, db, b, engine.Config{DefaultTimeout: time.Minute, Retries: 2, RetryDelay: 50 * time.Millisecond}, nil)
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	var closed bool
	closeFn := func() {
		if !closed {
			closed = true
			cancel()
			e.Wait()
			db.Close()
		}
	}
	t.Cleanup(closeFn)
	return e, closeFn
}

// TestCrashInjectionKeepLinux kills the operation (SIGKILL) before and
// after every step of a keep rollback and of an undo, on the real stack,
// resumes it from the journal, and checks the host: rolled back to the
// capture exactly, or at the keep's end, never in between. Tally:
// keep-crash-injection[linux-tgt].
func TestCrashInjectionKeepLinux(t *testing.T) {
	if testing.Short() {
		t.Skip("crash injection: not in -short")
	}
	s := linuxstack.Start(t)
	var injected, consistent atomic.Int64
	sample := simtest.NewSample()
	t.Cleanup(func() {
		simtest.SampledSummary("keep-crash-injection[linux-tgt]", int(injected.Load()), int(consistent.Load()), sample)
	})
	keepSteps := []string{"unbind-initiators", "delete-lu", "set-aside", "clone", "promote", "create-lu", "restore-identity", "rebind-initiators", "verify", "mark-kept"}
	for _, undo := range []bool{false, true} {
		for _, step := range keepSteps {
			if undo && step == "clone" {
				step = "bring-back"
			}
			for _, when := range []string{"before", "after"} {
				if !sample.Take() {
					continue
				}
				kind := "keep"
				if undo {
					kind = "undo"
				}
				t.Run(fmt.Sprintf("%s/%s %s", kind, step, when), func(t *testing.T) {
					injected.Add(1)
					runKeepCrash(t, s, undo, step, when)
					if !t.Failed() {
						consistent.Add(1)
					}
				})
			}
		}
	}
}

func runKeepCrash(t *testing.T, s *linuxstack.Stack, undo bool, step, when string) {
	h := newStackHost(t, s)
	seed := h.Seed()
	h.Snapshot(t, seed.NewerSnapshot)
	journal := filepath.Join(t.TempDir(), "journal.db")
	var first *store.Operation
	var undoOf uint64
	if undo {
		e, closeFn := journalEngine(t, journal, h.Backend())
		var err error
		first, err = keepRun(e, seed.Snapshot, keepOpts())
		succeeded(t, "the keep to undo", first, err)
		closeFn()
		undoOf = first.ID
	}
	before := h.State(t)

	marker := filepath.Join(t.TempDir(), "stopped")
	job, err := json.Marshal(crashJob{Journal: journal, Port: s.ControlPort, Snapshot: seed.Snapshot, Step: step, When: when, Marker: marker, Undo: undoOf})
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestKeepCrashChild$", "-test.count=1")
	child.Env = append(os.Environ(), crashEnv+"="+string(job))
	out, err := os.Create(filepath.Join(t.TempDir(), "child.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	child.Stdout, child.Stderr = out, out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	deadline := time.After(2 * time.Minute)
	for stopped := false; !stopped; {
		select {
		case err := <-done:
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("the child ended before %s %s: %v\n%s", when, step, err, b)
		case <-deadline:
			_ = child.Process.Kill()
			<-done
			t.Fatalf("the child did not reach %s %s in 2 minutes", when, step)
		case <-time.After(50 * time.Millisecond):
			_, err := os.Stat(marker)
			stopped = err == nil
		}
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done

	// volctld starts again on the same journal and resumes.
	e, closeFn := journalEngine(t, journal, h.Backend())
	e.Wait()
	ops, _, err := e.Operations(0, 10, "")
	if err != nil || len(ops) == 0 {
		t.Fatalf("operations: %v (%d)", err, len(ops))
	}
	op := ops[0]
	for _, o := range ops {
		if o.ID > op.ID {
			op = o
		}
	}
	closeFn()
	logBusy(t, "resumed", op)
	was, at := backendtest.DataAfter, backendtest.DataAtSnapshot
	if undo {
		was, at = at, was
	}
	switch op.State {
	case store.OpRolledBack:
		sameExports(t, "rolled back after the crash", before, h.State(t), was)
		if d := h.dataset(t, op.Identity.Kept); d.exists {
			t.Errorf("%s exists after the operation was rolled back", op.Identity.Kept)
		}
		if undo {
			h.wantKept(t, first, backendtest.DataAfter, "newer")
		}
	case store.OpSucceeded:
		sameExports(t, "resumed to the end after the crash", before, h.State(t), at)
		if undo {
			h.wantKept(t, op, backendtest.DataAtSnapshot)
		} else {
			h.wantKept(t, op, backendtest.DataAfter, "newer")
		}
	default:
		t.Fatalf("resumed operation %d is %s: error %q, attention %q", op.ID, op.State, op.Error, op.Attention)
	}
	t.Logf("%s %s: resumed to %s", when, step, op.State)
}
