package solaris

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// The saga of a rollback that keeps what it replaces, of an undo and of a
// forget (docs/keep.md §3; doc.go says why each step is where it is). The
// zfs steps are zvol's (keepsteps.go), shared with the Linux backend; the
// COMSTAR and zone steps are a rollback's, but for create-lu: the volume is
// a clone, which has no LU metadata of its own, so the LU is created with
// its captured GUID and properties, never imported (import-lu could find
// stale metadata inside the volume's data, docs/platform/zfs-clone.md).

// keepSteps builds the steps of a keep rollback or an undo.
func (s *sagaSteps) keepSteps(halted, attached []store.Zone) []engine.Step {
	var steps []engine.Step
	if len(halted) > 0 {
		steps = append(steps, s.stopZones(halted))
	}
	if len(attached) > 0 {
		steps = append(steps, s.detachZones(attached))
	}
	window := len(s.allLUs()) > 0
	if window {
		steps = append(steps, s.keepDeleteLUs())
	}
	steps = append(steps, zvol.SetAsideGuarded(s.zfs, s.op, window, s.lusGone()))
	if isUndo(s.op) {
		steps = append(steps, zvol.BringBackStep(s.zfs, s.op, window))
	} else {
		steps = append(steps, zvol.CloneStep(s.zfs, s.op, window))
	}
	steps = append(steps, zvol.PromoteStep(s.zfs, s.op, window))
	if len(s.op.Members) > 0 {
		steps = append(steps, zvol.FinishPromoteStep(s.zfs, s.op, window))
	}
	commit := len(steps)
	if window {
		steps = append(steps, s.createLUs(), s.restoreViews())
		if slices.ContainsFunc(s.op.Volumes(), needsResize) {
			steps = append(steps, s.resizeLUs())
		}
	}
	steps = append(steps, s.verifyKept(), zvol.MarkKeptStep(s.zfs, s.op))
	if len(attached) > 0 {
		steps = append(steps, s.attachZones(attached))
	}
	if len(halted) > 0 {
		steps = append(steps, s.bootZones(halted))
	}
	// Past the commit the saga only goes forward: a step that fails says
	// where each volume is and where its data from before is kept.
	for i := commit; i < len(steps); i++ {
		steps[i].Do = s.sayingWhere(steps[i].Do)
	}
	return steps
}

// sayingWhere adds to a failure past the commit where the volumes and
// their kept data are.
func (s *sagaSteps) sayingWhere(do func(context.Context, *engine.Exec) error) func(context.Context, *engine.Exec) error {
	return func(ctx context.Context, x *engine.Exec) error {
		err := do(ctx, x)
		if err == nil {
			return nil
		}
		var where []string
		for _, id := range s.op.Volumes() {
			where = append(where, fmt.Sprintf("%s is at %s, what it held before is kept in %s", id.Volume, id.Snapshot, id.Kept))
		}
		return fmt.Errorf("%w (%s)", err, strings.Join(where, "; "))
	}
}

// lusGone is set-aside's guard: no LU of the volume is registered. A
// rollback has zfs's "dataset is busy" for proof that delete-lu took the
// LU away; a rename has not: illumos renames a volume an LU holds, which
// would then serve the kept data (docs/platform/zfs-clone.md §3). An LU
// still there is permanent: the saga goes back.
func (s *sagaSteps) lusGone() *zvol.Guard {
	c := s.b.stmf(nil)
	return &zvol.Guard{
		Planned: func(id store.Identity) [][]string {
			var out [][]string
			for _, lu := range id.LUs {
				out = append(out, c.LookupLUArgv(lu.GUID))
			}
			return out
		},
		Check: func(ctx context.Context, x *engine.Exec, id store.Identity) error {
			away, err := s.lusAway(ctx, x, id.LUs)
			switch {
			case err != nil:
				return err
			case !away:
				return engine.Permanent(fmt.Errorf("an LU of %s is still registered after delete-lu: %s is not renamed while an LU holds it", id.Volume, id.Volume))
			}
			return nil
		},
	}
}

