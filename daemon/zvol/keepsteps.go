package zvol

// The zfs steps of a rollback that keeps what it replaces, an undo of one,
// and a forget (issue 22, docs/keep.md §3), which both backends share:
// set-aside, clone, bring-back, promote (the commit), finish-promote
// (groups), mark-kept and destroy-kept. Each backend puts its export
// steps (COMSTAR's, tgt's) around them.
//
// Names, for one volume V rolled back to V@S by operation N:
//
//	KEPT     V's kept dataset (Identity.Kept): V renamed aside, with its
//	         data and every snapshot; after the promote it keeps only the
//	         snapshots newer than S, and its origin is V@S.
//	RESTORE  for an undo, the kept dataset that takes V's name back
//	         (Identity.Restore), a clone of V@S.
//
// The states a volume goes through, which every Do and Undo reads before
// it changes anything (so that each is safe to run again after a crash, a
// retry or a recover, and none acts on a state it does not know):
//
//	keep rollback                      undo
//	V, no KEPT           (before)      V, no KEPT, RESTORE of V@S
//	KEPT, no V           set-aside     KEPT, RESTORE of KEPT@S, no V
//	V of KEPT@S, KEPT    clone         V of KEPT@S, KEPT, no RESTORE   bring-back
//	V, KEPT of V@S       promote       V, KEPT of V@S                  promote
//
// ("X of Y": X's origin is Y.) What zfs rename, clone and promote accept
// on each platform is in docs/platform/zfs-clone.md.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/store"
)

// The steps' names.
const (
	StepSetAside      = "set-aside"
	StepClone         = "clone"
	StepBringBack     = "bring-back"
	StepPromote       = "promote"
	StepFinishPromote = "finish-promote"
	StepMarkKept      = "mark-kept"
	StepDestroyKept   = "destroy-kept"
	// StepFinishDestroyKept: a forget of several kept datasets.
	StepFinishDestroyKept = "finish-destroy-kept"
)

// ZfsFor is the zfs command of an operation for a way to run it (nil: for
// the plan's argv), built from the journaled capabilities.
type ZfsFor func(run execx.RunFunc) zfs.Cmd

// dsState is what one read of a dataset says: whether it exists, its
// origin ("" when it is not a clone) and the volctl:kept mark set on it
// ("" when none is set locally).
type dsState struct {
	exists bool
	origin string
	mark   string
	// printed is what zfs printed (stdout, or stderr when it failed), to
	// quote in a refusal.
	printed string
}

// LookArgv is the one read every keep step makes of a dataset: its origin
// and its mark, exact values.
func LookArgv(z zfs.Cmd, ds string) []string { return z.GetArgv(ds, "origin", KeptMarkProp) }

// look reads a dataset (LookArgv). zfs's "dataset does not exist" is the
// only answer taken for "not there"; any other failure, or output without
// both rows for ds, is an error that quotes it (fail closed).
func look(ctx context.Context, z zfs.Cmd, ds string) (dsState, error) {
	res, err := z.Run(ctx, LookArgv(z, ds))
	if err != nil {
		if zfs.IsNotExist(execx.Stderr(err)) {
			return dsState{printed: string(execx.Stderr(err))}, nil
		}
		return dsState{}, fmt.Errorf("read %s: %w", ds, err)
	}
	props, err := zfs.ParseGet(res.Stdout)
	if err != nil {
		return dsState{}, fmt.Errorf("read %s: %w", ds, err)
	}
	st := dsState{exists: true, printed: string(res.Stdout)}
	seen := map[string]bool{}
	for _, p := range props {
		if p.Name != ds {
			return dsState{}, fmt.Errorf("read %s: zfs get printed a row of %q: %q", ds, p.Name, res.Stdout)
		}
		seen[p.Property] = true
		switch p.Property {
		case "origin":
			if p.Value != "-" {
				st.origin = p.Value
			}
		case KeptMarkProp:
			if p.Source == "local" && p.Value != "-" {
				st.mark = p.Value
			}
		}
	}
	if !seen["origin"] || !seen[KeptMarkProp] {
		return dsState{}, fmt.Errorf("read %s: zfs get did not print both origin and %s: %q", ds, KeptMarkProp, res.Stdout)
	}
	return st, nil
}

// readBack reads ds after cmd exited 0 and checks that it is as wanted:
// a command that exits 0 and does nothing is an error (retried where the
// saga retries), never taken for done.
func readBack(ctx context.Context, z zfs.Cmd, ds, cmd string, want func(dsState) bool) error {
	st, err := look(ctx, z, ds)
	if err != nil {
		return fmt.Errorf("read back %s after %s: %w", ds, cmd, err)
	}
	if !want(st) {
		return fmt.Errorf("%s exited 0, but %s", cmd, st.where(ds))
	}
	return nil
}

