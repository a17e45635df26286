package solaris

import (
	"context"
	"fmt"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
)

// VolumeOf validates a volume or snapshot name and returns the volume.
func (b *Backend) VolumeOf(name string) (string, error) {
	vol, err := zfs.VolumeOf(name)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, engine.ErrInvalid)
	}
	return vol, nil
}

// volume checks that vol exists and is a volume.
func (b *Backend) volume(ctx context.Context, run execx.RunFunc, vol string) (zfs.Dataset, error) {
	dss, err := b.zfs(run).Datasets(ctx, "filesystem,volume", vol)
	if err != nil {
		if zfs.IsNotExist(execx.Stderr(err)) {
			return zfs.Dataset{}, fmt.Errorf("volume %s does not exist: %w", vol, engine.ErrNotFound)
		}
		return zfs.Dataset{}, fmt.Errorf("look up volume %s: %w", vol, err)
	}
	for _, d := range dss {
		if d.Name == vol {
			if d.Type != "volume" {
				return d, fmt.Errorf("%s is a %s, not a volume: COMSTAR exports zvols: %w", vol, d.Type, engine.ErrInvalid)
			}
			return d, nil
		}
	}
	return zfs.Dataset{}, fmt.Errorf("volume %s does not exist: %w", vol, engine.ErrNotFound)
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
	return b.describe(ctx, run, ex, d)
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
	v.Zones = zonesOf(ex, d.Name, v.LUs)
	return v, nil
}

// Snapshots implements engine.Inventory.
func (b *Backend) Snapshots(ctx context.Context, run execx.RunFunc, vol string) ([]engine.Snapshot, error) {
	snaps, err := b.zfs(run).Snapshots(ctx, vol)
	if err != nil {
		if zfs.IsNotExist(execx.Stderr(err)) {
			return nil, fmt.Errorf("volume %s does not exist: %w", vol, engine.ErrNotFound)
		}
		return nil, fmt.Errorf("list snapshots of %s: %w", vol, err)
	}
	out := make([]engine.Snapshot, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, engine.Snapshot{Name: s.Name, Creation: time.Unix(s.Creation, 0).UTC(), Used: s.Used, Referenced: s.Referenced})
	}
	return out, nil
}

// CreateSnapshot implements engine.Inventory.
func (b *Backend) CreateSnapshot(ctx context.Context, run execx.RunFunc, name string) error {
	vol, _, err := zfs.SplitSnapshot(name)
	if err != nil {
		return fmt.Errorf("%v: %w", err, engine.ErrInvalid)
	}
	if _, err := b.volume(ctx, run, vol); err != nil {
		return err
	}
	if err := b.zfs(run).Snapshot(ctx, name); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	return nil
}

// DestroySnapshot implements engine.Inventory. zfs.Cmd.Destroy refuses
// anything but a snapshot name.
func (b *Backend) DestroySnapshot(ctx context.Context, run execx.RunFunc, name string) error {
	if err := b.zfs(run).Destroy(ctx, name); err != nil {
		return fmt.Errorf("destroy %s: %w", name, err)
	}
	return nil
}
