package linuxtgt

// The steps of a rollback that keeps what it replaces, of an undo and of a
// forget (docs/keep.md §3, doc.go): tgt's steps around the zfs swap. On
// zfs-fuse a filesystem must be unmounted before it is renamed or
// destroyed, and mounted after (docs/platform/linux-tgt.md §11.1, §11.4);
// a volume has no mount.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

var (
	// keepBusyRetries and keepBusyDelay bound the retry of a rename or
	// destroy that zfs-fuse answers "dataset is busy" right after the
	// unmount (it closes the dataset asynchronously,
	// docs/platform/linux-tgt.md §11.1).
	keepBusyRetries = 30
	keepBusyDelay   = 500 * time.Millisecond
)

// keepSteps is the saga of a keep rollback or an undo: the LUs go, the
// volume is set aside under the kept name, the snapshot's clone (or, for
// an undo, the dataset kept before) takes its name, the promote commits,
// and the LUs come back on the same backing path with their identity.
func (s *sagaSteps) keepSteps(has bool) []engine.Step {
	var steps []engine.Step
	if has {
		steps = append(steps, s.unbind(), s.deleteLUs())
	}
	steps = append(steps, s.setAside())
	if s.op.Options.Undo != 0 {
		steps = append(steps, s.bringBack())
	} else {
		steps = append(steps, s.clone())
	}
	steps = append(steps, s.promote())
	var after []engine.Step
	if has {
		after = append(after, s.createLUs(), s.restoreIdentity(), s.rebind())
	}
	after = append(after, s.verify(), s.markKept())
	for _, st := range after {
		steps = append(steps, s.namingKept(st))
	}
	return steps
}

// namingKept makes a failure past the commit say where the volume's data
// from before went: the operation stops for attention there.
func (s *sagaSteps) namingKept(st engine.Step) engine.Step {
	do, kept := st.Do, s.op.Identity.Kept
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		if err := do(ctx, x); err != nil {
			return fmt.Errorf("%w (the volume is at %s; its data from before, with the newer snapshots, is kept in %s)", err, s.op.Identity.Snapshot, kept)
		}
		return nil
	}
	return st
}

// dsState is what the keep steps read of a dataset.
type dsState struct {
	name                       string
	exists                     bool
	typ, origin, mounted, mark string
	mountpoint                 string
	used, volsize              uint64
}

func (d dsState) fs() bool { return d.typ == "filesystem" }

// readKept reads a dataset's type, origin, mount state, used and mark; one
// that does not exist is exists false, any other failure an error.
func (b *Backend) readKept(ctx context.Context, z zfs.Cmd, ds string) (dsState, error) {
	d := dsState{name: ds}
	p, err := z.Get(ctx, ds, "type", "origin", "mounted", "mountpoint", "used", "volsize", zvol.KeptMarkProp)
	if err != nil {
		if zfs.IsNotExist(execx.Stderr(err)) {
			return d, nil
		}
		return d, fmt.Errorf("read %s: %w", ds, err)
	}
	for _, k := range []string{"type", "origin", "mounted", "mountpoint", "used", "volsize", zvol.KeptMarkProp} {
		if _, ok := p[k]; !ok {
			return d, fmt.Errorf("zfs get did not show %s of %s", k, ds)
		}
	}
	d.exists, d.typ, d.origin, d.mounted, d.mountpoint, d.mark = true, p["type"], p["origin"], p["mounted"], p["mountpoint"], p[zvol.KeptMarkProp]
	if d.mark == "-" {
		d.mark = ""
	}
	if d.used, err = strconv.ParseUint(p["used"], 10, 64); err != nil {
		return d, fmt.Errorf("used of %s: %q is not a number", ds, p["used"])
	}
	if v := p["volsize"]; d.typ == "volume" {
		if d.volsize, err = strconv.ParseUint(v, 10, 64); err != nil {
			return d, fmt.Errorf("volsize of %s: %q is not a number", ds, v)
		}
	}
	return d, nil
}

// noLUOn: no LU of tgtd is backed by d.
func noLUOn(ts []tgt.Target, d dsState) error {
	info := zfs.Info{Name: d.name, Type: d.typ, Mountpoint: d.mountpoint}
	for _, t := range ts {
		for _, u := range t.LUNs {
			if _, on := backs(u.BackingPath, info, nil); on {
				return fmt.Errorf("LUN %d of target %s is backed by %s, on %s", u.LUN, t.Name, u.BackingPath, d.name)
			}
		}
	}
	return nil
}

