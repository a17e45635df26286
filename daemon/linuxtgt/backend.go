// Package linuxtgt is the Linux backend: ZFS (OpenZFS, or zfs-fuse 0.7)
// exported over iSCSI by tgt (tgtd, tgtadm). A volume is a zvol
// (/dev/zvol/POOL/VOL, OpenZFS) or a filesystem dataset whose files back
// LUs (zfs-fuse has no zvols); the rollback target is that dataset's
// snapshot. It captures every LU on the volume with its identity and its
// target's initiator bindings, and builds the rollback saga from the zfs
// and tgt adapters.
//
// The saga, and why each step is where it is (spec linux-tgt-zfs.md §10):
//
//	unbind-initiators  remove every ACL rule of the LUs' targets (and, with
//	                   consent, drop their connections), so that no initiator
//	                   can log in and see an LU without its identity: tgtd
//	                   creates LUs with a default identity (§3.1, §3.3)
//	delete-lu          delete the LUs: tgtd closes the backing files, so the
//	                   rollback does not change data under an open LU (§8.9)
//	rollback           zfs rollback (the point of no return)
//	create-lu          re-create each LU with the same tid, LUN and backing store
//	restore-identity   --op update --params scsi_id,scsi_sn,... and read back
//	rebind-initiators  only now give the ACL back
//	verify             identity, bindings, and "no change since the snapshot"
//
// Before the rollback a failure compensates backwards (re-create, restore,
// rebind); after it the engine rolls forward.
package linuxtgt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/tgt"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

// Paths are the absolute paths of the platform commands, and how to reach
// tgtd.
type Paths struct {
	Zfs, Tgtadm string
	// TgtControlPort is tgtd's management port (tgtd -C N); empty for the
	// default tgtd.
	TgtControlPort string
}

// DefaultPaths are where Debian's zfs-fuse / zfsutils-linux and tgt
// packages install them.
var DefaultPaths = Paths{Zfs: "/usr/sbin/zfs", Tgtadm: "/usr/sbin/tgtadm"}

// Tuning of the waits inside steps. Variables so tests can shorten them.
var (
	// lunActiveRetries and lunActiveDelay bound the retry of an LU delete
	// that tgtd refuses while SCSI commands are in flight (spec §3.4: 12
	// refusals in a tight loop under streaming writes).
	lunActiveRetries = 20
	lunActiveDelay   = 250 * time.Millisecond
	// nexusWait is how long a dropped connection may take to leave the
	// I_T nexus list (spec §6.3: gone after a second).
	nexusWait = 5 * time.Second
)

// Backend is the Linux tgt + ZFS backend.
type Backend struct {
	Paths Paths

	mu   sync.Mutex
	feat *zfs.Features // what the installed zfs supports, once probed
}

// New returns a backend using the given command paths.
func New(p Paths) *Backend { return &Backend{Paths: p} }

// Name implements engine.Backend.
func (b *Backend) Name() string { return "linux-tgt" }

func (b *Backend) zfs(run execx.RunFunc) zfs.Cmd { return zfs.Cmd{Path: b.Paths.Zfs, Run: run} }
func (b *Backend) tgt(run execx.RunFunc) tgt.Cmd {
	return tgt.Cmd{Path: b.Paths.Tgtadm, Control: b.Paths.TgtControlPort, Run: run}
}

// Probe implements engine.Backend: what the installed zfs supports
// (zfs-fuse: no list -p, no written@), with the same probes as the Solaris
// backend's zfs part.
func (b *Backend) Probe(ctx context.Context, run execx.RunFunc) (store.Capabilities, error) {
	f, err := b.zfs(run).Probe(ctx)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.feat = &f
	b.mu.Unlock()
	return f.Capabilities(), nil
}

// features is what Probe found; the engine probes before any capture or
// step runs.
func (b *Backend) features() (zfs.Features, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.feat == nil {
		return zfs.Features{}, fmt.Errorf("the host's zfs was not probed yet: %w", engine.ErrUnavailable)
	}
	return *b.feat, nil
}

