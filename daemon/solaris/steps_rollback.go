package solaris

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// The commit: one volume's rollback, a group's rollback and
// finish-rollback with its Park, and what says whether a rollback took
// effect.

// rollback is zvol's rollback step. The zvol is busy while an LU holds it,
// so zfs itself proves that the LUs are away; whether a rollback that
// failed without a reason took effect is read from zpool history, and from
// written@ where the host has it and no LU is registered.
func (s *sagaSteps) rollback() engine.Step {
	st := zvol.Step(s.zfs(nil), s.op)
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		return zvol.Rollback(ctx, s.zfs(x.Run), s.op)
	}
	st.Check = func(ctx context.Context, x *engine.Exec) (bool, error) {
		return s.tookEffect(ctx, x, s.op.Identity)
	}
	return st
}

// tookEffect is zvol.TookEffect for one volume of the operation.
func (s *sagaSteps) tookEffect(ctx context.Context, x *engine.Exec, id store.Identity) (bool, error) {
	away := func(ctx context.Context) (bool, error) { return s.lusAway(ctx, x, id.LUs) }
	return zvol.TookEffect(ctx, s.zfs(x.Run), s.b.zpool(x.Run), s.opFor(id), away)
}

// groupRollback is the commit step of a group: every volume rolled back,
// in one outage window. Its Check says whether any took effect: then the
// point of no return is behind, and finish-rollback brings the others
// forward (a group is never left half rolled back, nor undone after one
// volume went back).
func (s *sagaSteps) groupRollback() engine.Step {
	var names []string
	st := engine.Step{Name: "rollback", Commit: true, OutageWindow: len(s.allLUs()) > 0}
	for _, id := range s.op.Volumes() {
		o := s.opFor(id)
		names = append(names, id.Snapshot)
		st.Planned = append(st.Planned, s.zfs(nil).RollbackArgv(id.Snapshot, zvol.DestroysNewer(o)))
	}
	st.Description = "roll the group back: " + strings.Join(names, ", ") + " (the point of no return once one of them took effect)"
	// Side by side (bounded), so the window is about one volume's
	// rollback whatever the group's size. zfs rollbacks of several volumes
	// are not one atomic command (unlike zfs snapshot): when some fail and
	// others took effect, Check says so and finish-rollback goes forward;
	// when all fail, the saga goes backward.
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		ids := s.op.Volumes()
		return permanentIfAll(parallel(len(ids), func(i int) error {
			if err := zvol.Rollback(ctx, s.zfs(x.Run), s.opFor(ids[i])); err != nil {
				return fmt.Errorf("%s: %w", ids[i].Volume, err)
			}
			return nil
		}))
	}
	st.Check = func(ctx context.Context, x *engine.Exec) (bool, error) {
		var errs []error
		for _, id := range s.op.Volumes() {
			took, err := s.tookEffect(ctx, x, id)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", id.Volume, err))
				continue
			}
			if took {
				return true, nil
			}
		}
		return false, errors.Join(errs...)
	}
	return st
}

