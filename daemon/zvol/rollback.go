package zvol

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/internal/zfsname"
	"github.com/volctl/volctl/store"
)

// DestroysNewer reports whether the operation's rollback destroys the
// newer snapshots (zfs rollback -r): there are some, and the caller
// consented.
func DestroysNewer(op *store.Operation) bool {
	return len(op.Identity.NewerSnapshots) > 0 && op.Options.DestroyNewer
}

// Step is the saga's commit step, the point of no return: zfs rollback
// [-r] to the journaled snapshot, inside the outage window when LUs are
// exported from the volume. The backend sets Do and Check: what proves that
// nothing serves the volume any more, and what there is to read to tell
// whether the rollback took effect, differ by platform.
func Step(z zfs.Cmd, op *store.Operation) engine.Step {
	id := op.Identity
	destroy := DestroysNewer(op)
	desc := "roll " + id.Volume + " back to " + id.Snapshot
	if destroy {
		desc += ", destroying " + strings.Join(id.NewerSnapshots, ", ")
	}
	return engine.Step{Name: "rollback", Commit: true, OutageWindow: len(id.LUs) > 0, Description: desc,
		Planned: [][]string{z.RollbackArgv(id.Snapshot, destroy)}}
}

// Rollback runs the rollback. Exit 0 is success. A refusal zfs explains
// (busy, newer snapshots, no such dataset) happened before anything changed
// and is final (engine.Permanent); any other failure (killed at its
// deadline, an unknown error) leaves the outcome open: the engine asks the
// step's Check, then runs the rollback again, which is harmless while
// nothing serves the volume. (linuxtgt runs zfs.Cmd.Rollback itself and
// retries every failure, as it always has: making zfs's refusals final
// there too would change what it runs.)
func Rollback(ctx context.Context, z zfs.Cmd, op *store.Operation) error {
	err := z.Rollback(ctx, op.Identity.Snapshot, DestroysNewer(op))
	stderr := execx.Stderr(err)
	switch {
	case err == nil:
		return nil
	case zfs.IsBusy(stderr):
		return engine.Permanent(fmt.Errorf("%w (something still holds the zvol open: an LU that did not go, or another consumer)", err))
	case zfs.ParseRollbackNewer(stderr) != nil, zfs.IsNotExist(stderr):
		return engine.Permanent(err)
	}
	return err
}

// CountHistory records, before the rollback, how many `zfs rollback ...
// SNAPSHOT` records the pool's history holds: the rollback's proof is one
// more of them, logged only if it succeeded. A history that cannot be read
// whole leaves id.HistoryKnown false.
func CountHistory(ctx context.Context, p zfs.Pool, id *store.Identity) {
	if n, err := p.Rollbacks(ctx, id.Snapshot); err == nil {
		id.HistoryRollbacks, id.HistoryKnown = n, true
	}
}

// TookEffect tells, after a rollback that failed without a reason or was
// interrupted, whether it took effect, from evidence no initiator can
// change: a new `zfs rollback` record in zpool history (logged only on
// success, on every platform). Where the host has written@ (illumos,
// OpenZFS) and away says nothing serves the volume, written@snapshot 0 with
// no newer snapshot left also counts: the data is at the snapshot. It
// returns an error when neither can be read.
func TookEffect(ctx context.Context, z zfs.Cmd, p zfs.Pool, op *store.Operation, away func(context.Context) (bool, error)) (bool, error) {
	id := op.Identity
	historySaysNo := false
	why := "zpool history could not be read before the rollback"
	if id.HistoryKnown {
		n, err := p.Rollbacks(ctx, id.Snapshot)
		switch {
		case err != nil:
			why = "zpool history: " + err.Error()
		case n > id.HistoryRollbacks:
			return true, nil
		default:
			historySaysNo = true
		}
	}
	if op.Capabilities.Has(store.CapWritten) {
		if away, err := away(ctx); err == nil && away {
			if at, err := writtenAtSnapshot(ctx, z, id); err == nil {
				return at, nil
			}
		}
	}
	if historySaysNo {
		return false, nil
	}
	return false, fmt.Errorf("cannot tell whether the rollback took effect: %s", why)
}

// writtenAtSnapshot: written@snapshot is 0 and no newer snapshot is left
// (only where the host has written@). written@ first: a volume that has
// changed needs no listing.
func writtenAtSnapshot(ctx context.Context, z zfs.Cmd, id store.Identity) (bool, error) {
	_, snap, _ := zfsname.SplitSnapshot(id.Snapshot)
	w, err := z.Written(ctx, id.Volume, snap)
	if err != nil {
		return false, err
	}
	if w != 0 {
		return false, nil
	}
	snaps, err := z.Snapshots(ctx, id.Volume)
	if err != nil {
		return false, err
	}
	return newerLeft(snaps, id) == "", nil
}