func exists(s dsState) bool { return s.exists }
func absent(s dsState) bool { return !s.exists }

// cloneOf: the dataset exists and is a clone of snapshot.
func cloneOf(snapshot string) func(dsState) bool {
	return func(s dsState) bool { return s.exists && s.origin == snapshot }
}

// at is ds@S, S being the short name of the volume's snapshot.
func at(ds string, id store.Identity) string {
	_, snap, _ := strings.Cut(id.Snapshot, "@")
	return ds + "@" + snap
}

// where describes a dataset's state for an error.
func (s dsState) where(ds string) string {
	switch {
	case !s.exists:
		return ds + " does not exist"
	case s.origin != "":
		return ds + " is a clone of " + s.origin
	}
	return ds + " exists (not a clone)"
}

// unexpected is the permanent error of a step that finds the datasets in a
// state it did not make and does not know: it changes nothing.
func unexpected(step string, states ...string) error {
	return engine.Permanent(fmt.Errorf("%s: found %s: not a state this operation leaves; nothing was changed, see zfs list -o name,origin", step, strings.Join(states, ", ")))
}

// promoted: KEPT's origin is V@S (the promote took effect).
func promoted(v, kept dsState, id store.Identity) bool {
	return v.exists && kept.exists && kept.origin == at(id.Volume, id)
}

// cloned: V is a clone of KEPT@S (made by clone or brought back by
// bring-back), not yet promoted.
func cloned(v, kept dsState, id store.Identity) bool {
	return v.exists && kept.exists && v.origin == at(id.Kept, id)
}

// SetAside renames the volume to its kept dataset: zfs rename V KEPT (its
// snapshots go with it). Found done: KEPT and no V, or a later step's
// state (V a clone of KEPT@S, or promoted).
func SetAside(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	return setAside(ctx, z, id, nil)
}

// setAside is SetAside with guard (nil: none) asked just before the rename:
// what the backend must know first (its LUs are away: illumos renames a
// volume an LU holds, docs/platform/zfs-clone.md §3).
func setAside(ctx context.Context, z zfs.Cmd, id store.Identity, guard func(store.Identity) error) error {
	v, kept, err := lookBoth(ctx, z, id.Volume, id.Kept)
	if err != nil {
		return err
	}
	switch {
	case v.exists && !kept.exists:
		if guard != nil {
			if err := guard(id); err != nil {
				return err
			}
		}
		if err := z.Rename(ctx, id.Volume, id.Kept); err != nil {
			return fmt.Errorf("set %s aside as %s: %w", id.Volume, id.Kept, err)
		}
		// No read-back here, in the window: a rename that did nothing
		// leaves V and no KEPT, which clone refuses, and the undos find
		// done.
		return nil
	case !v.exists && kept.exists, cloned(v, kept, id), promoted(v, kept, id):
		return nil
	}
	return unexpected(StepSetAside, v.where(id.Volume), kept.where(id.Kept))
}

// UndoSetAside renames the kept dataset back (zfs rename KEPT V), only
// when V does not exist and KEPT does; V back and no KEPT is done.
func UndoSetAside(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	v, kept, err := lookBoth(ctx, z, id.Volume, id.Kept)
	if err != nil {
		return err
	}
	switch {
	case !v.exists && kept.exists:
		if err := z.Rename(ctx, id.Kept, id.Volume); err != nil {
			return fmt.Errorf("rename %s back to %s: %w", id.Kept, id.Volume, err)
		}
		return readBack(ctx, z, id.Volume, "zfs rename "+id.Kept+" "+id.Volume, exists)
	case v.exists && !kept.exists:
		return nil
	}
	return unexpected("undo "+StepSetAside, v.where(id.Volume), kept.where(id.Kept))
}

// Clone creates the volume again as a clone of KEPT@S with the captured
// local properties (zfs clone -o p=v ... KEPT@S V). Found done: V a clone
// of KEPT@S, or promoted.
func Clone(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	v, kept, err := lookBoth(ctx, z, id.Volume, id.Kept)
	if err != nil {
		return err
	}
	switch {
	case !v.exists && kept.exists:
		if err := z.Clone(ctx, at(id.Kept, id), id.Volume, cloneOpts(id)); err != nil {
			return fmt.Errorf("clone %s as %s: %w", at(id.Kept, id), id.Volume, err)
		}
		// No read-back: a clone that did nothing leaves no V, which
		// promote refuses, and the undo finds done.
		return nil
	case cloned(v, kept, id), promoted(v, kept, id):
		return nil
	}
	return unexpected(StepClone, v.where(id.Volume), kept.where(id.Kept))
}

// cloneOpts are the properties zfs clone -o gets: the captured ones but
// refreservation, which zfs refuses above the snapshot's volsize
// (docs/platform/zfs-clone.md §4, §9): refreserve sets it after.
func cloneOpts(id store.Identity) map[string]string {
	out := map[string]string{}
	for k, v := range id.LocalProps {
		if k != "refreservation" {
			out[k] = v
		}
	}
	return out
}