// VolumeOf validates a volume or snapshot name and returns the volume.
func (b *Backend) VolumeOf(name string) (string, error) {
	vol, err := zfs.VolumeOf(name)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, engine.ErrInvalid)
	}
	return vol, nil
}

// tree reads vol and everything below it (children, snapshots).
func (b *Backend) tree(ctx context.Context, run execx.RunFunc, vol string) (zfs.Info, []zfs.Info, error) {
	infos, err := b.zfs(run).Infos(ctx, -1, vol)
	if err != nil {
		if zfs.IsNotExist(execx.Stderr(err)) {
			return zfs.Info{}, nil, fmt.Errorf("volume %s does not exist: %w", vol, engine.ErrNotFound)
		}
		return zfs.Info{}, nil, fmt.Errorf("look up volume %s: %w", vol, err)
	}
	for _, d := range infos {
		if d.Name == vol {
			if d.Type != "volume" && d.Type != "filesystem" {
				return d, nil, fmt.Errorf("%s is a %s, not a volume or filesystem: %w", vol, d.Type, engine.ErrInvalid)
			}
			return d, infos, nil
		}
	}
	return zfs.Info{}, nil, fmt.Errorf("volume %s does not exist: %w", vol, engine.ErrNotFound)
}

// show lists tgtd's targets.
func (b *Backend) show(ctx context.Context, run execx.RunFunc) ([]tgt.Target, error) {
	ts, err := b.tgt(run).Show(ctx)
	if err != nil {
		if tgt.IsNotConnected(execx.Stderr(err)) {
			return nil, fmt.Errorf("tgtd does not answer (is it running; is the control port right?): %w", err)
		}
		return nil, fmt.Errorf("list tgt targets: %w", err)
	}
	return ts, nil
}

// onVolume is one LU found on a volume, with its target.
type onVolume struct {
	t    tgt.Target
	u    tgt.LUN
	kind string
}

// lusOn finds every LU (LUN 0, the controller, never has a backing store)
// whose backing store is on ds.
func lusOn(ts []tgt.Target, ds zfs.Info, tree []zfs.Info) []onVolume {
	var out []onVolume
	for _, t := range ts {
		for _, u := range t.LUNs {
			if kind, ok := backs(u.BackingPath, ds, tree); ok {
				out = append(out, onVolume{t, u, kind})
			}
		}
	}
	return out
}

