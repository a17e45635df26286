package linuxtgt

import (
	"context"
	"fmt"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/daemon/zvol"
)

// VolumeOf implements engine.Backend.
func (b *Backend) VolumeOf(name string) (string, error) { return zvol.VolumeOf(name) }

// tree reads vol, a volume or a filesystem, and everything below it
// (children, snapshots).
func (b *Backend) tree(ctx context.Context, run execx.RunFunc, vol string) (zfs.Info, []zfs.Info, error) {
	d, tree, err := zvol.Tree(ctx, b.zfs(run), vol)
	if err == nil && d.Type != "volume" && d.Type != "filesystem" {
		return d, nil, fmt.Errorf("%s is a %s, not a volume or filesystem: %w", vol, d.Type, engine.ErrInvalid)
	}
	return d, tree, err
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
	v := describe(d, tree, ts)
	v.Sessions = sessionsOf(ts, d, tree)
	return v, nil
}

func describe(d zfs.Info, tree []zfs.Info, ts []tgt.Target) engine.Volume {
	v := engine.Volume{Name: d.Name, Type: d.Type, Volsize: d.Volsize}
	for _, f := range lusOn(ts, d, tree) {
		v.LUs = append(v.LUs, toStoreLU(f.t, f.u, f.kind))
	}
	v.Snapshots = zvol.SnapshotsIn(tree, d.Name)
	return v
}

// Snapshots implements engine.Inventory.
func (b *Backend) Snapshots(ctx context.Context, run execx.RunFunc, vol string) ([]engine.Snapshot, error) {
	return zvol.Snapshots(ctx, b.zfs(run), vol)
}

// CreateSnapshots implements engine.Inventory: of a volume or filesystem,
// one at a time only. zfs-fuse's zfs snapshot takes one operand (its code
// predates the atomic multi-snapshot of illumos and OpenZFS [UNV: not
// probed]), so a group is refused rather than taken non-atomically.
func (b *Backend) CreateSnapshots(ctx context.Context, run execx.RunFunc, names []string) error {
	if len(names) != 1 {
		return fmt.Errorf("snapshots of several volumes at once are not supported on linux-tgt (zfs-fuse takes one at a time, and one by one they would not be atomic): %w", engine.ErrInvalid)
	}
	return zvol.CreateSnapshots(ctx, b.zfs(run), names, func(ctx context.Context, vol string) error {
		_, _, err := b.tree(ctx, run, vol)
		return err
	})
}

// DestroySnapshot implements engine.Inventory.
func (b *Backend) DestroySnapshot(ctx context.Context, run execx.RunFunc, name string) error {
	return zvol.DestroySnapshot(ctx, b.zfs(run), name)
}
