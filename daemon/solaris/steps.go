package solaris

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/kz"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/daemon/zones"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

func toComstarLU(s store.LU) comstar.LU {
	return comstar.LU{GUID: s.GUID, DataFile: s.DataFile, Alias: s.Alias, Size: s.Size, BlockSize: s.BlockSize,
		VendorID: s.VendorID, ProductID: s.ProductID, SerialNum: s.Serial, MgmtURL: s.MgmtURL,
		WriteProtect: s.WriteProtect, WritebackCacheDisabled: s.WritebackCacheDisabled}
}

func viewKey(v store.View) string {
	return comstar.View{HostGroup: v.HostGroup, TargetGroup: v.TargetGroup, LUN: v.LUN}.Key()
}

// afterRollback is the identity an LU must have once the volume is at the
// snapshot: the captured one, but never larger than the volume's size then,
// volsize (its metadata, which rollback does not touch, keeps the size from
// before). volsize 0 means not known (yet).
func afterRollback(volsize uint64, lu store.LU) store.LU {
	if volsize > 0 && lu.Size > volsize {
		lu.Size = volsize
	}
	return lu
}

func wasAttached(z store.Zone) bool { return z.State == "installed" || z.State == "running" }

func isKernelZone(z store.Zone) bool { return z.Brand == "solaris-kz" }

// Steps implements engine.Backend. The list depends only on the journaled
// identity and options, so recovery rebuilds exactly the steps it ran.
func (b *Backend) Steps(op *store.Operation) []engine.Step {
	id := op.Identity
	var steps []engine.Step
	var halted, attached []store.Zone
	for _, z := range id.Zones {
		if z.Ran() {
			halted = append(halted, z)
		}
		if wasAttached(z) {
			attached = append(attached, z)
		}
	}
	s := &sagaSteps{b: b, op: op}
	if len(halted) > 0 {
		steps = append(steps, s.stopZones(halted))
	}
	if len(attached) > 0 {
		steps = append(steps, s.detachZones(attached))
	}
	lus := s.allLUs()
	if len(lus) > 0 {
		steps = append(steps, s.deleteLUs())
	}
	if len(op.Members) == 0 {
		steps = append(steps, s.rollback())
	} else {
		steps = append(steps, s.groupRollback(), s.finishRollback())
	}
	if len(lus) > 0 {
		steps = append(steps, s.importLUs(), s.restoreViews())
		if slices.ContainsFunc(op.Volumes(), needsResize) {
			steps = append(steps, s.resizeLUs())
		}
	}
	steps = append(steps, s.verify())
	if len(attached) > 0 {
		steps = append(steps, s.attachZones(attached))
	}
	if len(halted) > 0 {
		steps = append(steps, s.bootZones(halted))
	}
	return steps
}

type sagaSteps struct {
	b  *Backend
	op *store.Operation
}

// needsResize: an LU of the volume may end past the rolled-back volume.
func needsResize(id store.Identity) bool {
	return len(id.LUs) > 0 && (id.SnapshotVolsize == 0 ||
		slices.ContainsFunc(id.LUs, func(lu store.LU) bool { return afterRollback(id.SnapshotVolsize, lu).Size != lu.Size }))
}

// allLUs are the LUs of every volume of the operation.
func (s *sagaSteps) allLUs() []store.LU {
	var out []store.LU
	for _, id := range s.op.Volumes() {
		out = append(out, id.LUs...)
	}
	return out
}

// opFor is the operation as seen by one of its volumes: zvol's functions
// read op.Identity.
func (s *sagaSteps) opFor(id store.Identity) *store.Operation {
	o := *s.op
	o.Identity = id
	return &o
}

// eachLU is a step function that runs fn for every captured LU in turn,
// stopping at the first error (as linuxtgt's; the journaled identity here
// is store.LU itself, so there is nothing to decode first).
func (s *sagaSteps) eachLU(fn func(ctx context.Context, x *engine.Exec, lu store.LU) error) func(context.Context, *engine.Exec) error {
	return func(ctx context.Context, x *engine.Exec) error {
		for _, lu := range s.allLUs() {
			if err := fn(ctx, x, lu); err != nil {
				return err
			}
		}
		return nil
	}
}

// groupParallel bounds the commands a step of a group runs at once (one
// per volume or LU): the outage window of a group is then about one
// volume's, not the sum of them.
const groupParallel = 8