// keepNames: the volume, its kept dataset and the snapshot's short name.
func (s *sagaSteps) keepNames() (vol, kept, short string) {
	id := s.op.Identity
	_, short, _ = strings.Cut(id.Snapshot, "@")
	return id.Volume, id.Kept, short
}

// isFS: the journaled volume is a filesystem (a zvol has a volsize).
func (s *sagaSteps) isFS() bool { return s.op.Identity.Volsize == 0 }

// unmount unmounts d if it is a mounted filesystem.
func (s *sagaSteps) unmount(ctx context.Context, z zfs.Cmd, d dsState) error {
	if !d.fs() || d.mounted != "yes" {
		return nil
	}
	if err := z.Umount(ctx, d.name); err != nil {
		return fmt.Errorf("unmount %s: %w", d.name, err)
	}
	return nil
}

// mount mounts the filesystem ds if it is not, and reads that it is.
func (s *sagaSteps) mount(ctx context.Context, z zfs.Cmd, ds string) error {
	d, err := s.b.readKept(ctx, z, ds)
	if err != nil || !d.exists || !d.fs() || d.mounted == "yes" {
		if err == nil && !d.exists {
			err = fmt.Errorf("%s does not exist", ds)
		}
		return err
	}
	if err := z.Mount(ctx, ds); err != nil {
		return fmt.Errorf("mount %s: %w", ds, err)
	}
	if d, err = s.b.readKept(ctx, z, ds); err != nil {
		return err
	}
	if d.mounted != "yes" {
		return fmt.Errorf("%s is not mounted after zfs mount exited 0", ds)
	}
	return nil
}

// busy runs f again while zfs answers "dataset is busy", with a bound.
func busy(ctx context.Context, x *engine.Exec, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !zfs.IsBusy(execx.Stderr(err)) || attempt >= keepBusyRetries {
			if attempt > 1 {
				x.Note("zfs answered \"dataset is busy\" %d times after the unmount (docs/platform/linux-tgt.md §11.1)", attempt-1)
			}
			if err != nil && attempt >= keepBusyRetries {
				err = fmt.Errorf("%w (still busy %d s after the unmount: zfs-fuse keeps a hold on a dataset it promoted, docs/platform/linux-tgt.md §11.6)",
					err, int(time.Duration(keepBusyRetries)*keepBusyDelay/time.Second))
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(keepBusyDelay):
		}
	}
}

// move renames from to to: unmount from, rename (retrying busy), mount
// to. Converges: done when from is gone and to is there.
func (s *sagaSteps) move(ctx context.Context, x *engine.Exec, from, to string) error {
	z := s.b.zfs(x.Run)
	f, err := s.b.readKept(ctx, z, from)
	if err != nil {
		return err
	}
	t, err := s.b.readKept(ctx, z, to)
	if err != nil {
		return err
	}
	switch {
	case !f.exists && t.exists:
		// Renamed already (a retry, a resumed operation).
		return s.mount(ctx, z, to)
	case !f.exists:
		return engine.Permanent(fmt.Errorf("neither %s nor %s exists", from, to))
	case t.exists:
		return engine.Permanent(fmt.Errorf("%s exists already: not renaming %s to it", to, from))
	}
	if err := s.unmount(ctx, z, f); err != nil {
		return err
	}
	if err := busy(ctx, x, func() error { return z.Rename(ctx, from, to) }); err != nil {
		return fmt.Errorf("rename %s to %s: %w", from, to, err)
	}
	return s.mount(ctx, z, to)
}

// lusGone reads from tgtd that no captured LU serves its backing store
// any more: zfs gives no proof of it (docs/platform/linux-tgt.md §9.1).
func (s *sagaSteps) lusGone(ctx context.Context, x *engine.Exec) error {
	if len(s.lus) == 0 {
		return nil
	}
	ts, err := s.b.show(ctx, x.Run)
	if err != nil {
		return err
	}
	for _, l := range s.lus {
		if t, ok := tgt.Find(ts, l.TID); ok {
			if u, ok := t.FindLUN(l.LUN); ok && u.BackingPath == l.Spec.Path {
				return fmt.Errorf("LU %s still serves %s: not renaming the volume under it", l.name(), l.Spec.Path)
			}
		}
	}
	return nil
}

func (s *sagaSteps) mountArgvs(z zfs.Cmd, umount, rename [2]string, mount string) [][]string {
	var out [][]string
	if s.isFS() {
		out = append(out, z.UmountArgv(umount[0]))
	}
	out = append(out, z.RenameArgv(rename[0], rename[1]))
	if s.isFS() {
		out = append(out, z.MountArgv(mount))
	}
	return out
}