// refreserved is what refreserve gives the clone: its own volsize where
// the volume's refreservation was its volsize (a volume that reserves its
// size, as zfs create -V makes it: libzfs's own rollback keeps it so,
// zfs-clone.md §9), else the captured value. ok is false when the volume
// had no local refreservation (the clone stays sparse, as it was).
func refreserved(id store.Identity) (value string, thick, ok bool) {
	r, ok := id.LocalProps["refreservation"]
	if !ok {
		return "", false, false
	}
	return r, r == strconv.FormatUint(id.Volsize, 10), true
}

// refreserve gives the clone the volume's reservation (refreserved),
// reading its volsize and refreservation first: set only if it differs.
// (An undo's volume is the kept dataset itself, with its own: id.Restore.)
func refreserve(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	want, thick, ok := refreserved(id)
	if !ok || id.Restore != "" {
		return nil
	}
	m, err := z.Get(ctx, id.Volume, "volsize", "refreservation")
	if err != nil {
		return fmt.Errorf("read volsize and refreservation of the clone %s: %w", id.Volume, err)
	}
	if thick {
		want = m["volsize"]
		if _, err := strconv.ParseUint(want, 10, 64); err != nil {
			return fmt.Errorf("volsize of the clone %s: %q is not a number of bytes", id.Volume, want)
		}
	}
	if m["refreservation"] == want {
		return nil
	}
	if err := z.Set(ctx, id.Volume, "refreservation", want); err != nil {
		return fmt.Errorf("reserve the clone %s's space as the volume's was (refreservation=%s): %w", id.Volume, want, err)
	}
	if m, err = z.Get(ctx, id.Volume, "refreservation"); err != nil || m["refreservation"] != want {
		return fmt.Errorf("zfs set refreservation=%s %s exited 0, but it reads %q (%v)", want, id.Volume, m["refreservation"], err)
	}
	return nil
}

// UndoClone destroys the clone (zfs destroy V, no -r) only when V's origin
// is KEPT@S and V carries no kept mark (a kept dataset brought back by an
// undo's bring-back has one; a fresh clone never does: volctl:* is not
// copied). No V is done.
func UndoClone(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	v, kept, err := lookBoth(ctx, z, id.Volume, id.Kept)
	if err != nil {
		return err
	}
	switch {
	case !v.exists, !kept.exists:
		// No clone, or no set-aside either (V is the volume itself).
		return nil
	case cloned(v, kept, id) && v.mark == "":
		if err := z.DestroyClone(ctx, id.Volume); err != nil {
			return fmt.Errorf("destroy the clone %s: %w", id.Volume, err)
		}
		return readBack(ctx, z, id.Volume, "zfs destroy "+id.Volume, absent)
	}
	what := v.where(id.Volume)
	if v.mark != "" {
		what += fmt.Sprintf(" marked %s=%q", KeptMarkProp, v.mark)
	}
	return unexpected("undo "+StepClone, what, kept.where(id.Kept))
}

// BringBack gives the volume's name back to the kept dataset an undo
// restores: zfs rename RESTORE V (after set-aside, RESTORE is a clone of
// KEPT@S). Found done: V a clone of KEPT@S and no RESTORE, or promoted.
func BringBack(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	v, kept, restore, err := lookThree(ctx, z, id)
	if err != nil {
		return err
	}
	switch {
	case !v.exists && restore.exists && kept.exists:
		if err := z.Rename(ctx, id.Restore, id.Volume); err != nil {
			return fmt.Errorf("bring %s back as %s: %w", id.Restore, id.Volume, err)
		}
		return nil // as set-aside's: promote refuses what it did not do
	case !restore.exists && (cloned(v, kept, id) || promoted(v, kept, id)):
		return nil
	}
	return unexpected(StepBringBack, v.where(id.Volume), kept.where(id.Kept), restore.where(id.Restore))
}

// UndoBringBack renames V back to RESTORE (zfs rename V RESTORE), only
// when V is a clone of KEPT@S and RESTORE does not exist; no V and RESTORE
// back is done.
func UndoBringBack(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	v, kept, restore, err := lookThree(ctx, z, id)
	if err != nil {
		return err
	}
	switch {
	case cloned(v, kept, id) && !restore.exists:
		if err := z.Rename(ctx, id.Volume, id.Restore); err != nil {
			return fmt.Errorf("rename %s back to %s: %w", id.Volume, id.Restore, err)
		}
		return readBack(ctx, z, id.Restore, "zfs rename "+id.Volume+" "+id.Restore, exists)
	case restore.exists && (!v.exists || !kept.exists):
		// Brought back already, or never: no set-aside either (a rename
		// that did nothing), so V is the volume itself.
		return nil
	}
	return unexpected("undo "+StepBringBack, v.where(id.Volume), kept.where(id.Kept), restore.where(id.Restore))
}

