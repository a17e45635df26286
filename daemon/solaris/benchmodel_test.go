package solaris_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

// printedModel: the benchmarks whose simulator concurrency model was
// printed already (benchEngine runs once per iteration).
var printedModel sync.Map

// printConcurrencyModel prints "sim-model: NAME" to stdout once per
// benchmark: which concurrency model the simulated host ran
// (docs/platform/host-concurrency.md §5), for make bench's table; the
// figures mean something different under each.
func printConcurrencyModel(b *testing.B, root string) {
	b.Helper()
	m, err := sim.ConcurrencyModel(root)
	if err != nil {
		b.Fatal(err)
	}
	how := "a Go process per command"
	if benchResident(b) {
		how = "resident simulator, a C stub per command"
	}
	if _, done := printedModel.LoadOrStore(b.Name(), true); !done {
		fmt.Printf("sim-model: %s (%s)\n", m, how)
	}
}

// benchResident reports whether the benchmarks' hosts run a resident
// simulator (volctl-sim serve: a C stub per command, one server process,
// sim/serve.go): the default. VOLCTL_BENCH_SIM=process runs each
// simulated command as a Go process of its own instead, as before the
// server existed, to compare the two in the same minutes.
func benchResident(b *testing.B) bool {
	switch v := os.Getenv("VOLCTL_BENCH_SIM"); v {
	case "", "resident":
		return true
	case "process":
		return false
	default:
		b.Fatalf("VOLCTL_BENCH_SIM=%q: want resident or process", v)
		return false
	}
}

// benchHost is simtest.Host for a benchmark: served by a resident
// simulator unless VOLCTL_BENCH_SIM=process (srv is then nil).
func benchHost(b *testing.B) (root string, srv *simtest.Server) {
	b.Helper()
	if !benchResident(b) {
		b.Setenv("VOLCTL_SIM_SERVE", "0")
	}
	root = simtest.Host(b)
	srv = simtest.ServerFor(root)
	if benchResident(b) && srv == nil {
		b.Fatal("no resident simulator for the benchmark's host (simtest said why on stderr)")
	}
	benchTracked(b)
	return root, srv
}

// benchTracked records every command the benchmark runs in a registry of
// running commands (execx.Track), as volctld does from its start
// (daemon/fence.go): a record written before each command starts,
// completed after, removed when it ends, on the journal's file system. It
// is part of what a command costs the daemon, and the benchmarks measure
// the daemon. VOLCTL_BENCH_REGISTRY=0 leaves it out, as the benchmarks
// ran before, to compare.
func benchTracked(b *testing.B) {
	b.Helper()
	switch v := os.Getenv("VOLCTL_BENCH_REGISTRY"); v {
	case "", "1":
	case "0":
		return
	default:
		b.Fatalf("VOLCTL_BENCH_REGISTRY=%q: want 0 or 1", v)
	}
	r, err := execx.OpenRegistry(filepath.Join(b.TempDir(), "running"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(execx.Track(r))
}
