package solaris_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/store"
)

// journalYears is the number of finished operations the journal benchmarks
// start from: years of a busy host's rollbacks (issue 24 item 5).
const journalYears = 10000

// journalRounds is how many times each iteration measures the window
// alone and with readers.
const journalRounds = 3

// benchJournal builds, in dir, a journal of journalYears finished
// operations, each a copy of a real rollback of the seed volume on the
// simulated host (its capture, steps and every command's output), spread
// over 200 volumes and the last 365 days, and returns its path and the
// size of one operation's record. It writes them in one transaction
// (store.ImportOperations), so it takes seconds, not the hours the daemon
// would have taken.
func benchJournal(b *testing.B, dir string) (string, int) {
	b.Helper()
	root, _ := benchHost(b)
	e, db := benchEngine(b, root)
	real, err := e.Rollback(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1"}, func(engine.Event) {})
	if err != nil {
		b.Fatal(err)
	}
	db.Close()
	raw, err := jsonSize(real)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "years.db")
	jdb, err := store.Open(path, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer jdb.Close()
	now := time.Now()
	const batch = 1000
	for start := 1; start <= journalYears; start += batch {
		var ops []*store.Operation
		for i := start; i < start+batch && i <= journalYears; i++ {
			op := *real
			vol := fmt.Sprintf("pool/vol%03d", i%200)
			op.ID, op.RequestID = uint64(i), ""
			op.Volume, op.Snapshot = vol, vol+"@snap1"
			op.Identity.Volume, op.Identity.Snapshot = vol, vol+"@snap1"
			at := now.Add(-365 * 24 * time.Hour).Add(time.Duration(i) * 365 * 24 * time.Hour / journalYears)
			shift := at.Sub(real.Created)
			op.Created, op.Updated = real.Created.Add(shift), real.Updated.Add(shift)
			op.OutageStart, op.OutageEnd = real.OutageStart.Add(shift), real.OutageEnd.Add(shift)
			ops = append(ops, &op)
		}
		if err := jdb.ImportOperations(ops); err != nil {
			b.Fatal(err)
		}
	}
	return path, raw
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkJournalYears measures volctld on a journal of journalYears
// operations (issue 24 item 5):
//
//   - startup: the journal opened (and checked: store.Open reads every
//     page, startup-open) and the engine started (its recovery scan), as
//     volctld does before it serves;
//   - nomatch: one `history --volume` page of a volume no operation
//     touched;
//   - window-ratio: a rollback's LU outage window with 8 readers running
//     such history queries without pause against the same journal, over
//     the window with none (the target is ≤ 1.2), each on the simulated
//     host with benchLatency per command, the two interleaved.
func BenchmarkJournalYears(b *testing.B) {
	template, opSize := benchJournal(b, b.TempDir())
	fi, err := os.Stat(template)
	if err != nil {
		b.Fatal(err)
	}
	var startup, opening, nomatch, alone, loaded, loadedRecent time.Duration
	var reads int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "j.db")
		copyFile(b, template, path)
		root, _ := benchHost(b)
		if err := sim.SetLatency(root, benchLatency); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		// Startup: open, check, migrate, resume.
		t0 := time.Now()
		db, err := store.Open(path, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		opening += time.Since(t0)
		ctx, cancel := context.WithCancel(context.Background())
		e := engine.New(ctx, db, newBackend(root), engine.Config{DefaultTimeout: time.Minute}, nil)
		if err := e.Start(); err != nil {
			b.Fatal(err)
		}
		startup += time.Since(t0)

		// One history page of a volume with no operation.
		t0 = time.Now()
		if ops, _, err := e.Operations(0, 50, "pool/nomatch"); err != nil || len(ops) != 0 {
			b.Fatalf("history of pool/nomatch: %d operations, %v", len(ops), err)
		}
		nomatch += time.Since(t0)

		b.StopTimer()
		if _, err := e.Probe(ctx); err != nil {
			b.Fatal(err)
		}
		rollback := func() time.Duration {
			op, err := e.Rollback(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1"}, func(engine.Event) {})
			if err != nil || op.State != store.OpSucceeded {
				b.Fatalf("rollback: %v", err)
			}
			return op.OutageEnd.Sub(op.OutageStart)
		}
		// 8 readers of history pages (--volume: a volume with none; "":
		// the 50 newest) without pause while a rollback runs.
		withReaders := func(volume string) time.Duration {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, _, err := e.Operations(0, 50, volume); err != nil {
							b.Error(err)
							return
						}
						atomic.AddInt64(&reads, 1)
					}
				}()
			}
			time.Sleep(20 * time.Millisecond) // the readers are reading
			d := rollback()
			close(stop)
			wg.Wait()
			return d
		}
		// Interleaved, journalRounds times: the machine's load changes
		// from one minute to the next.
		for range journalRounds {
			alone += rollback()
			loaded += withReaders("pool/nomatch")
			loadedRecent += withReaders("")
		}
		cancel()
		e.Wait()
		db.Close()
		b.StartTimer()
	}
	n := time.Duration(b.N)
	ms := func(d time.Duration) float64 { return float64((d / n).Microseconds()) / 1000 }
	msr := func(d time.Duration) float64 { return ms(d / journalRounds) }
	b.ReportMetric(ms(startup), "startup-ms")
	b.ReportMetric(ms(opening), "startup-open-ms")
	b.ReportMetric(ms(nomatch), "nomatch-ms")
	b.ReportMetric(msr(alone), "window-alone-ms")
	b.ReportMetric(msr(loaded), "window-8readers-ms")
	b.ReportMetric(msr(loadedRecent), "window-8recent-ms")
	b.ReportMetric(float64(reads)/float64(b.N), "reads/run")
	b.ReportMetric(float64(fi.Size())/1e6, "journal-MB")
	b.ReportMetric(float64(opSize)/1e3, "op-KB")
	// The target (issue 24): window-ratio ≤ 1.2.
	b.ReportMetric(float64(loaded)/float64(alone), "window-ratio")
	b.ReportMetric(float64(loadedRecent)/float64(alone), "window-ratio-recent")
}

// jsonSize is the size of op's record in the journal.
func jsonSize(op *store.Operation) (int, error) {
	v, err := json.Marshal(op)
	return len(v), err
}
