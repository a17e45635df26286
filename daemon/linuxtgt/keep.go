package linuxtgt

// The capture of a rollback that keeps what it replaces (rollback --keep,
// undo, forget; docs/keep.md §3). What zfs-fuse does under tgt, and why a
// local mountpoint is refused, is in docs/platform/linux-tgt.md §11.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// keeps reports whether an operation keeps what it replaces: a keep
// rollback, or an undo (itself a keep, docs/keep.md §3).
func keeps(o store.Options) bool { return o.Keep || o.Undo != 0 }

// keepOptions refuses the option combinations that mean nothing, before
// anything runs.
func keepOptions(o store.Options) error {
	switch {
	case keeps(o) && o.DestroyNewer:
		return fmt.Errorf("destroy_newer with keep: a rollback that keeps what it replaces destroys no snapshot (the newer ones move to the kept dataset); leave destroy_newer out: %w",
			engine.InvalidOptions("destroy_newer"))
	case o.Forget != 0 && (keeps(o) || o.DestroyNewer || o.AcceptSessions):
		return fmt.Errorf("forget destroys kept datasets and rolls nothing back: keep, undo, destroy_newer and accept_sessions mean nothing there: %w",
			engine.InvalidOptions("keep", "undo", "destroy_newer", "accept_sessions"))
	case o.Undo != 0 && len(o.Restore) == 0:
		return fmt.Errorf("undo of operation %d names no kept dataset to bring back (restore is empty): %w", o.Undo, engine.InvalidOptions("restore"))
	}
	return nil
}

// cloneCarried are local properties a clone has from its origin without
// being told: they can only be set when a dataset is created (zfs clone -o
// refuses them, linux-tgt.md §11.2) or, for a volume, they are the
// snapshot's (its size goes back with it). They are left out of the clone's
// -o.
var cloneCarried = []string{"casesensitivity", "utf8only", "normalization", "volsize", "volblocksize"}

