package solaris_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// benchLatency is the fixed time every simulated command takes.
const benchLatency = 5 * time.Millisecond

// commandTime sums the durations of the commands an operation ran.
func commandTime(op *store.Operation) time.Duration {
	var d time.Duration
	for _, s := range op.Steps {
		for _, c := range s.Commands {
			d += c.Duration
		}
		for _, c := range s.CompensationCommands {
			d += c.Duration
		}
	}
	return d
}

// windowCommands sums the commands that must be inside the outage window:
// delete-lu, zfs rollback, import-lu.
func windowCommands(op *store.Operation) time.Duration {
	var d time.Duration
	for _, s := range op.Steps {
		if s.InOutageWindow {
			for _, c := range s.Commands {
				d += c.Duration
			}
		}
	}
	return d
}

// BenchmarkRollback measures one rollback of the seed volume (LU, two
// views, a kernel zone) on the simulated host with benchLatency per
// command: the daemon's own overhead (wall time minus the commands' time)
// and the LU outage window against the three commands that must be in it.
func BenchmarkRollback(b *testing.B) {
	var overhead, outage, window, wall time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := simtest.Host(b)
		if err := sim.SetLatency(root, benchLatency); err != nil {
			b.Fatal(err)
		}
		e, db := benchEngine(b, root)
		b.StartTimer()
		start := time.Now()
		op, err := e.Rollback(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1"}, func(engine.Event) {})
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		wall += elapsed
		overhead += elapsed - commandTime(op)
		outage += op.OutageEnd.Sub(op.OutageStart)
		window += windowCommands(op)
		db.Close()
		b.StartTimer()
	}
	n := time.Duration(b.N)
	b.ReportMetric(float64((wall/n).Microseconds())/1000, "wall-ms/op")
	b.ReportMetric(float64((overhead/n).Microseconds())/1000, "overhead-ms/op")
	b.ReportMetric(float64((outage/n).Microseconds())/1000, "outage-ms/op")
	b.ReportMetric(float64((window/n).Microseconds())/1000, "window-cmds-ms/op")
	b.ReportMetric(float64(((outage-window)/n).Microseconds())/1000, "outage-extra-ms/op")
	// The targets: the window is at most 1.02 x its three commands, and
	// the daemon adds at most 5 ms per rollback beyond command time.
	b.ReportMetric(float64(outage)/float64(window), "window-ratio")
}

// BenchmarkParallelRollbacks rolls back 1, 8 and 64 volumes at once.
func BenchmarkParallelRollbacks(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("volumes=%d", n), func(b *testing.B) {
			var wall, outage time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				root := simtest.Host(b)
				snaps, err := sim.AddVolumes(root, n)
				if err != nil {
					b.Fatal(err)
				}
				if err := sim.SetLatency(root, benchLatency); err != nil {
					b.Fatal(err)
				}
				e, db := benchEngine(b, root)
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				ops := make([]*store.Operation, n)
				errs := make([]error, n)
				for j, snap := range snaps {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ops[j], errs[j] = e.Rollback(context.Background(), engine.Request{Snapshot: snap}, func(engine.Event) {})
					}()
				}
				wg.Wait()
				wall += time.Since(start)
				b.StopTimer()
				for j := range ops {
					if errs[j] != nil {
						b.Fatal(errs[j])
					}
					outage += ops[j].OutageEnd.Sub(ops[j].OutageStart)
				}
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64((wall/time.Duration(b.N)).Microseconds())/1000, "wall-ms/batch")
			b.ReportMetric(float64((outage/time.Duration(b.N*n)).Microseconds())/1000, "outage-ms/volume")
		})
	}
}

func benchEngine(b *testing.B, root string) (*engine.Engine, *store.DB) {
	b.Helper()
	db, err := store.Open(b.TempDir()+"/j.db", time.Second)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := engine.New(ctx, db, newBackend(root), engine.Config{DefaultTimeout: time.Minute}, nil)
	b.Cleanup(func() { cancel(); e.Wait() })
	// The capability probes run once at start, not per rollback.
	if _, err := e.Probe(ctx); err != nil {
		b.Fatal(err)
	}
	return e, db
}
