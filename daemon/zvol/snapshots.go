package zvol

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

// Snapshots lists vol's own snapshots in creation order.
func Snapshots(ctx context.Context, z zfs.Cmd, vol string) ([]engine.Snapshot, error) {
	snaps, err := z.Snapshots(ctx, vol)
	if err != nil {
		return nil, readError(vol, "list snapshots of "+vol, err)
	}
	out := make([]engine.Snapshot, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, snapshot(s.Name, s.Creation, s.Used, s.Referenced))
	}
	return out, nil
}

// SnapshotsIn picks vol's own snapshots, in creation order, from a
// listing already read (Tree).
func SnapshotsIn(tree []zfs.Info, vol string) []engine.Snapshot {
	snaps := zfs.SnapshotsOf(tree, vol)
	out := make([]engine.Snapshot, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, snapshot(s.Name, s.Creation, s.Used, s.Referenced))
	}
	return out
}

func snapshot(name string, creation int64, used, referenced uint64) engine.Snapshot {
	return engine.Snapshot{Name: name, Creation: time.Unix(creation, 0).UTC(), Used: used, Referenced: referenced}
}

// CreateSnapshots takes the snapshots (VOL@SNAP each) with one command,
// atomically, once exists says every VOL is one the caller exports.
func CreateSnapshots(ctx context.Context, z zfs.Cmd, names []string, exists func(ctx context.Context, vol string) error) error {
	for _, name := range names {
		vol, _, err := SplitSnapshot(name)
		if err != nil {
			return err
		}
		if err := exists(ctx, vol); err != nil {
			return err
		}
	}
	if err := z.TakeSnapshots(ctx, names...); err != nil {
		return fmt.Errorf("snapshot %s: %w", strings.Join(names, " "), err)
	}
	return nil
}

// DestroySnapshot destroys one snapshot. zfs.Cmd.Destroy refuses anything
// but a snapshot name.
func DestroySnapshot(ctx context.Context, z zfs.Cmd, name string) error {
	if err := z.Destroy(ctx, name); err != nil {
		return fmt.Errorf("destroy %s: %w", name, err)
	}
	return nil
}

// Resolve finds id.Snapshot among the volume's snapshots (full names, in
// creation order) and records the newer ones in id.NewerSnapshots: the
// rollback destroys them, so they need the caller's consent
// (destroy_newer; without it the error is ErrNeedsConsent, and id is
// complete). It returns the snapshot's index in names.
func Resolve(id *store.Identity, names []string, opts store.Options) (int, error) {
	at := slices.Index(names, id.Snapshot)
	if at < 0 {
		return at, fmt.Errorf("snapshot %s does not exist (volctl snapshots %s lists them): %w", id.Snapshot, id.Volume, engine.ErrNotFound)
	}
	id.NewerSnapshots = append(id.NewerSnapshots, names[at+1:]...)
	if len(id.NewerSnapshots) > 0 && !opts.DestroyNewer {
		return at, fmt.Errorf("rolling back to %s destroys the newer snapshots %s: %w",
			id.Snapshot, strings.Join(id.NewerSnapshots, ", "), engine.NeedsConsent(engine.ConsentDestroyNewer))
	}
	return at, nil
}

// Written reads written@snap of vol: the bytes changed since the snapshot.
// Only where the host has written@ (illumos, OpenZFS; probed): Oracle
// Solaris and zfs-fuse refuse the property (docs/platform/zfs.md §1).
func Written(ctx context.Context, z zfs.Cmd, vol, snap string) (uint64, error) {
	w, err := z.Written(ctx, vol, snap)
	if err != nil {
		return 0, fmt.Errorf("read written@%s of %s: %w", snap, vol, err)
	}
	return w, nil
}
