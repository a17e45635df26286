package solaris

import (
	"context"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zvol"
)

var _ engine.KeptReader = (*Backend)(nil)

// KeptUsed is zvol.KeptUsed with this backend's zfs (the engine's
// keptReader: volctl kept and forget's plan).
func (b *Backend) KeptUsed(ctx context.Context, run execx.RunFunc, dataset string) (uint64, error) {
	return zvol.KeptUsed(ctx, b.zfs(run), dataset)
}