// parallel runs fn for each of n items, at most groupParallel at once,
// and returns every error, joined (in item order).
func parallel(n int, fn func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, groupParallel)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// eachLUAtOnce is eachLU with the LUs side by side (the window's steps:
// delete-lu and import-lu touch one LU each, and nothing else).
func (s *sagaSteps) eachLUAtOnce(fn func(ctx context.Context, x *engine.Exec, lu store.LU) error) func(context.Context, *engine.Exec) error {
	return func(ctx context.Context, x *engine.Exec) error {
		lus := s.allLUs()
		return permanentIfAll(parallel(len(lus), func(i int) error { return fn(ctx, x, lus[i]) }))
	}
}

// permanentIfAll keeps a joined error permanent only when each of its
// errors is (one retryable failure makes the whole worth a retry).
func permanentIfAll(err error) error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok || err == nil {
		return err
	}
	any := false
	for _, e := range j.Unwrap() {
		if e != nil && !engine.IsPermanent(e) {
			any = true
		}
	}
	switch {
	case !any:
		return engine.Permanent(err)
	case engine.IsPermanent(err):
		// Mixed: errors.As would find the permanent one; the others are
		// worth a retry.
		return retryable{err}
	}
	return err
}

// retryable is a joined error some of whose parts are permanent and some
// not: its text, without them to unwrap.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }

// zfs is the zfs command with the capabilities journaled with the
// operation, so a resumed operation builds the same argv.
func (s *sagaSteps) zfs(run execx.RunFunc) zfs.Cmd { return s.b.zfsWith(run, s.op.Capabilities) }

// zoneArgv is `zoneadm -z Z args...` as the zone's host runs it, for
// the plan: a zone on a peer is marked with its host (engine.OnHost).
func (s *sagaSteps) zoneArgv(z store.Zone, args ...string) []string {
	if z.Host == "" {
		return s.b.kz(nil).Argv(z.Name, args...)
	}
	k := kz.Cmd{Zoneadm: z.Zoneadm}
	if k.Zoneadm == "" {
		k.Zoneadm = "zoneadm"
	}
	return engine.OnHost(z.Host, k.Argv(z.Name, args...))
}

// planZone is what acting on a zone runs: its state read, the verb's
// command, the state read back.
func (s *sagaSteps) planZone(z store.Zone, verb zones.Verb) [][]string {
	return [][]string{s.zoneArgv(z, "list", "-p"), s.zoneArgv(z, verb.Args()...), s.zoneArgv(z, "list", "-p")}
}

// act brings zone z to what verb leads to, where the zone is: on this
// host, or on its peer through the zone service (whose commands are
// journaled with the step, naming the peer).
func (s *sagaSteps) act(ctx context.Context, x *engine.Exec, z store.Zone, verb zones.Verb) error {
	if z.Host == "" {
		_, err := s.b.ZoneAct(ctx, x.Run, z.Name, verb, x.Note)
		return err
	}
	if s.b.Peers == nil {
		return engine.Permanent(fmt.Errorf("zone %s is on peer %s, but this volctld has no [[peers]] configured: restore the configuration and recover", z.Name, z.Host))
	}
	_, argv := engine.SplitHost(s.zoneArgv(z, verb.Args()...))
	x.Starting(z.Host, argv) // the peer's journal has the commands; this says what it is asked
	limit := zoneActLimit(verb, x.Timeout(argv), s.b.shutdownTimeout())
	res, err := s.b.Peers.Act(ctx, z.Host, s.key(x, z, verb), z.Name, verb, limit)
	x.Record(res.Commands)
	if err != nil {
		return fmt.Errorf("zone %s %s: %w", z.Name, verb, err) // err names the peer
	}
	if res.Err == "" {
		return nil
	}
	e := fmt.Errorf("on peer %s: %s", z.Host, res.Err)
	switch {
	case res.Permanent:
		return engine.Permanent(e)
	case res.InUse:
		return fmt.Errorf("%w: %w", errInUse, e)
	}
	return e
}

// errInUse marks an attach that another host's claim on the host data
// refused.
var errInUse = errors.New("the disk's host data is claimed by another host")

func inUse(err error) bool {
	_, in := ZoneErrorKind(err)
	return in || errors.Is(err, errInUse)
}

// key is the idempotency key of a remote zone action: this host, the
// operation (its id and creation time, so a new journal never reuses
// one), the step, the zone and the verb. A peer that already did it
// answers from its journal.
func (s *sagaSteps) key(x *engine.Exec, z store.Zone, verb zones.Verb) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/op-%d-%d/%s/%s/%s", host, s.op.ID, s.op.Created.UnixNano(), x.Step().Name, z.Name, verb)
}

