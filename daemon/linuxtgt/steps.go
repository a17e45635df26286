package linuxtgt

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// Tuning of the waits inside steps. Variables so tests can shorten them.
var (
	// lunActiveRetries and lunActiveDelay bound the retry of an LU delete that
	// tgtd refuses while SCSI commands are in flight (docs/platform/linux-tgt.md
	// §4.4: 12 refusals in a tight loop under streaming writes).
	lunActiveRetries = 20
	lunActiveDelay   = 250 * time.Millisecond
	// nexusWait is how long a dropped connection may take to leave the
	// I_T nexus list (docs/platform/linux-tgt.md §7.3: gone after a second).
	nexusWait = 5 * time.Second
)

// Steps implements engine.Backend. The list depends only on the journaled
// identity and options, so recovery rebuilds exactly the steps it ran.
func (b *Backend) Steps(op *store.Operation) []engine.Step {
	s := &sagaSteps{b: b, op: op}
	if isForget(op) {
		return s.destroyKept()
	}
	if op.Identity.Unchanged {
		// Nothing to roll back (zvol.ProvedUnchanged): no LU goes; the
		// step checks it still holds.
		return []engine.Step{zvol.UnchangedStep(b.zfs, op.Identity)}
	}
	for _, l := range op.Identity.LUs {
		d, err := fromStoreLU(l)
		if err != nil {
			s.bad = err
			continue
		}
		s.lus = append(s.lus, d)
	}
	s.targets = targetsOf(s.lus)
	var steps []engine.Step
	has := len(op.Identity.LUs) > 0
	if keeps(op.Options) {
		return s.keepSteps(has)
	}
	if has {
		steps = append(steps, s.unbind(), s.deleteLUs())
	}
	steps = append(steps, s.rollback())
	if has {
		steps = append(steps, s.createLUs(), s.restoreIdentity(), s.rebind())
	}
	return append(steps, s.verify())
}

type sagaSteps struct {
	b       *Backend
	op      *store.Operation
	lus     []lu
	targets []target
	// bad is a journal this backend cannot decode: every step that needs
	// the LUs fails with it, permanently.
	bad error
}

// eachLU is a step function that checks the capture is usable, then runs fn
// for every captured LU in turn.
func (s *sagaSteps) eachLU(fn func(ctx context.Context, x *engine.Exec, l lu) error) func(context.Context, *engine.Exec) error {
	return func(ctx context.Context, x *engine.Exec) error {
		if err := s.check(); err != nil {
			return err
		}
		for _, l := range s.lus {
			if err := fn(ctx, x, l); err != nil {
				return err
			}
		}
		return nil
	}
}

func (s *sagaSteps) check() error {
	if s.bad != nil {
		return engine.Permanent(s.bad)
	}
	return nil
}

// present reads tgtd's targets and returns the one with tid, checking it is
// still the captured target (a tgtd restart forgets everything,
// docs/platform/linux-tgt.md §8).
func (s *sagaSteps) present(ctx context.Context, x *engine.Exec, tid int, name string) (tgt.Target, error) {
	ts, err := s.b.show(ctx, x.Run)
	if err != nil {
		return tgt.Target{}, err
	}
	t, ok := tgt.Find(ts, tid)
	if !ok {
		return t, engine.Permanent(fmt.Errorf("target %d (%s) is gone from tgtd (restarted?): re-create it with its ACL, then run volctl recover", tid, name))
	}
	if t.Name != name {
		return t, engine.Permanent(fmt.Errorf("target %d is %s now, not %s", tid, t.Name, name))
	}
	return t, nil
}

