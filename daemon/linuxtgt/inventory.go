package linuxtgt

import (
	"context"
	"fmt"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/tgt"
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

// tree reads vol and everything below it (children, snapshots).
func (b *Backend) tree(ctx context.Context, run execx.RunFunc, vol string) (zfs.Info, []zfs.Info, error) {
	infos, err := b.zfs(run).Infos(ctx, -1, vol)
	if err != nil {
		if zfs.IsNotExist(execx.Stderr(err)) {
			return zfs.Info{}, nil, fmt.Errorf("volume %s does not exist: %w", vol, engine.ErrNotFound)
		}
		return zfs.Info{}, nil, fmt.Errorf("look up volume %s: %w", vol, err)
	}
	for _, d := range infos {
		if d.Name == vol {
			if d.Type != "volume" && d.Type != "filesystem" {
				return d, nil, fmt.Errorf("%s is a %s, not a volume or filesystem: %w", vol, d.Type, engine.ErrInvalid)
			}
			return d, infos, nil
		}
	}
	return zfs.Info{}, nil, fmt.Errorf("volume %s does not exist: %w", vol, engine.ErrNotFound)
}

// ListVolumes implements engine.Inventory: every volume and filesystem, with
// the LUs on it.
func (b *Backend) ListVolumes(ctx context.Context, run execx.RunFunc) ([]engine.Volume, error) {
	infos, err := b.zfs(run).Infos(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	ts, err := b.show(ctx, run)
	if err != nil {
		return nil, err
	}
	var out []engine.Volume
	for _, d := range infos {
		if d.Type != "volume" && d.Type != "filesystem" {
			continue
		}
		out = append(out, describe(d, infos, ts))
	}
	return out, nil
}

// GetVolume implements engine.Inventory.
func (b *Backend) GetVolume(ctx context.Context, run execx.RunFunc, name string) (engine.Volume, error) {
	d, tree, err := b.tree(ctx, run, name)
	if err != nil {
		return engine.Volume{}, err
	}
	ts, err := b.show(ctx, run)
	if err != nil {
		return engine.Volume{}, err
	}
	return describe(d, tree, ts), nil
}

func describe(d zfs.Info, tree []zfs.Info, ts []tgt.Target) engine.Volume {
	v := engine.Volume{Name: d.Name, Type: d.Type, Volsize: d.Volsize}
	for _, f := range lusOn(ts, d, tree) {
		v.LUs = append(v.LUs, toStoreLU(f.t, f.u, f.kind))
	}
	v.Snapshots = toSnapshots(zfs.SnapshotsOf(tree, d.Name))
	return v
}

func toSnapshots(snaps []zfs.Info) []engine.Snapshot {
	out := make([]engine.Snapshot, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, engine.Snapshot{Name: s.Name, Creation: time.Unix(s.Creation, 0).UTC(), Used: s.Used, Referenced: s.Referenced})
	}
	return out
}

// Snapshots implements engine.Inventory.
func (b *Backend) Snapshots(ctx context.Context, run execx.RunFunc, vol string) ([]engine.Snapshot, error) {
	infos, err := b.zfs(run).Infos(ctx, 1, vol)
	if err != nil {
		if zfs.IsNotExist(execx.Stderr(err)) {
			return nil, fmt.Errorf("volume %s does not exist: %w", vol, engine.ErrNotFound)
		}
		return nil, fmt.Errorf("list snapshots of %s: %w", vol, err)
	}
	return toSnapshots(zfs.SnapshotsOf(infos, vol)), nil
}

// CreateSnapshot implements engine.Inventory.
func (b *Backend) CreateSnapshot(ctx context.Context, run execx.RunFunc, name string) error {
	vol, _, err := zfs.SplitSnapshot(name)
	if err != nil {
		return fmt.Errorf("%v: %w", err, engine.ErrInvalid)
	}
	if _, _, err := b.tree(ctx, run, vol); err != nil {
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