// Promote promotes the volume (zfs promote V): V takes the snapshots up
// to S from KEPT, and KEPT becomes a clone of V@S. Found done: KEPT's
// origin is V@S.
func Promote(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	v, kept, err := lookBoth(ctx, z, id.Volume, id.Kept)
	if err != nil {
		return err
	}
	switch {
	case promoted(v, kept, id):
		return nil
	case cloned(v, kept, id):
		if err := z.Promote(ctx, id.Volume); err != nil {
			return fmt.Errorf("promote %s: %w", id.Volume, err)
		}
		return readBack(ctx, z, id.Kept, "zfs promote "+id.Volume, cloneOf(at(id.Volume, id)))
	}
	return unexpected(StepPromote, v.where(id.Volume), kept.where(id.Kept))
}

// Promoted is the commit's Check for one volume: KEPT's origin is V@S.
// KEPT missing is an error (nothing tells then).
func Promoted(ctx context.Context, z zfs.Cmd, id store.Identity) (bool, error) {
	kept, err := look(ctx, z, id.Kept)
	if err != nil {
		return false, err
	}
	if !kept.exists {
		return false, fmt.Errorf("cannot tell whether %s was promoted: %s", id.Volume, kept.where(id.Kept))
	}
	return kept.origin == at(id.Volume, id), nil
}

// Mark is what mark-kept sets on the kept dataset of id by op. The
// operation's number is read from its kept suffix (KeptSuffix), which the
// engine sets before the capture: the steps are first built, for the plan,
// before the operation has its id.
func Mark(op *store.Operation, id store.Identity) string {
	n := op.ID
	var fromSuffix uint64
	if _, err := fmt.Sscanf(op.Options.KeptSuffix, ".kept-%d-", &fromSuffix); err == nil && fromSuffix > 0 {
		n = fromSuffix
	}
	return KeptMark(n, id.Volume, id.Snapshot)
}

// MarkKept gives the clone of a keep rollback the volume's reservation
// (refreserve: outside the outage window, where it costs the LU nothing),
// then sets the kept mark on KEPT (zfs set volctl:kept=... KEPT; the
// same value again changes nothing). For an undo it also clears, on the
// volume, the mark it had as the kept dataset it was (zfs inherit): it is
// the volume again, and nothing forgets it.
func MarkKept(ctx context.Context, z zfs.Cmd, op *store.Operation, id store.Identity) error {
	if err := refreserve(ctx, z, id); err != nil {
		return err
	}
	mark := Mark(op, id)
	if err := z.Set(ctx, id.Kept, KeptMarkProp, mark); err != nil {
		return fmt.Errorf("mark %s as kept: %w", id.Kept, err)
	}
	if err := readBack(ctx, z, id.Kept, "zfs set "+KeptMarkProp, func(s dsState) bool { return s.mark == mark }); err != nil {
		return err
	}
	if id.Restore != "" {
		if err := z.Inherit(ctx, id.Volume, KeptMarkProp); err != nil {
			return fmt.Errorf("clear the kept mark of %s (it is the volume again): %w", id.Volume, err)
		}
		return readBack(ctx, z, id.Volume, "zfs inherit "+KeptMarkProp, func(s dsState) bool { return s.exists && s.mark == "" })
	}
	return nil
}

// CheckKept is what a forget's capture asks of each dataset it is to
// destroy: it exists and carries mark (KeptMark of the operation
// forgotten, the volume and its snapshot). A refusal wraps
// engine.ErrPrecondition and quotes the mark found.
func CheckKept(ctx context.Context, z zfs.Cmd, ds, mark string) error {
	st, err := look(ctx, z, ds)
	if err != nil {
		return err
	}
	switch {
	case !st.exists:
		return fmt.Errorf("kept dataset %s does not exist (zfs printed %q): %w", ds, strings.TrimSpace(st.printed), engine.ErrPrecondition)
	case st.mark != mark:
		return fmt.Errorf("%s carries %s=%q, not %q: volctl destroys only what that operation kept: %w",
			ds, KeptMarkProp, st.mark, mark, engine.ErrPrecondition)
	}
	return nil
}

// DestroyKept destroys a kept dataset with its snapshots (zfs destroy -r
// DS) after reading its mark: one that is not mark is refused
// (permanent). Gone already is done.
func DestroyKept(ctx context.Context, z zfs.Cmd, ds, mark string) error {
	if err := checkMark(ctx, z, ds, mark); err != nil {
		return err
	}
	if gone, err := Gone(ctx, z, ds); err != nil || gone {
		return err
	}
	if err := z.DestroyTree(ctx, ds); err != nil {
		return fmt.Errorf("destroy %s: %w", ds, err)
	}
	return readBack(ctx, z, ds, "zfs destroy -r "+ds, absent)
}