func zoneNames(zs []store.Zone) string {
	var n []string
	for _, z := range zs {
		n = append(n, z.Name)
	}
	return strings.Join(n, ", ")
}

// eachZone is a step function that acts on every zone in turn, stopping
// at the first error.
func (s *sagaSteps) eachZone(zs []store.Zone, verb zones.Verb) func(context.Context, *engine.Exec) error {
	return func(ctx context.Context, x *engine.Exec) error {
		for _, z := range zs {
			if err := s.act(ctx, x, z, verb); err != nil {
				return err
			}
		}
		return nil
	}
}

// stopZones stops the running zones: a clean shutdown first (the guest's
// filesystems stay consistent), and a halt (a hard stop) only when the
// shutdown fails or does not finish within the shutdown timeout of the
// zone's host.
func (s *sagaSteps) stopZones(zs []store.Zone) engine.Step {
	st := engine.Step{Name: "stop-zones",
		Description: fmt.Sprintf("shut down the running zones %s (halt them if that takes over %s)", zoneNames(zs), s.b.shutdownTimeout())}
	for _, z := range zs {
		st.Planned = append(st.Planned, s.planZone(z, zones.Shutdown)...)
	}
	st.Do = s.eachZone(zs, zones.Shutdown)
	st.Undo = s.eachZone(zs, zones.Boot)
	return st
}

func (s *sagaSteps) detachZones(zs []store.Zone) engine.Step {
	st := engine.Step{Name: "detach-zones", Description: "detach " + zoneNames(zs) + " so nothing uses the disk while it goes back"}
	for _, z := range zs {
		st.Planned = append(st.Planned, s.planZone(z, zones.Detach)...)
	}
	st.Do = s.eachZone(zs, zones.Detach)
	// The disk is unchanged when this is undone, so its host data still
	// matches the zone's key: a plain attach.
	st.Undo = s.eachZone(zs, zones.Attach)
	return st
}

func (s *sagaSteps) deleteLUs() engine.Step {
	c := s.b.stmf(nil)
	st := engine.Step{Name: "delete-lu", OutageWindow: true, Retried: true,
		Description: "delete the LU, keeping its views (-k): the zvol is busy while an LU holds it"}
	for _, lu := range s.allLUs() {
		st.Planned = append(st.Planned, c.DeleteLUArgv(lu.GUID))
	}
	// No read-back here: this is inside the outage window. delete-lu -k
	// exits 0 even for an unknown GUID (so running it again is harmless);
	// the zfs rollback's "dataset is busy" is the proof that it did not
	// go. A failure is retried (Retried: a failed delete-lu may have
	// unpersisted the LU, docs/platform/comstar-delete-lu.md, which costs
	// a re-persist to undo), except "resource busy": the LU is held, and
	// asking again meets the same initiators.
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		lus := s.allLUs()
		return parallel(len(lus), func(i int) error { return s.deleteLU(ctx, x, lus[i]) })
	}
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
	err := s.b.stmf(x.Run).DeleteLU(ctx, lu.GUID)
	switch {
	case err == nil:
		return nil
	case comstar.IsBusy(execx.Stderr(err)):
		return engine.Permanent(fmt.Errorf("delete LU %s: %w (initiators keep it from going offline)", lu.GUID, err))
	}
	return fmt.Errorf("delete LU %s: %w", lu.GUID, err)
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
	type place struct {
		id      store.Identity
		at      bool
		unknown error
	}
	// Where each volume is, read while its LUs are still away (written@
	// may tell then).
	var places []place
	for _, id := range s.op.Volumes() {
		p := place{id: id, at: rolledBackIn(x.Op(), id)}
		if !p.at {
			p.at, p.unknown = s.tookEffect(ctx, x, id)
		}
		places = append(places, p)
	}
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
	if err != nil {
		return "", err
	}
	var vols []string
	for _, p := range places {
		switch {
		case p.at:
			if needsResize(p.id) {
				if err := s.resizeVolume(ctx, x, p.id); err != nil {
					return "", err
				}
			}
			var volsize uint64
			if len(p.id.LUs) > 0 {
				if volsize, err = zvol.VolsizeAfter(ctx, s.zfs(x.Run), p.id); err != nil {
					return "", err
				}
			}
			for _, lu := range p.id.LUs {
				if err := s.verifyLU(ctx, x, afterRollback(volsize, lu)); err != nil {
					return "", err
				}
			}
			vols = append(vols, fmt.Sprintf("%s is rolled back to %s", p.id.Volume, p.id.Snapshot))
		default:
			for _, lu := range p.id.LUs {
				if err := s.verifyLU(ctx, x, lu); err != nil {
					return "", err
				}
			}
			if p.unknown != nil {
				vols = append(vols, fmt.Sprintf("%s: not known whether it is at %s (%v)", p.id.Volume, p.id.Snapshot, p.unknown))
			} else {
				vols = append(vols, fmt.Sprintf("%s is still as it was before the operation (not at %s)", p.id.Volume, p.id.Snapshot))
			}
		}
	}
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
	return text, nil
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