// RolledBack tells, right after a zfs rollback that exited 0 and while
// nothing serves the volume, whether the volume is at the snapshot (the
// commit step's Check where zpool history is not read).
func RolledBack(ctx context.Context, z zfs.Cmd, op *store.Operation) (bool, error) {
	left, err := notAt(ctx, z, op)
	if err != nil {
		return false, err
	}
	return left == "", nil
}

// CheckRolledBack is RolledBack for the step that ran the rollback: a
// volume that is not at the snapshot after zfs rollback exited 0 is
// engine.ErrNotCommitted, worded as Verify words it, so that the saga
// compensates backwards at once rather than repeat a rollback that does
// nothing.
func CheckRolledBack(ctx context.Context, z zfs.Cmd, op *store.Operation) error {
	left, err := notAt(ctx, z, op)
	if err != nil {
		return fmt.Errorf("read back %s after the rollback: %w", op.Identity.Volume, err)
	}
	if left != "" {
		cmd := "zfs rollback"
		if DestroysNewer(op) {
			cmd += " -r"
		}
		return notCommitted(left, cmd)
	}
	return nil
}

// notAt says what keeps the volume from being at the snapshot, "" when
// nothing does: a newer snapshot left, or data written since it. With
// written@ (OpenZFS) that is exact. Without it (zfs-fuse) the snapshot's
// used is the signal: 0 right after a rollback, and it only grows
// otherwise, so a used that went from non-zero to 0 proves a rollback; when
// it was 0 before too, the data was (as far as zfs had synced) at the
// snapshot either way (docs/platform/zfs.md §9.2). Read once initiators
// write again, it would take their writes for a rollback that did not
// happen.
func notAt(ctx context.Context, z zfs.Cmd, op *store.Operation) (string, error) {
	id := op.Identity
	snaps, err := z.Snapshots(ctx, id.Volume)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", id.Volume, err)
	}
	if left := newerLeft(snaps, id); left != "" {
		return left + " is still there", nil
	}
	at := slices.IndexFunc(snaps, func(s zfs.Snapshot) bool { return s.Name == id.Snapshot })
	if at < 0 {
		return "", fmt.Errorf("snapshot %s is gone", id.Snapshot)
	}
	if op.Capabilities.Has(store.CapWritten) {
		_, snap, _ := zfsname.SplitSnapshot(id.Snapshot)
		w, err := z.Written(ctx, id.Volume, snap)
		if err != nil {
			return "", err
		}
		if w != 0 {
			return fmt.Sprintf("%s is not at %s (written@%s is %d)", id.Volume, id.Snapshot, snap, w), nil
		}
		return "", nil
	}
	if u := snaps[at].Used; u != 0 {
		return fmt.Sprintf("%s is not at %s (the snapshot's used is %d)", id.Volume, id.Snapshot, u), nil
	}
	return "", nil
}

// notCommitted is what a check says when it finds that cmd, a zfs rollback,
// exited 0 and did not take effect: left is what it found.
func notCommitted(left, cmd string) error {
	return fmt.Errorf("%s after %s exited 0: %w", left, cmd, engine.ErrNotCommitted)
}

// newerLeft is the first of the snapshots the rollback destroys that is
// still listed, "" when none is.
func newerLeft(snaps []zfs.Snapshot, id store.Identity) string {
	for _, s := range snaps {
		if slices.Contains(id.NewerSnapshots, s.Name) {
			return s.Name
		}
	}
	return ""
}

// VerifyPlanned are the commands Verify runs.
func VerifyPlanned(z zfs.Cmd, p zfs.Pool, id store.Identity) [][]string {
	planned := [][]string{z.SnapshotsArgv(id.Volume)}
	if id.HistoryKnown {
		planned = append(planned, p.HistoryArgv(zfs.PoolOf(id.Volume)))
	}
	return planned
}

// Verify checks, once the rollback was judged done, what no initiator
// changes: no newer snapshot is left (one left means zfs rollback -r exited
// 0 and did not take effect: engine.ErrNotCommitted, and the saga
// compensates backwards), and notes when zpool history has no new record
// of it (note is the step's engine.Exec.Note). Whether the data is at the
// snapshot is not read here: the LUs are back, and initiators write.
func Verify(ctx context.Context, z zfs.Cmd, p zfs.Pool, id store.Identity, note func(format string, args ...any)) error {
	snaps, err := z.Snapshots(ctx, id.Volume)
	if err != nil {
		return fmt.Errorf("read back the snapshots of %s: %w", id.Volume, err)
	}
	if left := newerLeft(snaps, id); left != "" {
		// Only a rollback with -r had newer snapshots to destroy.
		return notCommitted(left+" is still there", "zfs rollback -r")
	}
	if id.HistoryKnown {
		if n, err := p.Rollbacks(ctx, id.Snapshot); err == nil && n <= id.HistoryRollbacks {
			note("zpool history has no new record of the rollback to %s although it was judged done; check the volume", id.Snapshot)
		}
	}
	return nil
}