// CheckKeptFree is what a capture asks of a kept dataset's name: nothing
// has it yet (a refusal wraps engine.ErrPrecondition).
func CheckKeptFree(ctx context.Context, z zfs.Cmd, kept string) error {
	st, err := look(ctx, z, kept)
	if err != nil {
		return err
	}
	if st.exists {
		return fmt.Errorf("the kept dataset's name %s is taken (zfs get printed %q): volctl will not rename the volume onto it: %w",
			kept, strings.TrimSpace(st.printed), engine.ErrPrecondition)
	}
	return nil
}

// CheckRestore is what an undo's capture asks of the kept dataset it brings
// back (id.Restore): it exists and is a clone of the volume's snapshot
// (id.Snapshot). A refusal quotes what zfs printed and wraps
// engine.ErrPrecondition.
func CheckRestore(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	st, err := look(ctx, z, id.Restore)
	if err != nil {
		return err
	}
	switch {
	case !st.exists:
		return fmt.Errorf("the kept dataset %s to bring back does not exist (zfs printed %q): %w",
			id.Restore, strings.TrimSpace(st.printed), engine.ErrPrecondition)
	case st.origin != id.Snapshot:
		return fmt.Errorf("the kept dataset %s is not a clone of %s (zfs get printed %q): the volume changed since; volctl will not swap it back: %w",
			id.Restore, id.Snapshot, strings.TrimSpace(st.printed), engine.ErrPrecondition)
	}
	return nil
}

// VerifyKeptPlanned are the commands VerifyKept runs.
func VerifyKeptPlanned(z zfs.Cmd, id store.Identity) [][]string {
	return [][]string{LookArgv(z, id.Kept), z.SnapshotsArgv(id.Volume), z.SnapshotsArgv(id.Kept)}
}

// VerifyKept checks, once the volume is promoted, what a keep promises and
// no initiator changes: KEPT is a clone of V@S (the volume owns its
// snapshot again), V has S, and every snapshot that was newer than S is
// in KEPT.
func VerifyKept(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	done, err := Promoted(ctx, z, id)
	if err != nil {
		return err
	}
	if !done {
		return fmt.Errorf("%s is not a clone of %s: %s was not promoted", id.Kept, at(id.Volume, id), id.Volume)
	}
	own, err := z.Snapshots(ctx, id.Volume)
	if err != nil {
		return readError(id.Volume, "list snapshots of "+id.Volume, err)
	}
	if !slices.ContainsFunc(own, func(s zfs.Snapshot) bool { return s.Name == id.Snapshot }) {
		return fmt.Errorf("%s is not among the snapshots of %s after the promote", id.Snapshot, id.Volume)
	}
	kept, err := z.Snapshots(ctx, id.Kept)
	if err != nil {
		return readError(id.Kept, "list snapshots of "+id.Kept, err)
	}
	for _, n := range id.NewerSnapshots {
		_, short, _ := strings.Cut(n, "@")
		if !slices.ContainsFunc(kept, func(s zfs.Snapshot) bool { return s.Name == id.Kept+"@"+short }) {
			return fmt.Errorf("snapshot %s is not in %s as %s@%s", n, id.Kept, id.Kept, short)
		}
	}
	return nil
}

// SwappedBack says whether the volume is the one the capture found again
// (KEPT gone; for an undo, RESTORE back): only then may the compensation
// bring its LUs back. Otherwise the error says where things are, and an
// LU must not serve the name (it would serve another dataset's data).
func SwappedBack(ctx context.Context, z zfs.Cmd, id store.Identity) error {
	v, kept, err := lookBoth(ctx, z, id.Volume, id.Kept)
	if err != nil {
		return err
	}
	states := []string{v.where(id.Volume), kept.where(id.Kept)}
	ok := v.exists && !kept.exists
	if id.Restore != "" {
		restore, err := look(ctx, z, id.Restore)
		if err != nil {
			return err
		}
		states = append(states, restore.where(id.Restore))
		ok = ok && restore.exists
	}
	if !ok {
		return fmt.Errorf("%s is not the volume it was (%s): its LU is not brought back onto it", id.Volume, strings.Join(states, ", "))
	}
	return nil
}

// Gone reports whether ds does not exist (destroy-kept's Check).
func Gone(ctx context.Context, z zfs.Cmd, ds string) (bool, error) {
	st, err := look(ctx, z, ds)
	return err == nil && !st.exists, err
}

func lookBoth(ctx context.Context, z zfs.Cmd, a, b string) (dsState, dsState, error) {
	sa, err := look(ctx, z, a)
	if err != nil {
		return sa, dsState{}, err
	}
	sb, err := look(ctx, z, b)
	return sa, sb, err
}

