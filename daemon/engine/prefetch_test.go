package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/store"
)

// prefetchFake is the fake backend whose first step ("stop") plans
// planned first and runs runs, in order; ReadOnly says readOnly of
// planned.
type prefetchFake struct {
	*fakeBackend
	planned  []string
	runs     [][]string
	readOnly bool
}

func (f prefetchFake) Steps(op *store.Operation) []Step {
	steps := f.fakeBackend.Steps(op)
	// The backend's first step is the operation's firstStep (the capture
	// comes before it: Engine.steps).
	do := steps[0].Do
	steps[0].Planned = [][]string{f.planned}
	steps[0].Do = func(ctx context.Context, x *Exec) error {
		for _, argv := range f.runs {
			if _, err := x.Run(ctx, argv); err != nil {
				return err
			}
		}
		return do(ctx, x)
	}
	return steps
}

func (f prefetchFake) ReadOnly(argv []string) bool {
	return f.readOnly && strings.Join(argv, " ") == strings.Join(f.planned, " ")
}

// TestPrefetchFirstRead: the first step's first read starts with the
// operation's first journal write, and the saga's first command takes its
// answer only when it is that read; it never runs twice, a change is never
// started early, and a read after another command runs afresh.
func TestPrefetchFirstRead(t *testing.T) {
	// script appends its name to the log and prints it.
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	script := func(name string) []string {
		return []string{"/bin/sh", "-c", "echo " + name + " >> " + log + "; echo out-" + name}
	}
	read, other := script("read"), script("other")
	tests := []struct {
		name     string
		readOnly bool
		runs     [][]string
		wantLog  string // the commands that ran, sorted (the prefetched one runs beside the saga)
		wantRecs []string
	}{
		// The saga's first command is the planned read: one run, its
		// answer journaled with the step.
		{"first read taken", true, [][]string{read}, "read", []string{"out-read"}},
		// The step does not run it after all: it ran once, for nothing.
		{"first read not asked for", true, nil, "read", nil},
		// Another command comes first: the read that follows runs afresh.
		{"another command first", true, [][]string{other, read}, "other read read", []string{"out-other", "out-read"}},
		// A command the backend does not say only reads is never started
		// before the operation is journaled.
		{"not a read", false, nil, "", nil},
		{"not a read, run by the step", false, [][]string{read}, "read", []string{"out-read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(log)
			db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			fb := prefetchFake{fakeBackend: newFake(solarisLike, newWorld()), planned: read, runs: tt.runs, readOnly: tt.readOnly}
			e := New(ctx, db, fb, Config{Retries: 2, RetryDelay: time.Microsecond}, nil)
			defer func() { cancel(); e.Wait(); db.Close() }()
			op, err := e.Rollback(context.Background(), Request{Snapshot: "pool/vol@snap"}, func(Event) {})
			if err != nil || op.State != store.OpSucceeded {
				t.Fatalf("rollback: %v (%v)", err, op)
			}
			e.Wait() // a prefetched read nobody asked for has ended too
			b, _ := os.ReadFile(log)
			ran := strings.Fields(string(b))
			slices.Sort(ran)
			if got := strings.Join(ran, " "); got != tt.wantLog {
				t.Errorf("ran %q, want %q", got, tt.wantLog)
			}
			var recs []string
			for _, c := range op.Steps[firstStep].Commands {
				recs = append(recs, strings.TrimSpace(c.Stdout))
			}
			if strings.Join(recs, " ") != strings.Join(tt.wantRecs, " ") {
				t.Errorf("the step journaled %q, want %q", recs, tt.wantRecs)
			}
		})
	}
}