// finishRollback rolls back, inside the same window, every volume of the
// group whose rollback did not take effect yet (read from zpool history
// as the commit's Check does): after the commit step it only goes
// forward. What it cannot finish it reports volume by volume.
func (s *sagaSteps) finishRollback() engine.Step {
	st := engine.Step{Name: "finish-rollback", OutageWindow: len(s.allLUs()) > 0,
		Description: "roll back every volume of the group that is not at its snapshot yet (zpool history tells), so the group ends at its snapshots together"}
	for _, id := range s.op.Volumes() {
		pool, _, _ := strings.Cut(id.Volume, "/")
		st.Planned = append(st.Planned, s.b.zpool(nil).HistoryArgv(pool))
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		var where []string
		failed := false
		var permanent bool
		for _, id := range s.op.Volumes() {
			if rolledBackIn(x.Op(), id) {
				where = append(where, id.Volume+": at "+id.Snapshot)
				continue
			}
			took, err := s.tookEffect(ctx, x, id)
			if err == nil && took {
				where = append(where, id.Volume+": at "+id.Snapshot)
				continue
			}
			// Run again (a retry, a resume, a recover after the
			// operation was parked): the volume's LUs may be back; they
			// go again first.
			if x.Step().Attempts > 1 {
				if derr := s.takeAway(ctx, x, id); derr != nil {
					failed = true
					permanent = permanent || engine.IsPermanent(derr)
					where = append(where, fmt.Sprintf("%s: NOT rolled back (%v)", id.Volume, derr))
					continue
				}
			}
			// Not rolled back, or not known: rolling back (again) is
			// harmless while no LU serves the volume.
			if rerr := zvol.Rollback(ctx, s.zfs(x.Run), s.opFor(id)); rerr != nil {
				failed = true
				permanent = permanent || engine.IsPermanent(rerr)
				where = append(where, fmt.Sprintf("%s: NOT rolled back (%v)", id.Volume, rerr))
				continue
			}
			where = append(where, id.Volume+": at "+id.Snapshot+" (now)")
		}
		if !failed {
			return nil
		}
		err := fmt.Errorf("the group is partly rolled back: %s", strings.Join(where, "; "))
		if permanent {
			return engine.Permanent(err)
		}
		return err
	}
	st.Park = func(ctx context.Context, x *engine.Exec, _ error) (string, error) { return s.park(ctx, x) }
	return st
}

// takeAway deletes (keeping views) every LU of the volume that is
// registered: finish-rollback run again after the LUs were brought back.
// "resource busy" is permanent, as in delete-lu.
func (s *sagaSteps) takeAway(ctx context.Context, x *engine.Exec, id store.Identity) error {
	for _, lu := range id.LUs {
		got, ok, err := s.b.stmf(x.Run).LookupLU(ctx, lu.GUID)
		if err != nil {
			return fmt.Errorf("read LU %s: %w", lu.GUID, err)
		}
		if !ok || !got.Registered {
			continue
		}
		if err := s.deleteLU(ctx, x, lu); err != nil {
			return err
		}
	}
	return nil
}

// park is finish-rollback's Park: the group is partly rolled back and
// finish-rollback failed for good, so the operation stops for attention
// (issue "No leftovers, no lockouts", 5). No LU stays away while it
// waits: every volume's LU comes back (the rolled-back volumes' and the
// untouched ones') with its captured identity and views, persisted
// (bringBack, as delete-lu's undo), resized and verified as after a
// rollback where the volume is at its snapshot, as captured where it is
// not. The zones stay detached and halted: their disks disagree. The text
// says which volume is where and what to do; recover rolls the rest
// forward (finish-rollback takes the LUs of the volumes not at their
// snapshot away again first).
func (s *sagaSteps) park(ctx context.Context, x *engine.Exec) (string, error) {
	places := s.places(ctx, x)
	held, err := s.bringBackAll(ctx, x)
	if err != nil {
		return "", err
	}
	var vols []string
	for _, p := range places {
		v, err := s.verifyPlace(ctx, x, p)
		if err != nil {
			return "", err
		}
		vols = append(vols, v)
	}
	return s.parkText(x, vols, held), nil
}

// place is where one volume of a parked group is: at its snapshot, not,
// or not known (unknown says why).
type place struct {
	id      store.Identity
	at      bool
	unknown error
}

// places says where each volume is, read while its LUs are still away
// (written@ may tell then).
func (s *sagaSteps) places(ctx context.Context, x *engine.Exec) []place {
	var places []place
	for _, id := range s.op.Volumes() {
		p := place{id: id, at: rolledBackIn(x.Op(), id)}
		if !p.at {
			p.at, p.unknown = s.tookEffect(ctx, x, id)
		}
		places = append(places, p)
	}
	return places
}

// bringBackAll brings every LU of the group back (bringBack, side by
// side); held are those left online but unpersisted.
func (s *sagaSteps) bringBackAll(ctx context.Context, x *engine.Exec) ([]string, error) {
	lus := s.allLUs()
	var mu sync.Mutex
	var held []string
	err := parallel(len(lus), func(i int) error {
		h, err := s.bringBack(ctx, x, lus[i])
		if h {
			mu.Lock()
			held = append(held, lus[i].GUID)
			mu.Unlock()
		}
		return err
	})
	return held, err
}

