package solaris

import (
	"context"
	"fmt"
	"strconv"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/internal/zfsname"
)

var _ engine.KeptReader = (*Backend)(nil)

// KeptUsed reads what a kept dataset holds now, for volctl kept and
// forget's plan (the engine's keptReader): its used property, in bytes
// (zfs get -H -p; docs/keep.md §4). A value that is not a number is an
// error quoting it, never 0.
func (b *Backend) KeptUsed(ctx context.Context, run execx.RunFunc, dataset string) (uint64, error) {
	if err := zfsname.ValidateDatasetName(dataset); err != nil || !zvol.IsKeptName(dataset) {
		return 0, fmt.Errorf("%q is not a kept dataset's name: %w", dataset, engine.ErrInvalid)
	}
	props, err := b.zfs(run).Get(ctx, dataset, "used")
	if err != nil {
		return 0, fmt.Errorf("read what %s holds: %w", dataset, err)
	}
	v, ok := props["used"]
	if !ok {
		return 0, fmt.Errorf("read what %s holds: zfs get printed no used property", dataset)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read what %s holds: zfs get printed used %q, not a number of bytes", dataset, v)
	}
	return n, nil
}
