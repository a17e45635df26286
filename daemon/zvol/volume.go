package zvol

import (
	"context"
	"fmt"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/internal/zfsname"
)

// VolumeOf validates a volume or snapshot name and returns the volume; a
// bad name is the caller's error (engine.ErrInvalid).
func VolumeOf(name string) (string, error) {
	vol, err := zfsname.VolumeOf(name)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, engine.ErrInvalid)
	}
	return vol, nil
}

// SplitSnapshot validates a snapshot name and splits it into volume and
// snapshot parts; a bad name is the caller's error (engine.ErrInvalid).
func SplitSnapshot(name string) (vol, snap string, err error) {
	vol, snap, err = zfsname.SplitSnapshot(name)
	if err != nil {
		return "", "", fmt.Errorf("%v: %w", err, engine.ErrInvalid)
	}
	return vol, snap, nil
}

// NotFound is the error for a volume zfs does not have.
func NotFound(vol string) error {
	return fmt.Errorf("volume %s does not exist: %w", vol, engine.ErrNotFound)
}

// readError is a failed zfs read of vol: NotFound when zfs says the
// dataset does not exist, else the command's error with what was being
// done.
func readError(vol, doing string, err error) error {
	if zfs.IsNotExist(execx.Stderr(err)) {
		return NotFound(vol)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// Dataset reads vol (zfs list, filesystems and volumes, so that a
// filesystem is reported as one rather than as missing). Which types the
// caller exports is its own check.
func Dataset(ctx context.Context, z zfs.Cmd, vol string) (zfs.Dataset, error) {
	dss, err := z.Datasets(ctx, "filesystem,volume", vol)
	if err != nil {
		return zfs.Dataset{}, readError(vol, "look up volume "+vol, err)
	}
	for _, d := range dss {
		if d.Name == vol {
			return d, nil
		}
	}
	return zfs.Dataset{}, NotFound(vol)
}

// Tree reads vol and everything below it (children, snapshots) with
// `zfs get -r`, for a caller that needs mountpoints and snapshot holds.
// Which types the caller exports is its own check.
func Tree(ctx context.Context, z zfs.Cmd, vol string) (zfs.Info, []zfs.Info, error) {
	infos, err := z.Infos(ctx, -1, vol)
	if err != nil {
		return zfs.Info{}, nil, readError(vol, "look up volume "+vol, err)
	}
	for _, d := range infos {
		if d.Name == vol {
			return d, infos, nil
		}
	}
	return zfs.Info{}, nil, NotFound(vol)
}