// setAside renames the volume to its kept name, with its data and the
// newer snapshots. Undo: the kept dataset takes the volume's name back,
// only when the volume's name is free (the clone was undone).
func (s *sagaSteps) setAside() engine.Step {
	vol, kept, _ := s.keepNames()
	z := s.b.zfs(nil)
	st := engine.Step{Name: "set-aside", OutageWindow: len(s.lus) > 0,
		Description: "rename " + vol + " to " + kept + ", with its data and its snapshots newer than " + s.op.Identity.Snapshot,
		Planned:     s.mountArgvs(z, [2]string{vol}, [2]string{vol, kept}, kept)}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		if err := s.check(); err != nil {
			return err
		}
		if err := s.lusGone(ctx, x); err != nil {
			return err
		}
		return s.move(ctx, x, vol, kept)
	}
	st.Undo = func(ctx context.Context, x *engine.Exec) error {
		return s.move(ctx, x, kept, vol)
	}
	return st
}

// clone creates the volume again as a clone of the snapshot (now under the
// kept dataset), with the volume's local properties, mounted where the
// volume was. Undo: destroy it, only when it is that clone.
func (s *sagaSteps) clone() engine.Step {
	vol, kept, short := s.keepNames()
	origin := kept + "@" + short
	z := s.b.zfs(nil)
	st := engine.Step{Name: "clone", OutageWindow: len(s.lus) > 0,
		Description: "create " + vol + " as a clone of " + origin + " with its local properties",
		Planned:     [][]string{z.CloneArgv(origin, vol, s.op.Identity.LocalProps)}}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		z := s.b.zfs(x.Run)
		v, err := s.b.readKept(ctx, z, vol)
		if err != nil {
			return err
		}
		if v.exists && v.origin != origin {
			return engine.Permanent(fmt.Errorf("%s exists and is not a clone of %s (origin %q)", vol, origin, v.origin))
		}
		if !v.exists {
			if err := z.Clone(ctx, origin, vol, s.op.Identity.LocalProps); err != nil {
				return fmt.Errorf("clone %s as %s: %w", origin, vol, err)
			}
		}
		// zfs-fuse mounts a clone at once (linux-tgt.md §11.2); a clone
		// that exited 1 "cannot mount" exists unmounted (§11.5).
		return s.mount(ctx, z, vol)
	}
	st.Undo = func(ctx context.Context, x *engine.Exec) error {
		z := s.b.zfs(x.Run)
		v, err := s.b.readKept(ctx, z, vol)
		if err != nil || !v.exists {
			return err
		}
		if v.origin != origin {
			return engine.Permanent(fmt.Errorf("%s is not a clone of %s (origin %q): not destroying it", vol, origin, v.origin))
		}
		if err := s.unmount(ctx, z, v); err != nil {
			return err
		}
		if err := busy(ctx, x, func() error { return z.DestroyTree(ctx, vol) }); err != nil {
			return fmt.Errorf("destroy the clone %s: %w", vol, err)
		}
		return nil
	}
	return st
}

// bringBack (undo) renames the dataset kept before back to the volume's
// name: it is a clone of the snapshot, now under the kept dataset. Undo:
// rename it back.
func (s *sagaSteps) bringBack() engine.Step {
	vol, _, _ := s.keepNames()
	restore := s.op.Identity.Restore
	z := s.b.zfs(nil)
	st := engine.Step{Name: "bring-back", OutageWindow: len(s.lus) > 0,
		Description: "rename " + restore + " back to " + vol,
		Planned:     s.mountArgvs(z, [2]string{restore}, [2]string{restore, vol}, vol)}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		return s.move(ctx, x, restore, vol)
	}
	st.Undo = func(ctx context.Context, x *engine.Exec) error {
		return s.move(ctx, x, vol, restore)
	}
	return st
}