// keepDeleteLUs is delete-lu, whose undo brings the LUs back only once
// the volume is the one the capture found again (the undos of clone or
// bring-back and set-aside ran): an LU brought back onto the clone, or
// onto nothing, would serve other data under the volume's name.
func (s *sagaSteps) keepDeleteLUs() engine.Step {
	st := s.deleteLUs()
	undo := st.Undo
	st.Undo = func(ctx context.Context, x *engine.Exec) error {
		for _, id := range s.op.Volumes() {
			if len(id.LUs) == 0 {
				continue
			}
			if err := zvol.SwappedBack(ctx, s.zfs(x.Run), id); err != nil {
				return err
			}
		}
		return undo(ctx, x)
	}
	return st
}

// createLUs is a keep's create-lu: each LU created on the clone with its
// captured GUID and every property (the capture refused an LU create-lu
// cannot carry), then brought to its captured operational state (settle).
// The views kept by delete-lu -k apply again as it registers. An LU
// registered on its file already (a retry, a resume) is left as it is.
func (s *sagaSteps) createLUs() engine.Step {
	c := s.b.stmf(nil)
	st := engine.Step{Name: "create-lu", OutageWindow: true,
		Description: fmt.Sprintf("create the LU on the clone with its captured GUID and properties (the clone has no LU metadata to import); "+
			"its retained views apply again as it registers; then re-read it until it is Online (or Offline) as it was, at most %s (lu_online_timeout)",
			s.b.luOnlineTimeout())}
	for _, lu := range s.allLUs() {
		argv, err := c.CreateLUArgv(toComstarLU(lu))
		if err != nil {
			// The capture refuses it; a journal from before that would
			// fail here, permanently (createLU).
			argv = []string{c.Path, "create-lu", "<" + err.Error() + ">"}
		}
		st.Planned = append(st.Planned, argv)
		st.Planned = append(st.Planned, s.planSettle(lu)...)
	}
	st.Do = s.eachLUAtOnce(func(ctx context.Context, x *engine.Exec, lu store.LU) error {
		if _, err := (comstar.Cmd{}).CreateLUArgv(toComstarLU(lu)); err != nil {
			return engine.Permanent(fmt.Errorf("LU %s: %w", lu.GUID, err))
		}
		if err := s.createLU(ctx, x, lu); err != nil {
			if !luInUse(err) {
				return err
			}
			if err := s.registeredAlready(ctx, x, lu, "create", err); err != nil {
				return err
			}
		}
		return s.settle(ctx, x, lu)
	})
	return st
}

// verifyKept is a keep's verify: every LU's identity and views as
// captured (size at most the volume's), and each volume promoted with its
// snapshot, every newer snapshot in its kept dataset (zvol.VerifyKept).
func (s *sagaSteps) verifyKept() engine.Step {
	st := engine.Step{Name: "verify",
		Description: "LU online with the captured identity (size at most the volume's), views equal; the volume promoted, owning its snapshot, and every newer snapshot in the kept dataset"}
	z := s.zfs(nil)
	c := s.b.stmf(nil)
	for _, id := range s.op.Volumes() {
		if len(id.LUs) > 0 && id.SnapshotVolsize == 0 {
			st.Planned = append(st.Planned, z.GetArgv(id.Volume, "volsize"))
		}
		for _, lu := range id.LUs {
			st.Planned = append(st.Planned, c.LookupLUArgv(lu.GUID), c.ListViewArgv(lu.GUID))
		}
		st.Planned = append(st.Planned, zvol.VerifyKeptPlanned(z, id)...)
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		for _, id := range s.op.Volumes() {
			var volsize uint64
			if len(id.LUs) > 0 {
				var err error
				if volsize, err = zvol.VolsizeAfter(ctx, s.zfs(x.Run), id); err != nil {
					return err
				}
			}
			for _, lu := range id.LUs {
				if err := s.verifyLU(ctx, x, afterRollback(volsize, lu)); err != nil {
					return err
				}
			}
			if err := zvol.VerifyKept(ctx, s.zfs(x.Run), id); err != nil {
				return err
			}
		}
		return nil
	}
	return st
}
