package zfs

import "context"

// The mount commands a rollback that keeps what it replaces needs on
// zfs-fuse, where `zfs rename` and `zfs destroy` of a mounted filesystem
// answer "dataset is busy" (docs/platform/linux-tgt.md §11.1, §11.4).

// UmountArgv is `zfs umount DS`.
func (z Cmd) UmountArgv(ds string) []string { return []string{z.Path, "umount", ds} }

// Umount unmounts a filesystem.
func (z Cmd) Umount(ctx context.Context, ds string) error {
	if err := validDataset(ds); err != nil {
		return err
	}
	_, err := z.Run(ctx, z.UmountArgv(ds))
	return err
}

// MountArgv is `zfs mount DS`.
func (z Cmd) MountArgv(ds string) []string { return []string{z.Path, "mount", ds} }

// Mount mounts a filesystem at its mountpoint.
func (z Cmd) Mount(ctx context.Context, ds string) error {
	if err := validDataset(ds); err != nil {
		return err
	}
	_, err := z.Run(ctx, z.MountArgv(ds))
	return err
}