// verifyPlace resizes and verifies the LUs of a volume at its snapshot as
// after a rollback, those of one that is not as captured, and says where
// the volume is.
func (s *sagaSteps) verifyPlace(ctx context.Context, x *engine.Exec, p place) (string, error) {
	if !p.at {
		for _, lu := range p.id.LUs {
			if err := s.verifyLU(ctx, x, lu); err != nil {
				return "", err
			}
		}
		if p.unknown != nil {
			return fmt.Sprintf("%s: not known whether it is at %s (%v)", p.id.Volume, p.id.Snapshot, p.unknown), nil
		}
		return fmt.Sprintf("%s is still as it was before the operation (not at %s)", p.id.Volume, p.id.Snapshot), nil
	}
	if needsResize(p.id) {
		if err := s.resizeVolume(ctx, x, p.id); err != nil {
			return "", err
		}
	}
	var volsize uint64
	if len(p.id.LUs) > 0 {
		var err error
		if volsize, err = zvol.VolsizeAfter(ctx, s.zfs(x.Run), p.id); err != nil {
			return "", err
		}
	}
	for _, lu := range p.id.LUs {
		if err := s.verifyLU(ctx, x, afterRollback(volsize, lu)); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%s is rolled back to %s", p.id.Volume, p.id.Snapshot), nil
}

// parkText is the attention: where each volume is (vols), the LUs held
// unpersisted, the zones left detached, and what to do.
func (s *sagaSteps) parkText(x *engine.Exec, vols, held []string) string {
	text := fmt.Sprintf("the group is partly rolled back: %s. Every LU of the group is back with its views and persisted", strings.Join(vols, "; "))
	if len(held) > 0 {
		text += fmt.Sprintf(" (LU %s online but not in STMF's persistent store: a delete-lu of it failed \"resource busy\"; recover deletes and imports it again)",
			strings.Join(held, ", "))
	}
	var zs []store.Zone
	for _, z := range s.op.Identity.Zones {
		if wasAttached(z) {
			zs = append(zs, z)
		}
	}
	then := ""
	switch len(zs) {
	case 0:
	case 1:
		text += fmt.Sprintf("; zone %s stays detached (not attached, not booted): its disks disagree", zs[0].Name)
		then = ", then the zone"
	default:
		text += fmt.Sprintf("; zones %s stay detached (not attached, not booted): their disks disagree", zoneNames(zs))
		then = ", then the zones"
	}
	text += fmt.Sprintf(". Fix the cause (step %s's command and stderr: volctl op show %d), then run: volctl recover %d: it takes the LUs of the volumes not at their snapshot away again, rolls those back, and brings the LUs back%s",
		x.Step().Name, s.op.ID, s.op.ID, then)
	return text
}

// rolledBackIn: the commit step's or finish-rollback's own zfs rollback
// of the volume exited 0 (journaled with the step): no need to read zpool
// history for it (nor to roll it back again once its LU is back and
// serving it: see park).
func rolledBackIn(op *store.Operation, id store.Identity) bool {
	for _, st := range op.Steps {
		if st.Name != "rollback" && st.Name != "finish-rollback" {
			continue
		}
		for _, c := range st.Commands {
			if len(c.Argv) > 2 && c.Argv[1] == "rollback" && c.Argv[len(c.Argv)-1] == id.Snapshot && c.Exit == 0 && c.Err == "" {
				return true
			}
		}
	}
	return false
}

// lusAway reports whether none of the LUs is registered.
func (s *sagaSteps) lusAway(ctx context.Context, x *engine.Exec, lus []store.LU) (bool, error) {
	c := s.b.stmf(x.Run)
	for _, lu := range lus {
		got, ok, err := c.LookupLU(ctx, lu.GUID)
		if err != nil {
			return false, fmt.Errorf("read LU %s: %w", lu.GUID, err)
		}
		if ok && got.Registered {
			return false, nil
		}
	}
	return true, nil
}
