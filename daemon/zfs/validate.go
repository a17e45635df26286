package zfs

import "github.com/volctl/volctl/internal/zfsname"

// The name validators live in internal/zfsname, where the CLI can use them
// without linking the daemon.

// Forwarding until daemon/solaris and daemon/linuxtgt import zfsname (issue 10).
func SplitSnapshot(full string) (ds, snap string, err error) { return zfsname.SplitSnapshot(full) }

// Forwarding until daemon/solaris and daemon/linuxtgt import zfsname (issue 10).
func VolumeOf(name string) (string, error) { return zfsname.VolumeOf(name) }