func lookThree(ctx context.Context, z zfs.Cmd, id store.Identity) (v, kept, restore dsState, err error) {
	if v, kept, err = lookBoth(ctx, z, id.Volume, id.Kept); err != nil {
		return
	}
	restore, err = look(ctx, z, id.Restore)
	return
}

// The steps. Each runs its function for every volume of the operation
// side by side (a group's window is then about one volume's); window says
// whether the backend has them in the outage window (LUs are away).

// keepParallel bounds the volumes a step acts on at once.
const keepParallel = 8

// eachVolume runs fn for every volume, at most keepParallel at once, and
// joins the errors, each naming its volume; the whole is permanent only
// when every error is.
func eachVolume(ids []store.Identity, fn func(id store.Identity) error) error {
	errs := make([]error, len(ids))
	sem := make(chan struct{}, keepParallel)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ids[i]); err != nil {
				errs[i] = err
				if len(ids) > 1 {
					errs[i] = fmt.Errorf("%s: %w", ids[i].Volume, err)
				}
			}
		}()
	}
	wg.Wait()
	return joinVolumes(errs)
}

// joinVolumes joins the volumes' errors: permanent when every one is (one
// worth a retry makes the whole worth one).
func joinVolumes(errs []error) error {
	err := errors.Join(errs...)
	if err == nil {
		return nil
	}
	all := true
	for _, e := range errs {
		if e != nil && !engine.IsPermanent(e) {
			all = false
		}
	}
	switch {
	case all:
		return engine.Permanent(err)
	case engine.IsPermanent(err):
		return retryable{err}
	}
	return err
}

// retryable hides the permanent parts of a joined error that also has
// parts worth a retry.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }

// names joins the volumes' names (or another name of each).
func names(ids []store.Identity, f func(store.Identity) string) string {
	var out []string
	for _, id := range ids {
		out = append(out, f(id))
	}
	return strings.Join(out, ", ")
}

// SetAsideStep is set-aside for every volume: zfs rename V KEPT; its undo
// renames it back.
func SetAsideStep(zfsFor ZfsFor, op *store.Operation, window bool) engine.Step {
	return SetAsideGuarded(zfsFor, op, window, nil)
}

// Guard is a backend's proof, asked just before set-aside renames a
// volume, that nothing holds it any more; Planned are the commands Check
// runs for the volume, for the plan.
type Guard struct {
	Planned func(id store.Identity) [][]string
	Check   func(ctx context.Context, x *engine.Exec, id store.Identity) error
}

// SetAsideGuarded is SetAsideStep whose rename of a volume waits for
// guard to pass (nil: none). A guard that fails stops the step before the
// rename.
func SetAsideGuarded(zfsFor ZfsFor, op *store.Operation, window bool, guard *Guard) engine.Step {
	ids := op.Volumes()
	z := zfsFor(nil)
	st := engine.Step{Name: StepSetAside, OutageWindow: window,
		Description: "rename the volume aside, with its data and every snapshot, to its kept dataset: " +
			names(ids, func(id store.Identity) string { return id.Volume + " to " + id.Kept })}
	for _, id := range ids {
		st.Planned = append(st.Planned, LookArgv(z, id.Volume), LookArgv(z, id.Kept))
		if guard != nil {
			st.Planned = append(st.Planned, guard.Planned(id)...)
		}
		st.Planned = append(st.Planned, z.RenameArgv(id.Volume, id.Kept))
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		var g func(store.Identity) error
		if guard != nil {
			g = func(id store.Identity) error { return guard.Check(ctx, x, id) }
		}
		return eachVolume(ids, func(id store.Identity) error { return setAside(ctx, zfsFor(x.Run), id, g) })
	}
	st.Undo = func(ctx context.Context, x *engine.Exec) error {
		return eachVolume(ids, func(id store.Identity) error { return UndoSetAside(ctx, zfsFor(x.Run), id) })
	}
	return st
}

// CloneStep is clone for every volume: zfs clone -o ... KEPT@S V; its undo
// destroys the clone.
func CloneStep(zfsFor ZfsFor, op *store.Operation, window bool) engine.Step {
	ids := op.Volumes()
	z := zfsFor(nil)
	st := engine.Step{Name: StepClone, OutageWindow: window,
		Description: "create the volume again as a clone of the snapshot, now in the kept dataset, with the volume's local properties: " +
			names(ids, func(id store.Identity) string { return id.Volume + " from " + at(id.Kept, id) })}
	for _, id := range ids {
		st.Planned = append(st.Planned, LookArgv(z, id.Volume), LookArgv(z, id.Kept), z.CloneArgv(at(id.Kept, id), id.Volume, cloneOpts(id)))
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		return eachVolume(ids, func(id store.Identity) error { return Clone(ctx, zfsFor(x.Run), id) })
	}
	st.Undo = func(ctx context.Context, x *engine.Exec) error {
		return eachVolume(ids, func(id store.Identity) error { return UndoClone(ctx, zfsFor(x.Run), id) })
	}
	return st
}