func (s *sagaSteps) unbind() engine.Step {
	c := s.b.tgt(nil)
	accept := s.op.Options.AcceptSessions
	desc := "remove the ACL rules of the LUs' targets, so that no initiator logs in while an LU lacks its identity"
	if accept {
		desc += ", and drop their connections (--accept-sessions)"
	}
	st := engine.Step{Name: "unbind-initiators", Description: desc}
	for _, t := range s.targets {
		for _, r := range t.ACL {
			st.Planned = append(st.Planned, c.UnbindArgv(t.TID, r))
		}
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		if err := s.check(); err != nil {
			return err
		}
		c := s.b.tgt(x.Run)
		for _, tg := range s.targets {
			t, err := s.present(ctx, x, tg.TID, tg.Name)
			if err != nil {
				return err
			}
			// Every rule present, not just the captured ones: fencing means
			// nobody new gets in (docs/platform/linux-tgt.md §7.4).
			for _, r := range t.ACL {
				if err := c.Unbind(ctx, tg.TID, r); err != nil && !tgt.IsACLNotExist(execx.Stderr(err)) {
					return fmt.Errorf("unbind %s from target %s: %w", r.Rule, tg.Name, err)
				}
				if !slices.ContainsFunc(tg.ACL, func(w tgt.ACLRule) bool { return w.Rule == r.Rule }) {
					x.Note("target %s: rule %s was added after the capture; it is removed and not restored", tg.Name, r.Rule)
				}
			}
			if len(t.Nexuses) > 0 && accept {
				for _, n := range t.Nexuses {
					for _, cn := range n.Connections {
						if err := c.DeleteConn(ctx, tg.TID, n.ID, cn.CID); err != nil && !tgt.IsNoSession(execx.Stderr(err)) {
							return fmt.Errorf("drop connection %d of session %d (%s) on target %s: %w", cn.CID, n.ID, n.Initiator, tg.Name, err)
						}
					}
				}
			}
			if err := s.waitFenced(ctx, x, tg, accept); err != nil {
				return err
			}
		}
		return nil
	}
	st.Undo = s.restoreACLs
	return st
}

// restoreACLs gives every target its captured ACL rules back: the unbind
// step's undo and the rebind step are the same convergent act.
func (s *sagaSteps) restoreACLs(ctx context.Context, x *engine.Exec) error {
	if err := s.check(); err != nil {
		return err
	}
	for _, tg := range s.targets {
		if err := s.ensureACL(ctx, x, tg); err != nil {
			return err
		}
	}
	return nil
}

