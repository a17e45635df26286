package solaris

import (
	"context"
	"fmt"
	"strings"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/internal/zfsname"
	"github.com/volctl/volctl/store"
)

// The capture of a rollback that keeps what it replaces (--keep), of an
// undo (itself a keep: it keeps what it swaps out) and of a forget
// (docs/keep.md §3).

// keeps reports whether the request keeps what it replaces: rollback
// --keep, or an undo.
func keeps(opts store.Options) bool { return opts.Keep || opts.Undo != 0 }

// isUndo: the operation swaps a kept dataset back (kind undo).
func isUndo(op *store.Operation) bool { return op.Kind == store.KindUndo || op.Options.Undo != 0 }

// isForget: the operation destroys kept datasets (kind forget).
func isForget(op *store.Operation) bool { return op.Kind == store.KindForget || op.Options.Forget != 0 }

// checkKeepOptions refuses, before anything runs, what a keep cannot mean:
// --destroy-newer (nothing is destroyed), no suffix for the kept dataset
// (the engine sets it), an undo that does not say what to bring back.
func checkKeepOptions(vol string, opts store.Options) error {
	if !keeps(opts) {
		return nil
	}
	if opts.DestroyNewer {
		return fmt.Errorf("destroy_newer with keep: a rollback that keeps what it replaces destroys no snapshot: %w",
			engine.InvalidOptions(engine.ConsentDestroyNewer))
	}
	if _, err := zvol.KeptName(vol, opts.KeptSuffix, nil); err != nil {
		return fmt.Errorf("%v: %w", err, engine.ErrInvalid)
	}
	if opts.Undo != 0 {
		r := opts.Restore[vol]
		if r == "" {
			return fmt.Errorf("undo of operation %d: no kept dataset to bring back for %s: %w", opts.Undo, vol, engine.ErrInvalid)
		}
		if err := zfsname.ValidateDatasetName(r); err != nil {
			return fmt.Errorf("undo of operation %d: kept dataset %q: %v: %w", opts.Undo, r, err, engine.ErrInvalid)
		}
	}
	return nil
}

// readKeep reads what a keep needs besides a rollback's capture: the kept
// dataset's name (free, and fitting every snapshot that moves to it), the
// volume's local properties for the clone (a rollback --keep) or the kept
// dataset to bring back (an undo: a clone of the snapshot). Each refusal
// wraps ErrPrecondition.
func (b *Backend) readKeep(ctx context.Context, run execx.RunFunc, f *facts, opts store.Options) error {
	z := b.zfs(run)
	id := &f.id
	// zfs rename moves every snapshot of the volume to the kept dataset
	// (until the promote takes back those up to the snapshot): each must
	// fit under the new name.
	kept, err := zvol.KeptName(id.Volume, opts.KeptSuffix, f.snapshots)
	if err != nil {
		return fmt.Errorf("%v: %w", err, engine.ErrPrecondition)
	}
	id.Kept = kept
	if err := zvol.CheckKeptFree(ctx, z, kept); err != nil {
		return err
	}
	if opts.Undo != 0 {
		id.Restore = opts.Restore[id.Volume]
		return zvol.CheckRestore(ctx, z, *id)
	}
	local, err := z.LocalProps(ctx, id.Volume)
	if err != nil {
		return fmt.Errorf("read the local properties of %s for its clone: %w", id.Volume, err)
	}
	if id.LocalProps, err = zvol.CloneProps(local); err != nil {
		return fmt.Errorf("%s: %w", id.Volume, err)
	}
	return nil
}

// assessKeep adds a keep's own refusals and warnings to assess's: every
// LU must be one create-lu can re-create exactly (the clone has no LU
// metadata, so import-lu cannot bring it back), and the plan says what is
// kept and that it stays allocated.
func assessKeep(id store.Identity, opts store.Options) ([]string, error) {
	for _, lu := range id.LUs {
		if _, err := (comstar.Cmd{}).CreateLUArgv(toComstarLU(lu)); err != nil {
			return nil, fmt.Errorf("%v: with --keep the LU comes back on a clone, which has no LU metadata for import-lu, so create-lu must carry every property: %w",
				err, engine.ErrPrecondition)
		}
	}
	what := fmt.Sprintf("%s's data as it is now", id.Volume)
	if len(id.NewerSnapshots) > 0 {
		what += " and the snapshots newer than " + id.Snapshot + " (" + strings.Join(id.NewerSnapshots, ", ") + ")"
	}
	if opts.Undo != 0 {
		what = fmt.Sprintf("%s's data as operation %d left it", id.Volume, opts.Undo)
	}
	return []string{
		fmt.Sprintf("keeps %s in %s: up to %d bytes (what %s uses now), allocated in the pool until it is forgotten (volctl forget OPERATION --destroy-kept)",
			what, id.Kept, id.KeptUsed, id.Volume),
	}, nil
}

// captureForget is a forget's capture (the engine asks it once per kept
// dataset, docs/keep.md §5): each dataset to destroy exists and carries
// the mark of the operation forgotten for this volume and snapshot
// (zvol.CheckKept); nothing else is read, nothing changes. snapshot names
// the volume (the kept operation's snapshot).
func (b *Backend) captureForget(ctx context.Context, run execx.RunFunc, snapshot string, opts store.Options) (store.Identity, []string, error) {
	vol, _, err := zvol.SplitSnapshot(snapshot)
	if err != nil {
		return store.Identity{}, nil, err
	}
	id := store.Identity{Volume: vol, Snapshot: snapshot}
	if len(opts.ForgetDatasets) == 0 {
		return id, nil, fmt.Errorf("forget of operation %d: no kept dataset named: %w", opts.Forget, engine.ErrInvalid)
	}
	z := b.zfs(run)
	var warnings []string
	for _, ds := range opts.ForgetDatasets {
		if err := zfsname.ValidateDatasetName(ds); err != nil || !zvol.IsKeptName(ds) {
			return id, nil, fmt.Errorf("forget of operation %d: %q is not a kept dataset's name: %w", opts.Forget, ds, engine.ErrInvalid)
		}
		if err := zvol.CheckKept(ctx, z, ds, zvol.KeptMark(opts.Forget, vol, snapshot)); err != nil {
			return id, nil, err
		}
		warnings = append(warnings, fmt.Sprintf("destroys %s with its snapshots (zfs destroy -r): what operation %d kept is gone for good", ds, opts.Forget))
	}
	return id, warnings, nil
}