// BringBackStep is an undo's bring-back for every volume: zfs rename
// RESTORE V; its undo renames it back.
func BringBackStep(zfsFor ZfsFor, op *store.Operation, window bool) engine.Step {
	ids := op.Volumes()
	z := zfsFor(nil)
	st := engine.Step{Name: StepBringBack, OutageWindow: window,
		Description: "give the volume's name back to the data operation " + fmt.Sprint(op.Options.Undo) + " kept: " +
			names(ids, func(id store.Identity) string { return id.Restore + " to " + id.Volume })}
	for _, id := range ids {
		st.Planned = append(st.Planned, LookArgv(z, id.Volume), LookArgv(z, id.Kept), LookArgv(z, id.Restore),
			z.RenameArgv(id.Restore, id.Volume))
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		return eachVolume(ids, func(id store.Identity) error { return BringBack(ctx, zfsFor(x.Run), id) })
	}
	st.Undo = func(ctx context.Context, x *engine.Exec) error {
		return eachVolume(ids, func(id store.Identity) error { return UndoBringBack(ctx, zfsFor(x.Run), id) })
	}
	return st
}

// PromoteStep is the commit: zfs promote V for every volume. Its Check:
// KEPT's origin is V@S, for any volume (a group is past the point of no
// return once one volume is promoted; finish-promote does the others).
func PromoteStep(zfsFor ZfsFor, op *store.Operation, window bool) engine.Step {
	ids := op.Volumes()
	z := zfsFor(nil)
	st := engine.Step{Name: StepPromote, Commit: true, OutageWindow: window,
		Description: "promote the volume, the point of no return: it takes the snapshots up to the one it went back to, and the kept dataset keeps the newer ones and the data from before: " +
			names(ids, func(id store.Identity) string { return id.Volume })}
	for _, id := range ids {
		st.Planned = append(st.Planned, LookArgv(z, id.Volume), LookArgv(z, id.Kept), z.PromoteArgv(id.Volume))
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		return eachVolume(ids, func(id store.Identity) error { return Promote(ctx, zfsFor(x.Run), id) })
	}
	st.Check = func(ctx context.Context, x *engine.Exec) (bool, error) {
		var errs []error
		for _, id := range ids {
			done, err := Promoted(ctx, zfsFor(x.Run), id)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if done {
				return true, nil
			}
		}
		return false, errors.Join(errs...)
	}
	return st
}

// FinishPromoteStep is a group's finish-promote, after the commit: every
// volume not promoted yet is promoted, forward only; what it cannot do it
// reports volume by volume, naming where each is and its kept dataset.
func FinishPromoteStep(zfsFor ZfsFor, op *store.Operation, window bool) engine.Step {
	ids := op.Volumes()
	z := zfsFor(nil)
	st := engine.Step{Name: StepFinishPromote, OutageWindow: window,
		Description: "promote every volume of the group that is not promoted yet, so the group ends at its snapshots together"}
	for _, id := range ids {
		st.Planned = append(st.Planned, LookArgv(z, id.Volume), LookArgv(z, id.Kept))
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		var where []string
		failed := make([]error, len(ids))
		for i, id := range ids {
			if err := Promote(ctx, zfsFor(x.Run), id); err != nil {
				failed[i] = err
				where = append(where, fmt.Sprintf("%s: NOT promoted (%v); its data before is in %s", id.Volume, err, id.Kept))
				continue
			}
			where = append(where, fmt.Sprintf("%s: at %s, its data before in %s", id.Volume, id.Snapshot, id.Kept))
		}
		if joinVolumes(failed) == nil {
			return nil
		}
		err := fmt.Errorf("the group is partly promoted: %s", strings.Join(where, "; "))
		if engine.IsPermanent(joinVolumes(failed)) {
			return engine.Permanent(err)
		}
		return err
	}
	return st
}

// MarkKeptStep is mark-kept for every volume: zfs set volctl:kept=MARK
// KEPT (and, for an undo, zfs inherit volctl:kept V).
func MarkKeptStep(zfsFor ZfsFor, op *store.Operation) engine.Step {
	ids := op.Volumes()
	z := zfsFor(nil)
	st := engine.Step{Name: StepMarkKept,
		Description: "mark the kept dataset as this operation's (" + KeptMarkProp + "): a forget acts only on a dataset with the mark of the operation it forgets; a clone of a volume that reserved its size reserves its own"}
	for _, id := range ids {
		if want, thick, ok := refreserved(id); ok {
			if thick {
				want = "<the clone's volsize>"
				if id.SnapshotVolsize > 0 {
					want = strconv.FormatUint(id.SnapshotVolsize, 10)
				}
			}
			st.Planned = append(st.Planned, z.GetArgv(id.Volume, "volsize", "refreservation"), z.SetArgv(id.Volume, "refreservation", want))
		}
		st.Planned = append(st.Planned, z.SetArgv(id.Kept, KeptMarkProp, Mark(op, id)))
		if id.Restore != "" {
			st.Planned = append(st.Planned, z.InheritArgv(id.Volume, KeptMarkProp))
		}
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		return eachVolume(ids, func(id store.Identity) error { return MarkKept(ctx, zfsFor(x.Run), op, id) })
	}
	return st
}

