package zvol

import (
	"context"
	"fmt"
	"strconv"

	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

// SnapshotVolsize reads the volume's size at the snapshot, 0 when the
// platform does not say: Solaris and illumos-gate print "-" for a
// snapshot's volsize (docs/platform/zfs.md §1). It is asked every time (one
// command, before the window): the probe may not have had a snapshot to
// ask.
func SnapshotVolsize(ctx context.Context, z zfs.Cmd, snapshot string) (uint64, error) {
	m, err := z.Get(ctx, snapshot, "volsize")
	if err != nil {
		return 0, fmt.Errorf("read volsize of %s: %w", snapshot, err)
	}
	if m["volsize"] == "-" {
		return 0, nil
	}
	n, err := strconv.ParseUint(m["volsize"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("volsize of %s: %q: %w", snapshot, m["volsize"], err)
	}
	return n, nil
}

// VolsizeAfter is the volume's size once rolled back: the snapshot's when
// the platform said it, else read from the volume now (rollback restores
// volsize), which is why it is asked only after the rollback.
func VolsizeAfter(ctx context.Context, z zfs.Cmd, id store.Identity) (uint64, error) {
	if id.SnapshotVolsize > 0 {
		return id.SnapshotVolsize, nil
	}
	m, err := z.Get(ctx, id.Volume, "volsize")
	if err != nil {
		return 0, fmt.Errorf("read volsize of %s: %w", id.Volume, err)
	}
	n, err := strconv.ParseUint(m["volsize"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("volsize of %s: %q: %w", id.Volume, m["volsize"], err)
	}
	return n, nil
}