func (s *sagaSteps) importLUs() engine.Step {
	c := s.b.stmf(nil)
	st := engine.Step{Name: "import-lu", OutageWindow: true,
		Description: fmt.Sprintf("re-import the LU from the metadata kept in the zvol; its retained views apply again as it registers; "+
			"then re-read it until it is Online (or Offline) as it was, at most %s (lu_online_timeout): "+
			"online-lu only where the host brings new LUs up Offline, offline-lu only for an LU that was Offline", s.b.luOnlineTimeout())}
	for _, lu := range s.allLUs() {
		st.Planned = append(st.Planned, c.ImportLUArgv(lu.DataFile))
		st.Planned = append(st.Planned, s.planSettle(lu)...)
	}
	st.Do = s.eachLUAtOnce(s.ensureLU)
	return st
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
		got, cerr := c.CreateLU(ctx, toComstarLU(lu))
		if cerr != nil {
			return fmt.Errorf("re-create LU %s: %w", lu.GUID, cerr)
		}
		if !strings.EqualFold(got, lu.GUID) {
			return engine.Permanent(fmt.Errorf("create-lu gave GUID %s, expected %s", got, lu.GUID))
		}
		return nil
	case comstar.IsFileInUse(execx.Stderr(err)) || comstar.IsGUIDInUse(execx.Stderr(err)) || comstar.IsBusy(execx.Stderr(err)):
		// Already registered? Only the captured LU on the captured file
		// counts as done, and only when list-lu -v shows its file.
		got, ok, lerr := c.LookupLU(ctx, lu.GUID)
		if lerr != nil {
			return fmt.Errorf("import LU %s: %w; and reading it back: %v", lu.GUID, err, lerr)
		}
		if ok && got.Registered {
			if u := got.UnreadDataFile(); u != nil {
				return fmt.Errorf("import LU %s: %w; and reading it back: %v", lu.GUID, err, readBack(got))
			}
			if got.DataFile == lu.DataFile {
				return nil
			}
		}
		return fmt.Errorf("import LU %s: %w", lu.GUID, err)
	default:
		return fmt.Errorf("import LU %s: %w", lu.GUID, err)
	}
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
	st := engine.Step{Name: "restore-views",
		Description: "compare the views with the captured ones and add exactly what is missing (host group, target group, LUN)"}
	c := s.b.stmf(nil)
	for _, lu := range s.allLUs() {
		st.Planned = append(st.Planned, c.ListViewArgv(lu.GUID))
	}
	st.Do = s.eachLU(func(ctx context.Context, x *engine.Exec, lu store.LU) error {
		added, err := s.ensureViews(ctx, x, lu)
		if err == nil && added {
			x.Note("views of %s were missing after import and were added back", lu.GUID)
			x.ExtendOutage()
		}
		return err
	})
	return st
}

// verifyLU reads the LU and its views back and compares them with the
// capture.
func (s *sagaSteps) verifyLU(ctx context.Context, x *engine.Exec, want store.LU) error {
	c := s.b.stmf(x.Run)
	got, ok, err := c.LookupLU(ctx, want.GUID)
	if err != nil {
		return fmt.Errorf("read back LU %s: %w", want.GUID, err)
	}
	if !ok || !got.Registered {
		return fmt.Errorf("LU %s is not registered", want.GUID)
	}
	if err := readBack(got); err != nil {
		return fmt.Errorf("read back LU %s: %w", want.GUID, err)
	}
	views, err := c.ListView(ctx, want.GUID)
	if err != nil {
		return fmt.Errorf("read back views of %s: %w", want.GUID, err)
	}
	return compareLU(want, toStoreLU(got, views))
}

