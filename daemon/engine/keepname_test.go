package engine_test

import (
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zvol"
)

// TestKeptSuffixIsZvols: the engine names kept datasets as zvol does (it
// cannot import zvol, which imports it).
func TestKeptSuffixIsZvols(t *testing.T) {
	for _, c := range []struct {
		id uint64
		at time.Time
	}{{1, time.Date(2026, 12, 7, 15, 24, 35, 999, time.UTC)}, {123456, time.Date(2027, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))}} {
		if got, want := engine.KeptSuffixForTest(c.id, c.at), zvol.KeptSuffix(c.id, c.at); got != want {
			t.Errorf("engine %q, zvol %q", got, want)
		}
	}
}