// Capture implements engine.Backend: validate, resolve the snapshot and the
// newer ones, capture the LUs and their targets' bindings, and refuse what
// needs consent.
func (b *Backend) Capture(ctx context.Context, run execx.RunFunc, snapshot string, opts store.Options) (store.Identity, []string, error) {
	vol, snap, err := zfs.SplitSnapshot(snapshot)
	if err != nil {
		return store.Identity{}, nil, fmt.Errorf("%v: %w", err, engine.ErrInvalid)
	}
	id := store.Identity{Volume: vol, Snapshot: snapshot}
	ds, tree, err := b.tree(ctx, run, vol)
	if err != nil {
		return id, nil, err
	}
	id.Volsize = ds.Volsize
	snaps := zfs.SnapshotsOf(tree, vol)
	at := slices.IndexFunc(snaps, func(s zfs.Info) bool { return s.Name == snapshot })
	if at < 0 {
		return id, nil, fmt.Errorf("snapshot %s does not exist (volctl snapshots %s lists them): %w", snapshot, vol, engine.ErrNotFound)
	}
	var held []string
	for _, s := range snaps[at+1:] {
		id.NewerSnapshots = append(id.NewerSnapshots, s.Name)
		if s.Userrefs > 0 {
			held = append(held, s.Name)
		}
	}
	if len(id.NewerSnapshots) > 0 && !opts.DestroyNewer {
		return id, nil, fmt.Errorf("rolling back to %s destroys the newer snapshots %s; pass --destroy-newer to allow that: %w",
			snapshot, strings.Join(id.NewerSnapshots, ", "), engine.ErrPrecondition)
	}
	if len(held) > 0 {
		// rollback -r destroys the newer snapshots one by one and stops at a
		// held one, after the others are gone (spec §8.5).
		return id, nil, fmt.Errorf("the newer snapshots %s have user holds: zfs rollback -r would destroy the others and then fail; release the holds first: %w",
			strings.Join(held, ", "), engine.ErrPrecondition)
	}
	feat, err := b.features()
	if err != nil {
		return id, nil, err
	}
	var warnings []string
	if feat.Written {
		if id.WrittenBefore, err = b.zfs(run).Written(ctx, vol, snap); err != nil {
			return id, nil, fmt.Errorf("read written@%s of %s: %w", snap, vol, err)
		}
	} else {
		// zfs-fuse: the snapshot's used is the signal (spec §8.11).
		id.WrittenBefore = snaps[at].Used
	}

	ts, err := b.show(ctx, run)
	if err != nil {
		return id, nil, err
	}
	found := lusOn(ts, ds, tree)
	tids := map[int]bool{}
	for _, f := range found {
		if f.u.LUN == 0 || f.u.Type != "disk" {
			return id, nil, fmt.Errorf("LUN %d of target %s (%s) is a %s: volctl restores disk LUs only: %w",
				f.u.LUN, f.t.Name, f.u.BackingPath, f.u.Type, engine.ErrPrecondition)
		}
		for _, p := range []struct{ k, v string }{{"scsi_id", f.u.SCSIID}, {"scsi_sn", f.u.SCSISN}} {
			if err := tgt.ValidateParam(p.k, p.v, 0); err != nil {
				return id, nil, fmt.Errorf("LUN %d of target %s: %v: it could not be restored after the rollback: %w",
					f.u.LUN, f.t.Name, err, engine.ErrPrecondition)
			}
		}
		id.LUs = append(id.LUs, toStoreLU(f.t, f.u, f.kind))
		tids[f.t.TID] = true
	}
	for _, t := range ts {
		if !tids[t.TID] {
			continue
		}
		if len(t.Nexuses) > 0 {
			var who []string
			for _, n := range t.Nexuses {
				who = append(who, fmt.Sprintf("%s (session %d)", n.Initiator, n.ID))
			}
			if !opts.AcceptSessions {
				return id, warnings, fmt.Errorf("initiators are connected to target %s: %s; the rollback changes the data under them. Log them out first, or pass --accept-sessions to drop their connections (they reconnect once the LU is back): %w",
					t.Name, strings.Join(who, ", "), engine.ErrPrecondition)
			}
			warnings = append(warnings, fmt.Sprintf("target %s: the connections of %s are dropped; they may replay queued writes when they reconnect after the rollback, and their caches hold pre-rollback data",
				t.Name, strings.Join(who, ", ")))
		}
		for _, u := range t.LUNs {
			if _, on := backs(u.BackingPath, ds, tree); !on && u.LUN != 0 {
				warnings = append(warnings, fmt.Sprintf("target %s also exports LUN %d (%s), which is not on %s: no new login reaches it while the bindings are removed",
					t.Name, u.LUN, u.BackingPath, vol))
			}
		}
		if len(t.ACL) == 0 {
			warnings = append(warnings, fmt.Sprintf("target %s has no ACL rule: no initiator can log in now, and none will after", t.Name))
		}
	}
	if len(id.LUs) == 0 {
		warnings = append(warnings, fmt.Sprintf("no tgt LU is backed by %s: only the zfs rollback will run", vol))
	} else {
		warnings = append(warnings, "tgtadm does not show vendor_id/product_id: an LU comes back with tgtd's (IET, VIRTUAL-DISK) unless they were the defaults")
	}
	switch {
	case id.WrittenBefore == 0 && feat.Written:
		warnings = append(warnings, fmt.Sprintf("%s has not changed since %s: the rollback changes no data", vol, snapshot))
	case id.WrittenBefore == 0:
		warnings = append(warnings, fmt.Sprintf("%s holds no space of its own (used 0): either %s has not changed since, or its changes are not synced yet; this zfs has no written@, so a rollback that fails is judged by used@ alone",
			snapshot, vol))
	}
	return id, warnings, nil
}