// compareLU lists every difference between the captured and present
// identity. Entry numbers may differ (STMF assigns them); host group, target
// group and LUN may not.
func compareLU(want, got store.LU) error {
	var diffs []string
	cmp := func(what string, w, g any) {
		if w != g {
			diffs = append(diffs, fmt.Sprintf("%s is %v, was %v", what, g, w))
		}
	}
	cmp("GUID", want.GUID, got.GUID)
	cmp("data file", want.DataFile, got.DataFile)
	cmp("alias", want.Alias, got.Alias)
	cmp("size", want.Size, got.Size)
	cmp("block size", want.BlockSize, got.BlockSize)
	cmp("vendor id", want.VendorID, got.VendorID)
	cmp("product id", want.ProductID, got.ProductID)
	cmp("serial", want.Serial, got.Serial)
	cmp("management URL", want.MgmtURL, got.MgmtURL)
	cmp("write protect", want.WriteProtect, got.WriteProtect)
	cmp("writeback cache disabled", want.WritebackCacheDisabled, got.WritebackCacheDisabled)
	if want.OperationalStatus != "" && got.OperationalStatus != want.OperationalStatus {
		diffs = append(diffs, "status is "+got.OperationalStatus+", was "+want.OperationalStatus)
	}
	var wk, gk []string
	for _, v := range want.Views {
		wk = append(wk, viewKey(v))
	}
	for _, v := range got.Views {
		gk = append(gk, viewKey(v))
	}
	slices.Sort(wk)
	slices.Sort(gk)
	if !slices.Equal(wk, gk) {
		diffs = append(diffs, fmt.Sprintf("views are [%s], were [%s]", strings.Join(gk, " "), strings.Join(wk, " ")))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("LU %s differs from its captured identity: %s", want.GUID, strings.Join(diffs, "; "))
	}
	return nil
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
				st.Planned = append(st.Planned, append(c.ResizeLUArgv(lu.GUID, 0)[:3], "<volsize after the rollback, if smaller than "+strconv.FormatUint(lu.Size, 10)+">", lu.GUID))
			case want.Size != lu.Size:
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

func (s *sagaSteps) verify() engine.Step {
	st := engine.Step{Name: "verify",
		Description: "LU online with the captured identity (size at most the volume's), views equal, no newer snapshot left"}
	if len(s.op.Members) > 0 {
		st.Description = "for every volume of the group: " + st.Description
	}
	z := s.zfs(nil)
	c := s.b.stmf(nil)
	for _, id := range s.op.Volumes() {
		if len(id.LUs) > 0 && id.SnapshotVolsize == 0 {
			st.Planned = append(st.Planned, z.GetArgv(id.Volume, "volsize"))
		}
		for _, lu := range id.LUs {
			st.Planned = append(st.Planned, c.LookupLUArgv(lu.GUID), c.ListViewArgv(lu.GUID))
		}
		st.Planned = append(st.Planned, zvol.VerifyPlanned(z, s.b.zpool(nil), id)...)
	}
	// The rollback's effect was decided when it ran (its exit status, or
	// its Check): nothing read here can be trusted for that, since the
	// views are live and initiators write. Only what no initiator changes
	// is checked: the LU's identity and views, and the snapshot list.
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		for _, id := range s.op.Volumes() {
			if err := s.verifyVolume(ctx, x, id); err != nil {
				return err
			}
		}
		return nil
	}
	return st
}

func (s *sagaSteps) verifyVolume(ctx context.Context, x *engine.Exec, id store.Identity) error {
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
	err := zvol.Verify(ctx, s.zfs(x.Run), s.b.zpool(x.Run), id, x.Note)
	if err != nil && len(s.op.Members) > 0 && errors.Is(err, engine.ErrNotCommitted) {
		// In a group the others are rolled back: never backward from
		// here, only forward or to the admin.
		return fmt.Errorf("%s: %v", id.Volume, strings.Replace(err.Error(), engine.ErrNotCommitted.Error(), "not at its snapshot", 1))
	}
	return err
}

