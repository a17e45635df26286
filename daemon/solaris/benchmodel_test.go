package solaris_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/volctl/volctl/sim"
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
	if _, done := printedModel.LoadOrStore(b.Name(), true); !done {
		fmt.Printf("sim-model: %s\n", m)
	}
}