// waitFenced reads the target back: no ACL rule, and no session (sessions
// leave asynchronously after their connection is dropped).
func (s *sagaSteps) waitFenced(ctx context.Context, x *engine.Exec, tg target, accept bool) error {
	deadline := time.Now().Add(nexusWait)
	for {
		t, err := s.present(ctx, x, tg.TID, tg.Name)
		if err != nil {
			return err
		}
		if len(t.ACL) > 0 {
			return fmt.Errorf("target %s still has ACL rules after unbind: %v", tg.Name, t.ACL)
		}
		if len(t.Nexuses) == 0 {
			return nil
		}
		if !accept {
			return fmt.Errorf("an initiator (%s) connected to target %s after the capture, and without consent accept_sessions it is not dropped",
				t.Nexuses[0].Initiator, tg.Name)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("target %s still has sessions %d s after their connections were dropped", tg.Name, int(nexusWait/time.Second))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ensureACL binds the captured rules that are missing, in the captured
// order (tgtd lists address rules first, then names, each in bind order),
// and reads them back.
func (s *sagaSteps) ensureACL(ctx context.Context, x *engine.Exec, tg target) error {
	t, err := s.present(ctx, x, tg.TID, tg.Name)
	if err != nil {
		return err
	}
	c := s.b.tgt(x.Run)
	for _, r := range missingRules(tg.ACL, t.ACL) {
		if err := c.Bind(ctx, tg.TID, r); err != nil && !tgt.IsACLExists(execx.Stderr(err)) {
			return fmt.Errorf("bind %s %s to target %s: %w", r.Kind, r.Rule, tg.Name, err)
		}
	}
	if t, err = s.present(ctx, x, tg.TID, tg.Name); err != nil {
		return err
	}
	if m := missingRules(tg.ACL, t.ACL); len(m) > 0 {
		return fmt.Errorf("target %s lacks ACL rules %v after bind", tg.Name, m)
	}
	return nil
}

func (s *sagaSteps) deleteLUs() engine.Step {
	c := s.b.tgt(nil)
	st := engine.Step{Name: "delete-lu", OutageWindow: true,
		Description: "delete the LUs, so that tgtd closes the backing store before its data changes"}
	for _, l := range s.lus {
		st.Planned = append(st.Planned, c.DeleteLUArgv(l.TID, l.LUN))
	}
	st.Do = s.eachLU(s.deleteLU)
	st.Undo = s.eachLU(func(ctx context.Context, x *engine.Exec, l lu) error {
		if err := s.ensureLU(ctx, x, l); err != nil {
			return err
		}
		return s.ensureIdentity(ctx, x, l)
	})
	return st
}

// deleteLU deletes a captured LU unless it is gone already, retrying while
// tgtd says it is still active (commands in flight,
// docs/platform/linux-tgt.md §4.4).
func (s *sagaSteps) deleteLU(ctx context.Context, x *engine.Exec, l lu) error {
	t, err := s.present(ctx, x, l.TID, l.Target)
	if err != nil {
		return err
	}
	u, ok := t.FindLUN(l.LUN)
	if !ok {
		return nil
	}
	if u.BackingPath != l.Spec.Path {
		return engine.Permanent(fmt.Errorf("LUN %d of target %s is backed by %s now, not %s: not touching it", l.LUN, l.Target, u.BackingPath, l.Spec.Path))
	}
	c := s.b.tgt(x.Run)
	for attempt := 1; ; attempt++ {
		err := c.DeleteLU(ctx, l.TID, l.LUN)
		switch {
		case err == nil || tgt.IsNoLUN(execx.Stderr(err)):
			return nil
		case tgt.IsLUNActive(execx.Stderr(err)) && attempt < lunActiveRetries:
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(lunActiveDelay):
			}
		default:
			return fmt.Errorf("delete LU %s: %w", l.name(), err)
		}
	}
}

// ensureLU creates the LU with its captured LUN and backing store unless
// tgtd has it already (a retry, a resumed operation). tgtd gives it the
// default identity; ensureIdentity follows.
func (s *sagaSteps) ensureLU(ctx context.Context, x *engine.Exec, l lu) error {
	t, err := s.present(ctx, x, l.TID, l.Target)
	if err != nil {
		return err
	}
	if u, ok := t.FindLUN(l.LUN); ok {
		if u.BackingPath != l.Spec.Path {
			return engine.Permanent(fmt.Errorf("LUN %d of target %s is taken by %s, not %s", l.LUN, l.Target, u.BackingPath, l.Spec.Path))
		}
		return nil
	}
	err = s.b.tgt(x.Run).NewLU(ctx, l.TID, l.LUN, l.Spec)
	if err != nil && !tgt.IsLUNExists(execx.Stderr(err)) {
		if tgt.Classify(execx.Stderr(err)) == tgt.ErrnoInvalidRequest {
			return fmt.Errorf("re-create LU %s on %s: %w (tgtd says why only in its own log: a backing file missing after the rollback, i.e. it did not exist at the snapshot, is one cause)",
				l.name(), l.Spec.Path, err)
		}
		return fmt.Errorf("re-create LU %s on %s: %w", l.name(), l.Spec.Path, err)
	}
	if t, err = s.present(ctx, x, l.TID, l.Target); err != nil {
		return err
	}
	if u, ok := t.FindLUN(l.LUN); !ok || u.BackingPath != l.Spec.Path {
		return fmt.Errorf("LU %s is not there after tgtadm new exited 0", l.name())
	}
	return nil
}

// ensureIdentity sets what differs from the captured identity with one
// --op update --params and reads it back (docs/platform/linux-tgt.md §4.2,
// §10).
func (s *sagaSteps) ensureIdentity(ctx context.Context, x *engine.Exec, l lu) error {
	t, err := s.present(ctx, x, l.TID, l.Target)
	if err != nil {
		return err
	}
	u, ok := t.FindLUN(l.LUN)
	if !ok {
		return fmt.Errorf("LU %s is missing", l.name())
	}
	if ps := identityParams(l, u); len(ps) > 0 {
		if err := s.b.tgt(x.Run).UpdateLU(ctx, l.TID, l.LUN, ps); err != nil {
			return fmt.Errorf("restore the identity of LU %s: %w", l.name(), err)
		}
		if t, err = s.present(ctx, x, l.TID, l.Target); err != nil {
			return err
		}
		if u, ok = t.FindLUN(l.LUN); !ok {
			return fmt.Errorf("LU %s is missing after update", l.name())
		}
	}
	return compareLU(l, t, u)
}

// rollback is zvol's rollback step. zfs rolls back under open files and zvols
// without complaint (docs/platform/linux-tgt.md §9.1): unlike COMSTAR's
// "busy" there is no proof from zfs that the LUs are gone, so it is read from
// tgtd first.
func (s *sagaSteps) rollback() engine.Step {
	id := s.op.Identity
	st := zvol.Step(s.b.zfs(nil), s.op)
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		if err := s.check(); err != nil {
			return err
		}
		if len(s.lus) > 0 {
			ts, err := s.b.show(ctx, x.Run)
			if err != nil {
				return err
			}
			for _, l := range s.lus {
				if t, ok := tgt.Find(ts, l.TID); ok {
					if u, ok := t.FindLUN(l.LUN); ok && u.BackingPath == l.Spec.Path {
						return fmt.Errorf("LU %s still serves %s: not rolling back under it", l.name(), l.Spec.Path)
					}
				}
			}
		}
		z := s.b.zfs(x.Run)
		if err := z.Rollback(ctx, id.Snapshot, zvol.DestroysNewer(s.op)); err != nil {
			return err
		}
		// Catch a rollback that exits 0 and does nothing (OpenZFS #13365)
		// now, while no LU serves the volume: read after the LUs are back,
		// an initiator's writes would make a good rollback look undone.
		// That is engine.ErrNotCommitted, as the Solaris verify reports a
		// newer snapshot left.
		return zvol.CheckRolledBack(ctx, z, s.op)
	}
	st.Check = func(ctx context.Context, x *engine.Exec) (bool, error) {
		return zvol.RolledBack(ctx, s.b.zfs(x.Run), s.op)
	}
	return st
}

func (s *sagaSteps) createLUs() engine.Step {
	c := s.b.tgt(nil)
	st := engine.Step{Name: "create-lu", OutageWindow: true,
		Description: "re-create each LU with its LUN and backing store (tgtd gives it a default identity; no initiator can log in yet)"}
	for _, l := range s.lus {
		st.Planned = append(st.Planned, c.NewLUArgv(l.TID, l.LUN, l.Spec))
	}
	st.Do = s.eachLU(s.ensureLU)
	return st
}

func (s *sagaSteps) restoreIdentity() engine.Step {
	c := s.b.tgt(nil)
	st := engine.Step{Name: "restore-identity", OutageWindow: true,
		Description: "restore scsi_id, scsi_sn and the LU flags with tgtadm --op update --params, and read them back"}
	for _, l := range s.lus {
		// The plan shows what runs: ensureIdentity updates only where the
		// re-created LU differs, and tgtd gives a new LU its default
		// identity (docs/platform/linux-tgt.md §4.3), so an LU captured
		// with that identity needs no update.
		ps := identityParams(l, tgt.LUN{
			SCSIID: fmt.Sprintf("IET     %04x%04x", l.TID, l.LUN), SCSISN: fmt.Sprintf("beaf%d%d", l.TID, l.LUN), Online: true})
		if len(ps) > 0 {
			st.Planned = append(st.Planned, c.UpdateLUArgv(l.TID, l.LUN, ps))
		}
	}
	st.Do = s.eachLU(s.ensureIdentity)
	return st
}

func (s *sagaSteps) rebind() engine.Step {
	c := s.b.tgt(nil)
	st := engine.Step{Name: "rebind-initiators", OutageWindow: true,
		Description: "give the targets their ACL rules back, now that every LU has its identity"}
	for _, t := range s.targets {
		for _, r := range t.ACL {
			st.Planned = append(st.Planned, c.BindArgv(t.TID, r))
		}
	}
	st.Do = s.restoreACLs
	return st
}

func (s *sagaSteps) verify() engine.Step {
	st := engine.Step{Name: "verify",
		Description: "each LU with its captured identity, LUN and backing store, the ACL rules back (whether the rollback took effect was read right after it, while no LU served the volume)"}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		if err := s.check(); err != nil {
			return err
		}
		if len(s.lus) > 0 {
			ts, err := s.b.show(ctx, x.Run)
			if err != nil {
				return err
			}
			for _, l := range s.lus {
				t, ok := tgt.Find(ts, l.TID)
				if !ok {
					return fmt.Errorf("target %d (%s) is missing", l.TID, l.Target)
				}
				u, ok := t.FindLUN(l.LUN)
				if !ok {
					return fmt.Errorf("LU %s is missing", l.name())
				}
				if err := compareLU(l, t, u); err != nil {
					return err
				}
			}
			for _, tg := range s.targets {
				t, _ := tgt.Find(ts, tg.TID)
				if m := missingRules(tg.ACL, t.ACL); len(m) > 0 {
					return fmt.Errorf("target %s lacks ACL rules %v", tg.Name, m)
				}
			}
		}
		return nil
	}
	return st
}