// Steps implements engine.Backend. The list depends only on the journaled
// identity and options, so recovery rebuilds exactly the steps it ran.
func (b *Backend) Steps(op *store.Operation) []engine.Step {
	s := &sagaSteps{b: b, op: op}
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
// still the captured target (a tgtd restart forgets everything, spec §7).
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
			// nobody new gets in (spec §6.3).
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
	st.Undo = func(ctx context.Context, x *engine.Exec) error {
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
	return st
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
			return fmt.Errorf("an initiator (%s) connected to target %s after the capture; pass --accept-sessions to drop it",
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
// tgtd says it is still active (commands in flight, spec §3.4).
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
// --op update --params and reads it back (spec §10.2).
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

func (s *sagaSteps) rollback() engine.Step {
	id := s.op.Identity
	destroy := len(id.NewerSnapshots) > 0 && s.op.Options.DestroyNewer
	z := s.b.zfs(nil)
	desc := "roll " + id.Volume + " back to " + id.Snapshot
	if destroy {
		desc += ", destroying " + strings.Join(id.NewerSnapshots, ", ")
	}
	st := engine.Step{Name: "rollback", Commit: true, OutageWindow: len(id.LUs) > 0, Description: desc,
		Planned: [][]string{z.RollbackArgv(id.Snapshot, destroy)}}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		if err := s.check(); err != nil {
			return err
		}
		// zfs rolls back under open files and zvols without complaint
		// (spec §8.9, §9): unlike COMSTAR's "busy" there is no proof from
		// zfs that the LUs are gone, so read it from tgtd.
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
		if err := s.b.zfs(x.Run).Rollback(ctx, id.Snapshot, destroy); err != nil {
			return err
		}
		// Catch a rollback that exits 0 and does nothing (OpenZFS #13365)
		// now, while no LU serves the volume: read after the LUs are back,
		// an initiator's writes would make a good rollback look undone.
		ok, err := s.rolledBack(ctx, x)
		if err != nil {
			return fmt.Errorf("read back %s after the rollback: %w", id.Volume, err)
		}
		if !ok {
			return fmt.Errorf("zfs rollback exited 0 but %s is not at %s (changed since it, or a newer snapshot is left)", id.Volume, id.Snapshot)
		}
		return nil
	}
	st.Check = func(ctx context.Context, x *engine.Exec) (bool, error) {
		return s.rolledBack(ctx, x)
	}
	return st
}

// rolledBack tells whether the volume is at the snapshot: no newer snapshot
// left and nothing written since it. With written@ (OpenZFS) that is exact.
// Without it (zfs-fuse) the snapshot's used is the signal: 0 right after a
// rollback, and it only grows otherwise, so a used that went from non-zero
// to 0 proves a rollback; when it was 0 before too, the data was (as far as
// zfs had synced) at the snapshot either way (spec §8.11).
func (s *sagaSteps) rolledBack(ctx context.Context, x *engine.Exec) (bool, error) {
	id := s.op.Identity
	z := s.b.zfs(x.Run)
	infos, err := z.Infos(ctx, 1, id.Volume)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", id.Volume, err)
	}
	var snap *zfs.Info
	for _, sn := range zfs.SnapshotsOf(infos, id.Volume) {
		if slices.Contains(id.NewerSnapshots, sn.Name) {
			return false, nil
		}
		if sn.Name == id.Snapshot {
			snap = &sn
		}
	}
	if snap == nil {
		return false, fmt.Errorf("snapshot %s is gone", id.Snapshot)
	}
	if s.op.Capabilities.Has(store.CapWritten) {
		_, name, _ := zfs.SplitSnapshot(id.Snapshot)
		w, err := z.Written(ctx, id.Volume, name)
		if err != nil {
			return false, err
		}
		return w == 0, nil
	}
	return snap.Used == 0, nil
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
		st.Planned = append(st.Planned, c.UpdateLUArgv(l.TID, l.LUN, identityParams(l, tgt.LUN{
			SCSIID: fmt.Sprintf("IET     %04x%04x", l.TID, l.LUN), SCSISN: fmt.Sprintf("beaf%d%d", l.TID, l.LUN), Online: true})))
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
	st.Do = func(ctx context.Context, x *engine.Exec) error {
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
	return st
}

func (s *sagaSteps) verify() engine.Step {
	st := engine.Step{Name: "verify",
		Description: "verify: each LU with its captured identity, LUN and backing store, the ACL rules back (whether the rollback took effect was read right after it, while no LU served the volume)"}
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

// Inventory.

// ListVolumes implements engine.Inventory: every volume and filesystem, with
// the LUs on it.
func (b *Backend) ListVolumes(ctx context.Context, run execx.RunFunc) ([]engine.Volume, error) {
	infos, err := b.zfs(run).Infos(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	ts, err := b.show(ctx, run)
	if err != nil {
		return nil, err
	}
	var out []engine.Volume
	for _, d := range infos {
		if d.Type != "volume" && d.Type != "filesystem" {
			continue
		}
		out = append(out, describe(d, infos, ts))
	}
	return out, nil
}

// GetVolume implements engine.Inventory.
func (b *Backend) GetVolume(ctx context.Context, run execx.RunFunc, name string) (engine.Volume, error) {
	d, tree, err := b.tree(ctx, run, name)
	if err != nil {
		return engine.Volume{}, err
	}
	ts, err := b.show(ctx, run)
	if err != nil {
		return engine.Volume{}, err
	}
	return describe(d, tree, ts), nil
}

func describe(d zfs.Info, tree []zfs.Info, ts []tgt.Target) engine.Volume {
	v := engine.Volume{Name: d.Name, Type: d.Type, Volsize: d.Volsize}
	for _, f := range lusOn(ts, d, tree) {
		v.LUs = append(v.LUs, toStoreLU(f.t, f.u, f.kind))
	}
	v.Snapshots = toSnapshots(zfs.SnapshotsOf(tree, d.Name))
	return v
}

func toSnapshots(snaps []zfs.Info) []engine.Snapshot {
	out := make([]engine.Snapshot, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, engine.Snapshot{Name: s.Name, Creation: time.Unix(s.Creation, 0).UTC(), Used: s.Used, Referenced: s.Referenced})
	}
	return out
}

// Snapshots implements engine.Inventory.
func (b *Backend) Snapshots(ctx context.Context, run execx.RunFunc, vol string) ([]engine.Snapshot, error) {
	infos, err := b.zfs(run).Infos(ctx, 1, vol)
	if err != nil {
		if zfs.IsNotExist(execx.Stderr(err)) {
			return nil, fmt.Errorf("volume %s does not exist: %w", vol, engine.ErrNotFound)
		}
		return nil, fmt.Errorf("list snapshots of %s: %w", vol, err)
	}
	return toSnapshots(zfs.SnapshotsOf(infos, vol)), nil
}

// CreateSnapshot implements engine.Inventory.
func (b *Backend) CreateSnapshot(ctx context.Context, run execx.RunFunc, name string) error {
	vol, _, err := zfs.SplitSnapshot(name)
	if err != nil {
		return fmt.Errorf("%v: %w", err, engine.ErrInvalid)
	}
	if _, _, err := b.tree(ctx, run, vol); err != nil {
		return err
	}
	if err := b.zfs(run).Snapshot(ctx, name); err != nil {
		return fmt.Errorf("snapshot %s: %w", name, err)
	}
	return nil
}

// DestroySnapshot implements engine.Inventory. zfs.Cmd.Destroy refuses
// anything but a snapshot name.
func (b *Backend) DestroySnapshot(ctx context.Context, run execx.RunFunc, name string) error {
	if err := b.zfs(run).Destroy(ctx, name); err != nil {
		return fmt.Errorf("destroy %s: %w", name, err)
	}
	return nil
}
