package zvol

import (
	"context"
	"fmt"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

// A rollback to the newest snapshot of a volume nothing was written to
// since changes nothing: the zones need not stop, the LUs need not go.
// Only written@SNAP proves it (docs/platform/zfs.md §6.4): a platform
// without it (Oracle Solaris 11.4, zfs-fuse) cannot tell, and the rollback
// runs in full. A group runs in full too: its volumes go back together.

// ProvedUnchanged says whether id, captured for a one-volume rollback
// (group: false) on a host with written@ (written), is a volume that has
// not changed since its snapshot: written@ read 0 and no newer snapshot.
func ProvedUnchanged(id store.Identity, written, group bool) bool {
	return written && !group && id.WrittenBefore == 0 && len(id.NewerSnapshots) == 0
}

// UnchangedWarning is what the plan says of a volume ProvedUnchanged.
func UnchangedWarning(id store.Identity) string {
	return fmt.Sprintf("%s has not changed since %s (written@ is 0, no newer snapshot): nothing to roll back; the zones, LUs and sessions are left as they are, with no outage",
		id.Volume, id.Snapshot)
}

// CannotTellWarning is what the plan says where the platform has no
// written@ and the snapshot is the newest: the volume may not have changed,
// but nothing proves it.
func CannotTellWarning(id store.Identity) string {
	return fmt.Sprintf("%s is the newest snapshot of %s, but this platform has no written@: volctl cannot tell whether %s changed since, so the rollback runs in full",
		id.Snapshot, id.Volume, id.Volume)
}

// UnchangedStep is the one step of a rollback ProvedUnchanged: it reads
// written@ and the snapshots again when it runs, and refuses if the volume
// changed since the plan (a write, a snapshot taken), changing nothing.
func UnchangedStep(zfsFor func(execx.RunFunc) zfs.Cmd, id store.Identity) engine.Step {
	_, snap, _ := strings.Cut(id.Snapshot, "@")
	z := zfsFor(nil)
	return engine.Step{
		Name:        "confirm-unchanged",
		Description: "nothing to roll back: read written@ and the snapshots again; the zones, LUs and sessions are left as they are",
		Planned:     [][]string{z.GetArgv(id.Volume, "written@"+snap), z.SnapshotsArgv(id.Volume)},
		Do: func(ctx context.Context, x *engine.Exec) error {
			z := zfsFor(x.Run)
			w, err := Written(ctx, z, id.Volume, snap)
			if err != nil {
				return err
			}
			snaps, err := z.Snapshots(ctx, id.Volume)
			if err != nil {
				return readError(id.Volume, "list snapshots of "+id.Volume, err)
			}
			newest := ""
			if len(snaps) > 0 {
				newest = snaps[len(snaps)-1].Name
			}
			if w != 0 || newest != id.Snapshot {
				return engine.Permanent(fmt.Errorf("%s changed since the plan (written@%s is %d, newest snapshot %q): nothing was changed; run the rollback again: %w",
					id.Volume, snap, w, newest, engine.ErrPrecondition))
			}
			return nil
		},
	}
}