// cloneProps are the local properties the clone is created with: every
// local property but volctl's own mark and those the clone carries anyway.
// A filesystem with a local mountpoint or canmount is refused: the kept
// dataset would stay mounted where the clone must mount (§11.5).
func cloneProps(vol, typ string, local map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range slices.Sorted(mapKeys(local)) {
		switch {
		case k == zvol.KeptMarkProp, slices.Contains(cloneCarried, k):
		case typ == "filesystem" && (k == "mountpoint" || k == "canmount"):
			return nil, fmt.Errorf("%s has a local %s (%s): the kept dataset would stay mounted at %s's place and the clone would have to mount over it (docs/platform/linux-tgt.md §11.5); `zfs inherit %s %s` first, or roll back without keep: %w",
				vol, k, local[k], vol, k, vol, engine.ErrPrecondition)
		default:
			out[k] = local[k]
		}
	}
	return out, nil
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// readKeep reads what a keep rollback or an undo needs besides a
// rollback's capture: the kept dataset's name (free), the volume's local
// properties, and for an undo the dataset that comes back.
func (b *Backend) readKeep(ctx context.Context, run execx.RunFunc, h *hostFacts, opts store.Options) error {
	z := b.zfs(run)
	_, names, at := h.snapshots()
	kept, err := zvol.KeptName(h.vol, opts.KeptSuffix, names[at+1:])
	if err != nil {
		return fmt.Errorf("%w: %w", err, engine.ErrPrecondition)
	}
	for _, d := range h.tree {
		if d.Name != h.vol && (d.Type == "filesystem" || d.Type == "volume") {
			return fmt.Errorf("%s has the child dataset %s: the rename would take it into the kept dataset, and the clone has none (docs/platform/linux-tgt.md §11.5): %w",
				h.vol, d.Name, engine.ErrPrecondition)
		}
	}
	local, err := z.LocalProps(ctx, h.vol)
	if err != nil {
		return fmt.Errorf("read the local properties of %s: %w", h.vol, err)
	}
	if h.local, err = cloneProps(h.vol, h.ds.Type, local); err != nil {
		return err
	}
	check := []string{kept}
	var restore string
	if opts.Undo != 0 {
		if restore = opts.Restore[h.vol]; restore == "" {
			return fmt.Errorf("operation %d kept nothing of %s: %w", opts.Undo, h.vol, engine.ErrPrecondition)
		}
		check = append(check, restore)
	}
	ex, err := z.Existing(ctx, check...)
	if err != nil {
		return fmt.Errorf("look for %s: %w", strings.Join(check, ", "), err)
	}
	if ex[kept] {
		return fmt.Errorf("the kept dataset's name %s is taken: %w", kept, engine.ErrPrecondition)
	}
	if restore != "" {
		if !ex[restore] {
			return fmt.Errorf("%s, which operation %d kept, does not exist (forgotten, or renamed by hand): %w", restore, opts.Undo, engine.ErrPrecondition)
		}
		if err := b.checkRestore(ctx, run, h, restore); err != nil {
			return err
		}
	}
	h.kept, h.restore, h.keptUsed = kept, restore, h.ds.Used
	return nil
}

// checkRestore: the dataset an undo brings back is a clone of the
// snapshot (else a later operation changed the volume: undo goes last-in
// first-out), of the volume's type, with no local mountpoint, and no LU on
// it.
func (b *Backend) checkRestore(ctx context.Context, run execx.RunFunc, h *hostFacts, restore string) error {
	z := b.zfs(run)
	p, err := z.Get(ctx, restore, "origin", "type", "mountpoint")
	if err != nil {
		return fmt.Errorf("read %s: %w", restore, err)
	}
	if p["origin"] != h.snapshot {
		return fmt.Errorf("%s is not a clone of %s (its origin is %q): %s changed since, and undo goes last-in first-out: %w",
			restore, h.snapshot, p["origin"], h.vol, engine.ErrPrecondition)
	}
	if p["type"] != h.ds.Type {
		return fmt.Errorf("%s is a %s, %s a %s: %w", restore, p["type"], h.vol, h.ds.Type, engine.ErrPrecondition)
	}
	local, err := z.LocalProps(ctx, restore)
	if err != nil {
		return fmt.Errorf("read the local properties of %s: %w", restore, err)
	}
	if _, err := cloneProps(restore, p["type"], local); err != nil {
		return err
	}
	info := zfs.Info{Name: restore, Type: p["type"], Mountpoint: p["mountpoint"]}
	for _, t := range h.targets {
		for _, u := range t.LUNs {
			if _, on := backs(u.BackingPath, info, nil); on {
				return fmt.Errorf("LUN %d of target %s (%s) is on %s: %w", u.LUN, t.Name, u.BackingPath, restore, engine.ErrPrecondition)
			}
		}
	}
	return nil
}

// keepWarnings say what a keep holds on to.
func keepWarnings(h *hostFacts, opts store.Options) []string {
	w := fmt.Sprintf("nothing is destroyed: %s as it is now", h.vol)
	if _, names, at := h.snapshots(); at >= 0 && at+1 < len(names) {
		w += fmt.Sprintf(", with the newer snapshots %s,", strings.Join(names[at+1:], ", "))
	}
	w += fmt.Sprintf(" is kept as %s; it holds up to %d bytes (used) until forgotten", h.kept, h.keptUsed)
	if opts.Undo != 0 {
		w += fmt.Sprintf("; %s, kept by operation %d, takes %s's name back", h.restore, opts.Undo, h.vol)
	}
	return []string{w}
}

// captureForget captures a forget of operation opts.Forget: each of its
// kept datasets must exist, carry the operation's mark (zvol.CheckKept),
// and hold no LU. Identity.Kept is the one of vol.
func (b *Backend) captureForget(ctx context.Context, run execx.RunFunc, vol, snapshot string, opts store.Options) (store.Identity, []string, error) {
	id := store.Identity{Volume: vol, Snapshot: snapshot}
	if len(opts.ForgetDatasets) == 0 {
		return id, nil, fmt.Errorf("forget of operation %d names no kept dataset: %w", opts.Forget, engine.InvalidOptions("forget_datasets"))
	}
	ts, err := b.show(ctx, run)
	if err != nil {
		return id, nil, err
	}
	z := b.zfs(run)
	var warnings []string
	for _, ds := range opts.ForgetDatasets {
		if !zvol.IsKeptName(ds) {
			return id, nil, fmt.Errorf("%s is not named as a kept dataset: %w", ds, engine.ErrPrecondition)
		}
		if err := zvol.CheckKept(ctx, z, ds, zvol.KeptMark(opts.Forget, vol, snapshot)); err != nil {
			return id, nil, err
		}
		k, err := b.readKept(ctx, z, ds)
		if err != nil {
			return id, nil, err
		}
		if err := noLUOn(ts, k); err != nil {
			return id, nil, fmt.Errorf("%w: %w", err, engine.ErrPrecondition)
		}
		if strings.HasPrefix(ds, vol+".kept-") {
			id.Kept, id.KeptUsed, id.Volsize = ds, k.used, k.volsize
		}
		warnings = append(warnings, fmt.Sprintf("%s and its snapshots are destroyed for good (%d bytes used)", ds, k.used))
	}
	return id, warnings, nil
}
