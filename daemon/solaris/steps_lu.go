package solaris

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// The LU steps (delete-lu and its undo, import-lu, restore-views,
// resize-lu) and what they share: bringing an LU back, persisted.

func (s *sagaSteps) deleteLUs() engine.Step {
	c := s.b.stmf(nil)
	st := engine.Step{Name: "delete-lu", OutageWindow: true, Retried: true,
		Description: "delete the LU, keeping its views (-k): the zvol is busy while an LU holds it"}
	lus := s.allLUs()
	if len(lus) > 1 {
		st.Description = "delete the LUs in one command, keeping their views (-k): a zvol is busy while an LU holds it; " +
			"if it fails, read each LU back (list-lu -v) to learn which are gone and which remain"
	}
	st.Planned = append(st.Planned, c.DeleteLUArgv(guidsOf(lus)...))
	// No read-back here: this is inside the outage window. delete-lu -k
	// exits 0 even for an unknown GUID (so running it again is harmless);
	// the zfs rollback's "dataset is busy" is the proof that it did not
	// go. One command for every LU (a group's too): stmfadm deletes them
	// in turn, one process, one pass over the SMF store
	// (docs/platform/comstar-delete-lu.md); steps_deletelu.go reads back
	// which went when it fails. A failure is retried (Retried: a failed
	// delete-lu may have unpersisted the LU, which costs a re-persist to
	// undo), except "resource busy": the LU is held, and asking again
	// meets the same initiators.
	st.Do = s.deleteAll
	// Every LU is brought back before any failure is reported, each
	// persisted again where a failed delete-lu may have unpersisted it
	// (bringBack); only one held busy waits for recover --repersist.
	st.Undo = func(ctx context.Context, x *engine.Exec) error {
		var unpersisted []string
		var errs []error
		for _, lu := range s.allLUs() {
			held, err := s.bringBack(ctx, x, lu)
			if held {
				unpersisted = append(unpersisted, lu.GUID)
			}
			if err == nil {
				err = s.verifyLU(ctx, x, lu)
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if len(unpersisted) > 0 {
			return fmt.Errorf("LU %s is not in STMF's persistent store: delete-lu failed with \"resource busy\" after it had removed it there, and re-persisting it now would meet the same initiators: %w",
				strings.Join(unpersisted, ", "), engine.ErrUnpersisted)
		}
		return nil
	}
	return st
}

// deleteLU is delete-lu -k of one LU; "resource busy" (the LU is held) is
// permanent.
func (s *sagaSteps) deleteLU(ctx context.Context, x *engine.Exec, lu store.LU) error {
	if err := s.b.stmf(x.Run).DeleteLU(ctx, lu.GUID); err != nil {
		return deleteFailed(lu, err)
	}
	return nil
}

// bringBack brings an LU the step deleted (or tried to) back with its
// captured identity and views. Where a failed delete-lu of this step may
// have left it unpersisted (lostPersistence), it is re-persisted first,
// inside the outage the caller consented to; unless the failure was
// "resource busy" and the caller has not consented to re-persisting (recover
// --repersist): held is then true, and the LU stays online unpersisted.
// Whatever fails, it goes on to bring the LU back, then reports it.
func (s *sagaSteps) bringBack(ctx context.Context, x *engine.Exec, lu store.LU) (held bool, err error) {
	var perr error
	switch lost, busy := lostPersistence(x.Step(), lu); {
	case lost && busy && !s.op.Options.Repersist:
		held = true
	case lost:
		held, perr = s.repersist(ctx, x, lu)
	}
	if err := s.ensureLU(ctx, x, lu); err != nil {
		return held, errors.Join(perr, err)
	}
	if held {
		held, _ = lostPersistence(x.Step(), lu) // an import-lu that just succeeded persisted it
	}
	if _, err := s.ensureViews(ctx, x, lu); err != nil {
		return held, errors.Join(perr, err)
	}
	return held, perr
}

// lostPersistence reads the step's commands in the order they ran: a
// delete-lu of the LU that failed, whatever it printed, may have removed
// it from the SMF provider data before the kernel refused (libstmf
// deleteDiskLu, docs/platform/comstar-delete-lu.md), so the LU stays
// registered but is gone at the next reboot or stmf restart; busy says
// that failure was "resource busy" (the LU is held). A later delete-lu
// that succeeded, or an import-lu or create-lu of its file that succeeded,
// put it back (or out for good).
func lostPersistence(st *store.Step, lu store.LU) (lost, busy bool) {
	cmds := append(append([]store.Command(nil), st.Commands...), st.CompensationCommands...)
	slices.SortStableFunc(cmds, func(a, b store.Command) int { return a.Started.Compare(b.Started) })
	for _, c := range cmds {
		if len(c.Argv) < 2 || !slices.ContainsFunc(c.Argv, func(a string) bool { return strings.EqualFold(a, lu.GUID) || a == lu.DataFile }) {
			continue
		}
		ok := c.Exit == 0 && c.Err == "" && strings.TrimSpace(c.Stderr) == ""
		switch c.Argv[1] {
		case "delete-lu":
			lost = !ok
			busy = !ok && comstar.IsBusy([]byte(c.Stderr+c.Stdout))
		case "import-lu", "create-lu":
			if ok {
				lost, busy = false, false
			}
		}
	}
	return lost, busy
}

// repersist puts an LU back into STMF's persistent store, the only way
// there is: delete it (keeping its views) and import it again (ensureLU,
// after it). An LU that is not registered any more needs no delete: the
// import persists it. A delete that fails "resource busy" leaves it held
// (and still unpersisted): held is true, and it is not an error here.
func (s *sagaSteps) repersist(ctx context.Context, x *engine.Exec, lu store.LU) (held bool, err error) {
	c := s.b.stmf(x.Run)
	got, ok, err := c.LookupLU(ctx, lu.GUID)
	if err != nil {
		return false, fmt.Errorf("re-persist LU %s: read it: %w", lu.GUID, err)
	}
	if !ok || !got.Registered {
		return false, nil
	}
	x.Note("re-persisting LU %s: delete-lu -k and import-lu (a brief outage; a failed delete-lu may have removed it from STMF's persistent store)", lu.GUID)
	if err := c.DeleteLU(ctx, lu.GUID); err != nil {
		if comstar.IsBusy(execx.Stderr(err)) {
			return true, nil
		}
		return false, fmt.Errorf("LU %s is online but may not be in STMF's persistent store (a failed delete-lu removes it there first), and re-persisting it failed: %w", lu.GUID, err)
	}
	return false, nil
}

func (s *sagaSteps) importLUs() engine.Step {
	c := s.b.stmf(nil)
	st := engine.Step{Name: "import-lu", OutageWindow: true,
		Description: fmt.Sprintf("re-import the LU from the metadata kept in the zvol; its retained views apply again as it registers; "+
			"then re-read it until it is Online (or Offline) as it was, at most %s (lu_online_timeout): "+
			"online-lu only where the host brings new LUs up Offline, offline-lu only for an LU that was Offline", s.b.luOnlineTimeout())}
	lus := s.allLUs()
	for _, lu := range lus {
		st.Planned = append(st.Planned, c.ImportLUArgv(lu.DataFile))
	}
	if len(lus) > 1 {
		st.Planned = append(st.Planned, c.ListLUArgv(guidsOf(lus)...))
	}
	for _, lu := range lus {
		st.Planned = append(st.Planned, s.planSettle(lu)...)
	}
	st.Do = s.importAll
	return st
}

// importAll brings every LU back (registerLU) side by side, then waits
// until each is in its captured state (settle). A group's LUs are first
// read back with one stmfadm list-lu -v G1 G2 ... (listLuFunc lists its
// operands in turn, docs/platform/comstar-lu.md §1) rather than one
// command each: those reads are inside the outage window, and N commands
// at once cost a group's window a whole round of them. Any doubt about that
// read (a failure, an LU missing from it) and an LU's settle reads it
// alone, as for one volume.
func (s *sagaSteps) importAll(ctx context.Context, x *engine.Exec) error {
	lus := s.allLUs()
	if len(lus) == 1 {
		return s.eachLUAtOnce(s.ensureLU)(ctx, x)
	}
	errs := make([]error, len(lus))
	_ = parallel(len(lus), func(i int) error {
		errs[i] = s.registerLU(ctx, x, lus[i])
		return errs[i]
	})
	var registered []store.LU
	for i, lu := range lus {
		if errs[i] == nil {
			registered = append(registered, lu)
		}
	}
	first := map[string]comstar.LU{}
	if len(registered) > 1 {
		// A failed read is no answer: each LU is then read alone.
		if got, err := s.b.stmf(x.Run).ListLU(ctx, guidsOf(registered)...); err == nil {
			for _, lu := range got {
				first[strings.ToUpper(lu.GUID)] = lu
			}
		}
	}
	_ = parallel(len(lus), func(i int) error {
		if errs[i] != nil {
			return errs[i]
		}
		var pre *comstar.LU
		if lu, ok := first[strings.ToUpper(lus[i].GUID)]; ok {
			pre = &lu
		}
		errs[i] = s.settleFrom(ctx, x, lus[i], pre)
		return errs[i]
	})
	return permanentIfAll(errors.Join(errs...))
}

// ensureLU brings the LU back with its captured GUID (registerLU) and
// waits until it is in its captured operational state (settle).
func (s *sagaSteps) ensureLU(ctx context.Context, x *engine.Exec, lu store.LU) error {
	if err := s.registerLU(ctx, x, lu); err != nil {
		return err
	}
	return s.settle(ctx, x, lu)
}

// registerLU brings the LU back with its captured GUID: import-lu from the
// zvol's metadata; when that is gone ("meta file error"), create-lu with the
// captured GUID and properties, unless create-lu cannot carry them exactly
// (then nothing is created, and the operation needs attention). An LU
// already registered from the same file (a retry, a resumed operation) is
// left as it is.
func (s *sagaSteps) registerLU(ctx context.Context, x *engine.Exec, lu store.LU) error {
	c := s.b.stmf(x.Run)
	guid, _, err := c.ImportLU(ctx, lu.DataFile)
	switch {
	case err == nil:
		if !strings.EqualFold(guid, lu.GUID) {
			return engine.Permanent(fmt.Errorf("import-lu %s brought back GUID %s, expected %s: the zvol's LU metadata is not the captured LU's",
				lu.DataFile, guid, lu.GUID))
		}
		return nil
	case comstar.IsMetaFileError(execx.Stderr(err)):
		if _, aerr := c.CreateLUArgv(toComstarLU(lu)); aerr != nil {
			return engine.Permanent(fmt.Errorf("import LU %s: %w; the LU metadata is missing from %s, and %v: put the zvol's LU metadata back (or create the LU by hand with its captured properties) and recover",
				lu.GUID, err, lu.DataFile, aerr))
		}
		x.Note("LU metadata missing from %s; re-creating LU %s with its captured properties", lu.DataFile, lu.GUID)
		return s.createLU(ctx, x, lu)
	case luInUse(err):
		return s.registeredAlready(ctx, x, lu, "import", err)
	default:
		return fmt.Errorf("import LU %s: %w", lu.GUID, err)
	}
}

// createLU creates the LU with its captured GUID and properties on its
// data file (create-lu): registerLU's fallback, and a keep's create-lu.
func (s *sagaSteps) createLU(ctx context.Context, x *engine.Exec, lu store.LU) error {
	got, err := s.b.stmf(x.Run).CreateLU(ctx, toComstarLU(lu))
	if err != nil {
		return fmt.Errorf("re-create LU %s: %w", lu.GUID, err)
	}
	if !strings.EqualFold(got, lu.GUID) {
		return engine.Permanent(fmt.Errorf("create-lu gave GUID %s, expected %s", got, lu.GUID))
	}
	return nil
}

// luInUse: import-lu or create-lu answered that the file or GUID is in use
// (or busy): the LU may be registered already.
func luInUse(err error) bool {
	stderr := execx.Stderr(err)
	return comstar.IsFileInUse(stderr) || comstar.IsGUIDInUse(stderr) || comstar.IsBusy(stderr)
}

// registeredAlready decides after an import-lu or create-lu (verb) that
// failed "in use": only the captured LU registered on the captured file
// counts as done, and only when list-lu -v shows its file.
func (s *sagaSteps) registeredAlready(ctx context.Context, x *engine.Exec, lu store.LU, verb string, err error) error {
	got, ok, lerr := s.b.stmf(x.Run).LookupLU(ctx, lu.GUID)
	if lerr != nil {
		return fmt.Errorf("%s LU %s: %w; and reading it back: %v", verb, lu.GUID, err, lerr)
	}
	if ok && got.Registered {
		if u := got.UnreadDataFile(); u != nil {
			return fmt.Errorf("%s LU %s: %w; and reading it back: %v", verb, lu.GUID, err, readBack(got))
		}
		if got.DataFile == lu.DataFile {
			return nil
		}
	}
	return fmt.Errorf("%s LU %s: %w", verb, lu.GUID, err)
}

// ensureViews adds exactly the captured views that are missing, each with
// its host group, target group and LUN. It reports whether it added any.
func (s *sagaSteps) ensureViews(ctx context.Context, x *engine.Exec, lu store.LU) (bool, error) {
	c := s.b.stmf(x.Run)
	present, err := c.ListView(ctx, lu.GUID)
	if err != nil {
		return false, fmt.Errorf("list views of %s: %w", lu.GUID, err)
	}
	have := map[string]bool{}
	for _, v := range present {
		have[v.Key()] = true
	}
	added := false
	for _, v := range lu.Views {
		if have[viewKey(v)] {
			continue
		}
		cv := comstar.View{HostGroup: v.HostGroup, TargetGroup: v.TargetGroup, LUN: v.LUN}
		if err := c.AddView(ctx, lu.GUID, cv); err != nil && !comstar.IsViewExists(execx.Stderr(err)) {
			return added, fmt.Errorf("restore view %s/%s LUN %d of %s: %w", v.HostGroup, v.TargetGroup, v.LUN, lu.GUID, err)
		}
		added = true
	}
	return added, nil
}

func (s *sagaSteps) restoreViews() engine.Step {
	st := engine.Step{Name: "restore-views", FollowsWindow: true,
		Description: "compare the views with the captured ones and add exactly what is missing (host group, target group, LUN)"}
	c := s.b.stmf(nil)
	for _, lu := range s.allLUs() {
		st.Planned = append(st.Planned, c.ListViewArgv(lu.GUID))
	}
	// The LUs side by side (bounded), as import-lu: each LU's views are
	// its own. The outage is extended once, after the last view added.
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		lus := s.allLUs()
		added := make([]bool, len(lus))
		err := permanentIfAll(parallel(len(lus), func(i int) error {
			a, err := s.ensureViews(ctx, x, lus[i])
			added[i] = a && err == nil
			return err
		}))
		extend := false
		for i, lu := range lus {
			if added[i] {
				x.Note("views of %s were missing after import and were added back", lu.GUID)
				extend = true
			}
		}
		if extend {
			x.ExtendOutage()
		}
		return err
	}
	return st
}

// resizeLUs shrinks LUs that would end past the end of the rolled-back volume
// (docs/platform/comstar.md §8.2: import-lu brings the old size back). Where
// the platform does not say what size the volume had at the snapshot
// (Solaris, illumos-gate), the volume's volsize is read after the rollback,
// outside the outage window, and the planned command names that size. Every
// volume of a group in turn.
func (s *sagaSteps) resizeLUs() engine.Step {
	c := s.b.stmf(nil)
	st := engine.Step{Name: "resize-lu"}
	var descs []string
	for _, id := range s.op.Volumes() {
		if !needsResize(id) {
			continue
		}
		d := fmt.Sprintf("shrink the LU to the volume's size at the snapshot (%d bytes)", id.SnapshotVolsize)
		if id.SnapshotVolsize == 0 {
			d = "read the volume's size after the rollback and shrink the LU to it if the LU is larger (the size the volume had at the snapshot is not known before)"
			st.Planned = append(st.Planned, s.zfs(nil).GetArgv(id.Volume, "volsize"))
		}
		if len(s.op.Members) > 0 {
			d = id.Volume + ": " + d
		}
		descs = append(descs, d)
		for _, lu := range id.LUs {
			st.Planned = append(st.Planned, c.LookupLUArgv(lu.GUID))
			switch want := afterRollback(id.SnapshotVolsize, lu); {
			case id.SnapshotVolsize == 0:
				size := "<volsize after the rollback, if smaller than " + strconv.FormatUint(lu.Size, 10) + ">"
				if id.Kept != "" {
					size = "<" + strconv.FormatUint(lu.Size, 10) + ", or the clone's volsize if smaller, when create-lu made the LU larger>"
				}
				st.Planned = append(st.Planned, append(c.ResizeLUArgv(lu.GUID, 0)[:3], size, lu.GUID))
			case want.Size != lu.Size || id.Kept != "" && lu.Size != id.SnapshotVolsize:
				// (with keep, create-lu gives the LU the whole clone)
				st.Planned = append(st.Planned, c.ResizeLUArgv(lu.GUID, want.Size))
			}
		}
	}
	st.Description = strings.Join(descs, "; ")
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		for _, id := range s.op.Volumes() {
			if !needsResize(id) {
				continue
			}
			if err := s.resizeVolume(ctx, x, id); err != nil {
				return err
			}
		}
		return nil
	}
	return st
}

func (s *sagaSteps) resizeVolume(ctx context.Context, x *engine.Exec, id store.Identity) error {
	volsize, err := zvol.VolsizeAfter(ctx, s.zfs(x.Run), id)
	if err != nil {
		return err
	}
	c := s.b.stmf(x.Run)
	for _, lu := range id.LUs {
		want := afterRollback(volsize, lu)
		got, ok, err := c.LookupLU(ctx, lu.GUID)
		if err != nil {
			return fmt.Errorf("read back LU %s: %w", lu.GUID, err)
		}
		if ok {
			if err := readBack(got); err != nil {
				return fmt.Errorf("read back LU %s: %w", lu.GUID, err)
			}
		}
		if !ok || got.Size <= want.Size {
			continue // verify reports a missing LU; a smaller LU is as captured
		}
		if err := c.ResizeLU(ctx, lu.GUID, want.Size); err != nil {
			return fmt.Errorf("resize LU %s to %d: %w", lu.GUID, want.Size, err)
		}
	}
	return nil
}