// forgotten is a dataset a forget destroys and the mark it must carry.
type forgotten struct{ ds, mark string }

// forgets are what op forgets: each of its volumes' kept dataset (the
// engine fills Kept from the kept records) with the mark of the operation
// forgotten for that volume and snapshot.
// ForgetMarks are the kept datasets a forget destroys, each with the
// mark it must carry (KeptMark of the forgotten operation, its volume and
// snapshot).
func ForgetMarks(op *store.Operation) map[string]string {
	m := map[string]string{}
	for _, f := range forgets(op) {
		m[f.ds] = f.mark
	}
	return m
}

func forgets(op *store.Operation) []forgotten {
	var out []forgotten
	for _, id := range op.Volumes() {
		if id.Kept != "" {
			out = append(out, forgotten{id.Kept, KeptMark(op.Options.Forget, id.Volume, id.Snapshot)})
		}
	}
	return out
}

// DestroyKeptSteps are a forget's steps (no undo: a person consented).
// destroy-kept, the commit: read the mark of each of op's kept datasets
// (forgets: one that is not the forgotten operation's refuses the whole,
// nothing destroyed), then zfs destroy -r each; Check: one of them is
// gone. With several datasets, finish-destroy-kept then destroys, forward
// only, any the commit left (its failure is retried, then needs attention
// naming what is left).
func DestroyKeptSteps(zfsFor ZfsFor, op *store.Operation) []engine.Step {
	fs := forgets(op)
	var dss []string
	for _, f := range fs {
		dss = append(dss, f.ds)
	}
	z := zfsFor(nil)
	st := engine.Step{Name: StepDestroyKept, Commit: true,
		Description: fmt.Sprintf("destroy what operation %d kept, with its snapshots, each only if it carries that operation's mark: %s", op.Options.Forget, strings.Join(dss, ", "))}
	for _, ds := range dss {
		st.Planned = append(st.Planned, LookArgv(z, ds))
	}
	for _, ds := range dss {
		st.Planned = append(st.Planned, z.DestroyTreeArgv(ds))
	}
	destroyAll := func(ctx context.Context, x *engine.Exec) error {
		z := zfsFor(x.Run)
		if len(fs) == 0 {
			return engine.Permanent(fmt.Errorf("the forget of operation %d names no kept dataset", op.Options.Forget))
		}
		for _, f := range fs {
			if err := checkMark(ctx, z, f.ds, f.mark); err != nil {
				return err
			}
		}
		var errs []error
		for _, f := range fs {
			if err := DestroyKept(ctx, z, f.ds, f.mark); err != nil {
				errs = append(errs, err)
			}
		}
		return joinVolumes(errs)
	}
	st.Do = destroyAll
	st.Check = func(ctx context.Context, x *engine.Exec) (bool, error) {
		var errs []error
		for _, ds := range dss {
			gone, err := Gone(ctx, zfsFor(x.Run), ds)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if gone {
				return true, nil
			}
		}
		return false, errors.Join(errs...)
	}
	steps := []engine.Step{st}
	if len(dss) > 1 {
		fin := engine.Step{Name: StepFinishDestroyKept, Planned: st.Planned,
			Description: "destroy every kept dataset of the forget that is not gone yet"}
		fin.Do = func(ctx context.Context, x *engine.Exec) error {
			err := destroyAll(ctx, x)
			if err == nil {
				return nil
			}
			var left []string
			for _, ds := range dss {
				if gone, gerr := Gone(ctx, zfsFor(x.Run), ds); gerr != nil || !gone {
					left = append(left, ds)
				}
			}
			return fmt.Errorf("%w (not destroyed yet: %s)", err, strings.Join(left, ", "))
		}
		steps = append(steps, fin)
	}
	return steps
}

// checkMark refuses, permanently, a dataset that exists and does not
// carry mark.
func checkMark(ctx context.Context, z zfs.Cmd, ds, mark string) error {
	st, err := look(ctx, z, ds)
	if err != nil {
		return err
	}
	if st.exists && st.mark != mark {
		return engine.Permanent(fmt.Errorf("%s carries %s=%q, not %q: nothing destroyed", ds, KeptMarkProp, st.mark, mark))
	}
	return nil
}