func (s *sagaSteps) attachZones(zs []store.Zone) engine.Step {
	// recover --initialize-hostdata overrides keep_hostdata: the plain
	// attach failed, and the caller consented to fresh host data.
	keep := s.op.Options.KeepHostdata && !s.op.Options.InitializeHostdata
	var kzs, plain []store.Zone
	for _, z := range zs {
		if isKernelZone(z) {
			kzs = append(kzs, z)
		} else {
			plain = append(plain, z)
		}
	}
	var descs []string
	switch {
	case len(kzs) > 0 && keep:
		descs = append(descs, "attach "+zoneNames(kzs)+" keeping the rolled-back host data (keep_hostdata)")
	case len(kzs) > 0 && s.op.Options.KeepHostdata:
		descs = append(descs, "attach "+zoneNames(kzs)+" with fresh host data after all (recover's initialize_hostdata: the rolled-back host data would not do)")
	case len(kzs) > 0:
		descs = append(descs, "attach "+zoneNames(kzs)+" with fresh host data (the rolled-back disk carries the snapshot's host data: old key, old owner)")
	}
	if len(plain) > 0 {
		// Only kernel zones have host data (docs/platform/zone-storage.md).
		descs = append(descs, "attach "+zoneNames(plain)+" (not kernel zones: no host data, a plain attach)")
	}
	desc := strings.Join(descs, "; ")
	st := engine.Step{Name: "attach-zones", Description: desc}
	verbFor := func(z store.Zone) zones.Verb {
		if isKernelZone(z) && !keep {
			return zones.AttachInit
		}
		return zones.Attach
	}
	for _, z := range zs {
		st.Planned = append(st.Planned, s.planZone(z, verbFor(z))...)
	}
	st.Do = func(ctx context.Context, x *engine.Exec) error {
		for _, z := range zs {
			err := s.attach(ctx, x, z, verbFor(z))
			if err != nil && kz.IsKeyError(execx.Stderr(err)) {
				// Messages name volctl's flags: the admin reads them.
				return engine.Permanent(fmt.Errorf("%w: the disk's host data is from %s and encrypted with an older key, so the zone cannot be attached keeping it (--keep-hostdata); to attach it with fresh host data (zoneadm attach -x initialize-hostdata), run: volctl recover %d --initialize-hostdata",
					err, s.op.Snapshot, s.op.ID))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return st
}

// attach attaches z on the host that detached it. When the disk's host
// data is claimed by another host (the snapshot was taken while the zone
// ran elsewhere, and --keep-hostdata kept that claim), it takes the zone
// over (attach -x force-takeover) only once every other host that has the
// zone configured reports it not running (docs/platform/zones.md §5.5, §9
// step 7).
func (s *sagaSteps) attach(ctx context.Context, x *engine.Exec, z store.Zone, verb zones.Verb) error {
	err := s.act(ctx, x, z, verb)
	if err == nil || !inUse(err) {
		return err
	}
	if why := s.runningElsewhere(ctx, x, z); why != "" {
		return fmt.Errorf("%w; not taking it over: %s", err, why)
	}
	x.Note("zone %s: the host data names another host, and no other host that has the zone configured runs it: attach -x force-takeover", z.Name)
	return s.act(ctx, x, z, zones.AttachTakeover)
}

// runningElsewhere asks every other host that has z configured for its
// state; it says which one runs it (or could not be asked), or "".
func (s *sagaSteps) runningElsewhere(ctx context.Context, x *engine.Exec, z store.Zone) string {
	for _, h := range z.ConfiguredOn {
		if h == "" {
			st, err := s.b.kz(x.Run).State(ctx, z.Name)
			if err != nil {
				return fmt.Sprintf("this host's state of %s cannot be read: %v", z.Name, err)
			}
			if st != "configured" && st != "installed" {
				return fmt.Sprintf("zone %s is %s on this host", z.Name, st)
			}
			continue
		}
		if s.b.Peers == nil {
			return "no peers are configured to ask " + h
		}
		for _, r := range s.b.Peers.Find(ctx, zones.Query{Zone: z.Name}) {
			if r.Peer != h {
				continue
			}
			if r.Err != nil {
				return fmt.Sprintf("peer %s, which has %s configured, did not answer: %v", h, z.Name, r.Err)
			}
			for _, pz := range r.Zones {
				if pz.Name == z.Name && pz.State != "configured" && pz.State != "installed" {
					return fmt.Sprintf("zone %s is %s on peer %s", z.Name, pz.State, h)
				}
			}
		}
	}
	return ""
}

func (s *sagaSteps) bootZones(zs []store.Zone) engine.Step {
	st := engine.Step{Name: "boot-zones", Description: "boot the zones that were running: " + zoneNames(zs)}
	for _, z := range zs {
		st.Planned = append(st.Planned, s.planZone(z, zones.Boot)...)
	}
	st.Do = s.eachZone(zs, zones.Boot)
	return st
}
