package solaris

import (
	"context"
	"fmt"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/daemon/zvol"
)

// VolumeOf implements engine.Backend.
func (b *Backend) VolumeOf(name string) (string, error) { return zvol.VolumeOf(name) }

// volume checks that vol exists and is a volume.
func (b *Backend) volume(ctx context.Context, run execx.RunFunc, vol string) (zfs.Dataset, error) {
	d, err := zvol.Dataset(ctx, b.zfs(run), vol)
	if err == nil && d.Type != "volume" {
		return d, fmt.Errorf("%s is a %s, not a volume: COMSTAR exports zvols: %w", vol, d.Type, engine.ErrInvalid)
	}
	return d, err
}

// ListVolumes implements engine.Inventory. The LUs and zones are read once
// for all volumes.
func (b *Backend) ListVolumes(ctx context.Context, run execx.RunFunc) ([]engine.Volume, error) {
	dss, err := b.zfs(run).Datasets(ctx, "volume")
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	ex, err := b.readExports(ctx, run)
	if err != nil {
		return nil, err
	}
	var out []engine.Volume
	for _, d := range dss {
		v, err := b.describe(ctx, run, ex, d)
		if err != nil {
			return nil, err
		}
		flagUnreadable(ex.lus, &v)
		out = append(out, v)
	}
	return out, nil
}

// GetVolume implements engine.Inventory.
func (b *Backend) GetVolume(ctx context.Context, run execx.RunFunc, name string) (engine.Volume, error) {
	d, err := b.volume(ctx, run, name)
	if err != nil {
		return engine.Volume{}, err
	}
	ex, err := b.readExports(ctx, run)
	if err != nil {
		return engine.Volume{}, err
	}
	v, err := b.describe(ctx, run, ex, d)
	if err != nil {
		return v, err
	}
	flagUnreadable(ex.lus, &v)
	v.Sessions = b.sessionsOf(ctx, run, v.LUs)
	return v, nil
}

func (b *Backend) describe(ctx context.Context, run execx.RunFunc, ex exports, d zfs.Dataset) (engine.Volume, error) {
	v := engine.Volume{Name: d.Name, Type: d.Type, Volsize: d.Volsize}
	var err error
	if v.LUs, err = b.lusOf(ctx, run, ex, d.Name); err != nil {
		return v, err
	}
	if v.Snapshots, err = b.Snapshots(ctx, run, d.Name); err != nil {
		return v, err
	}
	v.Zones, err = zonesOf(ex, d.Name, lunRefs(v.LUs, ex.targets))
	return v, err
}

// Snapshots implements engine.Inventory.
func (b *Backend) Snapshots(ctx context.Context, run execx.RunFunc, vol string) ([]engine.Snapshot, error) {
	// Of a volume only: a filesystem's (empty) list would read as "this
	// volume has no snapshots" (issue 13).
	if _, err := b.volume(ctx, run, vol); err != nil {
		return nil, err
	}
	return zvol.Snapshots(ctx, b.zfs(run), vol)
}

// CreateSnapshots implements engine.Inventory: TakeSnapshots, without
// saying how.
func (b *Backend) CreateSnapshots(ctx context.Context, run execx.RunFunc, names []string) error {
	_, err := b.TakeSnapshots(ctx, run, names)
	return err
}

// DestroySnapshot implements engine.Inventory.
func (b *Backend) DestroySnapshot(ctx context.Context, run execx.RunFunc, name string) error {
	return zvol.DestroySnapshot(ctx, b.zfs(run), name)
}