// promote is the commit: the volume (the clone, or the dataset brought
// back) takes the snapshots up to its origin, and the kept dataset becomes
// its clone. Check: the kept dataset's origin is the snapshot.
func (s *sagaSteps) promote() engine.Step {
	vol, kept, _ := s.keepNames()
	z := s.b.zfs(nil)
	st := engine.Step{Name: "promote", Commit: true, OutageWindow: len(s.lus) > 0,
		Description: "promote " + vol + " (the point of no return): " + kept + " becomes a clone of " + s.op.Identity.Snapshot,
		Planned:     [][]string{z.PromoteArgv(vol)}}
	committed := func(ctx context.Context, x *engine.Exec) (bool, error) {
		k, err := s.b.readKept(ctx, s.b.zfs(x.Run), kept)
		if err != nil {
			return false, err
		}
		return k.exists && k.origin == s.op.Identity.Snapshot, nil
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		if ok, err := committed(ctx, x); err != nil || ok {
			return err
		}
		if err := s.b.zfs(x.Run).Promote(ctx, vol); err != nil {
			return fmt.Errorf("promote %s: %w", vol, err)
		}
		ok, err := committed(ctx, x)
		if err == nil && !ok {
			err = fmt.Errorf("after zfs promote %s exited 0, %s is not a clone of %s: %w", vol, kept, s.op.Identity.Snapshot, engine.ErrNotCommitted)
		}
		return err
	}
	st.Check = committed
	return st
}

// markKept sets volctl's mark on the kept dataset, and reads it back:
// forget destroys only a dataset with its operation's mark.
func (s *sagaSteps) markKept() engine.Step {
	vol, kept, _ := s.keepNames()
	mark := zvol.KeptMark(s.op.ID, vol, s.op.Identity.Snapshot)
	z := s.b.zfs(nil)
	st := engine.Step{Name: "mark-kept", Description: "mark " + kept + " as kept by this operation (" + zvol.KeptMarkProp + ")",
		Planned: [][]string{z.SetArgv(kept, zvol.KeptMarkProp, mark)}}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		mark := zvol.KeptMark(x.Op().ID, vol, s.op.Identity.Snapshot)
		z := s.b.zfs(x.Run)
		if err := z.Set(ctx, kept, zvol.KeptMarkProp, mark); err != nil {
			return fmt.Errorf("mark %s: %w", kept, err)
		}
		k, err := s.b.readKept(ctx, z, kept)
		if err == nil && k.mark != mark {
			err = fmt.Errorf("%s of %s is %q after zfs set, not %q", zvol.KeptMarkProp, kept, k.mark, mark)
		}
		return err
	}
	return st
}

// destroyKept (forget) destroys the kept dataset with its snapshots, once
// it has read the operation's mark on it and that no LU is on it: the
// commit, no undo (a person consented). Never -R: a clone of one of its
// snapshots makes zfs refuse.
func (s *sagaSteps) destroyKept() engine.Step {
	id, o := s.op.Identity, s.op.Options
	z := s.b.zfs(nil)
	st := engine.Step{Name: "destroy-kept", Commit: true,
		Description: "destroy " + id.Kept + " and its snapshots, kept by operation " + strconv.FormatUint(o.Forget, 10)}
	if s.isFS() {
		st.Planned = append(st.Planned, z.UmountArgv(id.Kept))
	}
	st.Planned = append(st.Planned, z.DestroyTreeArgv(id.Kept))
	gone := func(ctx context.Context, x *engine.Exec) (bool, error) {
		k, err := s.b.readKept(ctx, s.b.zfs(x.Run), id.Kept)
		return err == nil && !k.exists, err
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		z := s.b.zfs(x.Run)
		k, err := s.b.readKept(ctx, z, id.Kept)
		if err != nil || !k.exists {
			return err
		}
		if want := zvol.KeptMark(o.Forget, id.Volume, id.Snapshot); k.mark != want {
			return engine.Permanent(fmt.Errorf("%s is not marked as kept by operation %d (%s is %q): not destroying it", id.Kept, o.Forget, zvol.KeptMarkProp, k.mark))
		}
		ts, err := s.b.show(ctx, x.Run)
		if err != nil {
			return err
		}
		if err := noLUOn(ts, k); err != nil {
			return engine.Permanent(fmt.Errorf("%w: not destroying %s", err, id.Kept))
		}
		if err := s.unmount(ctx, z, k); err != nil {
			return err
		}
		if err := busy(ctx, x, func() error { return z.DestroyTree(ctx, id.Kept) }); err != nil {
			return fmt.Errorf("destroy %s: %w", id.Kept, err)
		}
		if ok, err := gone(ctx, x); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("%s is still there after zfs destroy -r exited 0", id.Kept)
			}
			return err
		}
		return nil
	}
	st.Check = gone
	return st
}

// isForget: an operation of kind forget.
func isForget(op *store.Operation) bool { return op.Options.Forget != 0 || op.Kind == store.KindForget }
