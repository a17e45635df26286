package engine

import (
	"context"
	"fmt"

	"github.com/volctl/volctl/daemon/bootcheck"
	"github.com/volctl/volctl/daemon/execx"
)

// BootChecker is what a backend with kernel zones offers: whether a zone
// will boot from its boot disk as it is now (issue 23, check-boot). It
// reads, read-only, and changes nothing; ErrNotFound for no such zone,
// ErrPrecondition when the disk gives no answer.
type BootChecker interface {
	CheckBoot(ctx context.Context, run execx.RunFunc, zone string) (bootcheck.Report, error)
}

// CheckBoot reads the zone's boot disk label (BootChecker). It takes no
// lock: it is a check, and the report carries the zone's state (only a
// zone that is not running has a label nothing rewrites while it is read).
func (e *Engine) CheckBoot(ctx context.Context, zone string) (bootcheck.Report, error) {
	bc, ok := e.backend.(BootChecker)
	if !ok {
		return bootcheck.Report{Zone: zone}, fmt.Errorf("platform %s has no kernel zones: %w", e.backend.Name(), ErrInvalid)
	}
	if _, err := e.Probe(ctx); err != nil {
		return bootcheck.Report{Zone: zone}, err
	}
	return bc.CheckBoot(ctx, e.plainRun, zone)
}
