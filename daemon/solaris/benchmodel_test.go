package solaris_test

import (
	"sync"
	"testing"

	"github.com/volctl/volctl/sim"
)

// loggedModel: the benchmarks whose simulator concurrency model was
// printed already (benchEngine runs once per iteration).
var loggedModel sync.Map

// logConcurrencyModel prints, once per benchmark, which concurrency model
// the simulated host ran (docs/platform/host-concurrency.md §5): the
// figures mean something different under each.
func logConcurrencyModel(b *testing.B, root string) {
	b.Helper()
	m, err := sim.ConcurrencyModel(root)
	if err != nil {
		b.Fatal(err)
	}
	if _, done := loggedModel.LoadOrStore(b.Name(), true); !done {
		b.Logf("simulator concurrency model: %s", m)
	}
}
