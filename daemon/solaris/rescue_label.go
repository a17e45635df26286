package solaris

import (
	"context"
	"fmt"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
)

// checkBootLabels is the rescue's LabelReader over check-boot's reader
// (CheckBoot: the zone's boot device, its volume, the root pool's label
// from the raw device, read-only). The rescue repairs one boot disk.
type checkBootLabels struct{ b *Backend }

func (c checkBootLabels) ReadBootLabel(ctx context.Context, run execx.RunFunc, zone string) (BootLabel, error) {
	rep, err := c.b.CheckBoot(ctx, run, zone)
	if err != nil {
		return BootLabel{}, err
	}
	if len(rep.Disks) != 1 {
		return BootLabel{}, fmt.Errorf("zone %s has %d boot disks: the rescue repairs one: %w", zone, len(rep.Disks), engine.ErrPrecondition)
	}
	r := rep.Disks[0].Result
	return BootLabel{Pool: r.Pool, PoolGUID: r.PoolGUID, PhysPath: r.PhysPath, Boots: rep.Boots(), Says: rep.Verdict()}, nil
}

// labels is the backend's LabelReader: Labels when set (tests), else
// check-boot's.
func (b *Backend) labels() LabelReader {
	if b.Labels != nil {
		return b.Labels
	}
	return checkBootLabels{b}
}
