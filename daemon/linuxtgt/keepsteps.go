package linuxtgt

// The steps of a rollback that keeps what it replaces, of an undo and of a
// forget (docs/keep.md §3, doc.go): tgt's steps around the zfs swap. On
// zfs-fuse a filesystem must be unmounted before it is renamed or
// destroyed, and mounted after (docs/platform/linux-tgt.md §11.1, §11.4);
// a volume has no mount.

import (
	"context"
	"fmt"
	"maps"
	"slices"
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
				return engine.Permanent(fmt.Errorf("LU %s still serves %s: not renaming the volume under it", l.name(), l.Spec.Path))
			}
		}
	}
	return nil
}

// unmountDS unmounts ds if it is a mounted filesystem (and exists).
func (s *sagaSteps) unmountDS(ctx context.Context, x *engine.Exec, ds string) error {
	z := s.b.zfs(x.Run)
	d, err := s.b.readKept(ctx, z, ds)
	if err != nil || !d.exists {
		return err
	}
	return s.unmount(ctx, z, d)
}

// mountAround wraps a zfs step of zvol's (a rename, a clone, a destroy)
// for zfs-fuse: before its Do (and Undo) the datasets it renames or
// destroys are unmounted, the act is retried while zfs answers "dataset is
// busy" (the unmount completes asynchronously), and after it the dataset
// that holds the volume's files is mounted (docs/platform/linux-tgt.md
// §11.1). A volume (zvol) has no mount: only the busy retry is added.
// doOff/undoOff are unmounted first, doOn/undoOn mounted after ("" none).
func (s *sagaSteps) mountAround(st engine.Step, doOff, doOn, undoOff, undoOn string) engine.Step {
	z := s.b.zfs(nil)
	if s.isFS() {
		var planned [][]string
		if doOff != "" {
			planned = append(planned, z.UmountArgv(doOff))
		}
		planned = append(planned, st.Planned...)
		if doOn != "" {
			planned = append(planned, z.MountArgv(doOn))
		}
		st.Planned = planned
	}
	wrap := func(f func(context.Context, *engine.Exec) error, off, on string) func(context.Context, *engine.Exec) error {
		if f == nil {
			return nil
		}
		return func(ctx context.Context, x *engine.Exec) error {
			if err := s.check(); err != nil {
				return err
			}
			if off != "" && s.isFS() {
				if err := s.unmountDS(ctx, x, off); err != nil {
					return err
				}
			}
			if err := busy(ctx, x, func() error { return f(ctx, x) }); err != nil {
				return err
			}
			if on != "" && s.isFS() {
				return s.mount(ctx, s.b.zfs(x.Run), on)
			}
			return nil
		}
	}
	st.Do, st.Undo = wrap(st.Do, doOff, doOn), wrap(st.Undo, undoOff, undoOn)
	return st
}

func (s *sagaSteps) zfsFor() zvol.ZfsFor { return s.b.zfs }

// setAside is zvol's set-aside (zfs rename V KEPT) once tgtd shows no LU
// on the volume. Undo: KEPT takes V's name back.
func (s *sagaSteps) setAside() engine.Step {
	vol, kept, _ := s.keepNames()
	st := s.mountAround(zvol.SetAsideStep(s.zfsFor(), s.op, len(s.lus) > 0), vol, kept, kept, vol)
	do := st.Do
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		if err := s.lusGone(ctx, x); err != nil {
			return err
		}
		return do(ctx, x)
	}
	return st
}

// clone is zvol's clone (zfs clone -o ... KEPT@S V), mounted where the
// volume was. Undo: destroy the clone.
func (s *sagaSteps) clone() engine.Step {
	vol, _, _ := s.keepNames()
	// zfs-fuse mounts a clone at once (linux-tgt.md §11.2); one that
	// exited 1 "cannot mount" exists unmounted (§11.5): mount reads it.
	return s.mountAround(zvol.CloneStep(s.zfsFor(), s.op, len(s.lus) > 0), "", vol, vol, "")
}

// bringBack (undo) is zvol's bring-back (zfs rename RESTORE V). Undo:
// rename it back.
func (s *sagaSteps) bringBack() engine.Step {
	vol, _, _ := s.keepNames()
	restore := s.op.Identity.Restore
	return s.mountAround(zvol.BringBackStep(s.zfsFor(), s.op, len(s.lus) > 0), restore, vol, vol, restore)
}

// promote is zvol's promote, the commit.
func (s *sagaSteps) promote() engine.Step {
	return zvol.PromoteStep(s.zfsFor(), s.op, len(s.lus) > 0)
}

// markKept is zvol's mark-kept.
func (s *sagaSteps) markKept() engine.Step { return zvol.MarkKeptStep(s.zfsFor(), s.op) }

// destroyKept (forget) is zvol's destroy-kept (and finish-destroy-kept),
// each run once tgtd shows no LU on any of the datasets and each is
// unmounted.
func (s *sagaSteps) destroyKept() []engine.Step {
	steps := zvol.DestroyKeptSteps(s.zfsFor(), s.op)
	marks := zvol.ForgetMarks(s.op)
	dss := slices.Sorted(maps.Keys(marks))
	z := s.b.zfs(nil)
	for i := range steps {
		st := &steps[i]
		if s.isFS() {
			var planned [][]string
			for _, ds := range dss {
				planned = append(planned, z.UmountArgv(ds))
			}
			st.Planned = append(planned, st.Planned...)
		}
		do := st.Do
		st.Do = func(ctx context.Context, x *engine.Exec) error {
			if err := s.readyToDestroy(ctx, x, marks, dss); err != nil {
				return err
			}
			return busy(ctx, x, func() error { return do(ctx, x) })
		}
	}
	return steps
}

// readyToDestroy refuses a kept dataset that does not carry its mark
// (zvol's destroy refuses it too; here before the unmount) or that an LU
// uses, and unmounts the others.
func (s *sagaSteps) readyToDestroy(ctx context.Context, x *engine.Exec, marks map[string]string, dss []string) error {
	z := s.b.zfs(x.Run)
	ts, err := s.b.show(ctx, x.Run)
	if err != nil {
		return err
	}
	for _, ds := range dss {
		k, err := s.b.readKept(ctx, z, ds)
		if err != nil {
			return err
		}
		if !k.exists {
			continue
		}
		if k.mark != marks[ds] {
			return engine.Permanent(fmt.Errorf("%s carries %s=%q, not %q: not destroyed", ds, zvol.KeptMarkProp, k.mark, marks[ds]))
		}
		if err := noLUOn(ts, k); err != nil {
			return engine.Permanent(fmt.Errorf("%w: not destroying %s", err, ds))
		}
		if err := s.unmount(ctx, z, k); err != nil {
			return err
		}
	}
	return nil
}

// isForget: an operation of kind forget.
func isForget(op *store.Operation) bool { return op.Options.Forget != 0 || op.Kind == store.KindForget }
