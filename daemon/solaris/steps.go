package solaris

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/volctl/volctl/daemon/comstar"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/daemon/zfs"
	"github.com/volctl/volctl/daemon/zvol"
	"github.com/volctl/volctl/store"
)

// The step table, in the order Steps builds it (doc.go says what each step
// does and why it is where it is); a step whose subject is absent is left
// out. [window]: the LUs are away.
//
//	step             when                              code
//	stop-zones       a zone on the volume runs         steps_zones.go
//	detach-zones     a zone is installed or running    steps_zones.go
//	delete-lu        [window] the volume has LUs       steps_lu.go
//	rollback         [window] the commit               steps_rollback.go
//	finish-rollback  [window] groups only              steps_rollback.go
//	import-lu        [window] the volume has LUs       steps_lu.go (the wait: lus.go)
//	restore-views    the volume has LUs                steps_lu.go
//	resize-lu        an LU may end past the volume     steps_lu.go
//	verify           always                            steps_verify.go
//	attach-zones     a zone was installed or running   steps_zones.go
//	check-boot       a running kz's boot disk changes  bootcheck.go
//	boot-zones       a zone was running                steps_zones.go
//
// A rollback that keeps what it replaces (--keep) and an undo
// (steps_keep.go; the zfs steps are zvol's keepsteps.go):
//
//	stop-zones, detach-zones, delete-lu            as above (delete-lu's undo
//	                                               only onto the volume itself)
//	set-aside        [window] zfs rename V KEPT        zvol
//	clone            [window] keep: zfs clone -o .. KEPT@S V    zvol
//	bring-back       [window] undo: zfs rename RESTORE V        zvol
//	promote          [window] the commit: zfs promote V         zvol
//	finish-promote   [window] groups only              zvol
//	create-lu        [window] the volume has LUs       steps_keep.go (never import-lu)
//	restore-views, resize-lu                       as above
//	verify           always                            steps_keep.go
//	mark-kept        always: zfs set volctl:kept       zvol
//	attach-zones, boot-zones                       as above
//
// A forget: destroy-kept (zvol), its commit, and finish-destroy-kept when it
// has several kept datasets.
//
// This file holds the table and what the steps share.

// Steps implements engine.Backend. The list depends only on the journaled
// identity and options, so recovery rebuilds exactly the steps it ran.
func (b *Backend) Steps(op *store.Operation) []engine.Step {
	if op.Kind == store.KindRescue {
		return b.rescueSteps(op) // steps_rescue.go
	}
	s := &sagaSteps{b: b, op: op}
	if isForget(op) {
		return zvol.DestroyKeptSteps(s.zfs, op)
	}
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
	if keeps(op.Options) {
		return s.keepSteps(halted, attached) // steps_keep.go
	}
	if id.Unchanged && len(op.Members) == 0 {
		// Nothing to roll back (zvol.ProvedUnchanged): no zone stops, no
		// LU goes; the step checks it still holds.
		return []engine.Step{zvol.UnchangedStep(func(run execx.RunFunc) zfs.Cmd { return s.zfs(run) }, id)}
	}
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
		if zs := bootChecked(halted); len(zs) > 0 {
			steps = append(steps, s.checkBoot(zs)) // bootcheck.go
		}
		steps = append(steps, s.bootZones(halted))
	}
	return steps
}

type sagaSteps struct {
	b  *Backend
	op *store.Operation
}

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

// needsResize: an LU of the volume may end past the rolled-back volume;
// with keep (id.Kept), an LU may differ from the volume's size at all:
// create-lu gives a new LU the whole clone.
func needsResize(id store.Identity) bool {
	return len(id.LUs) > 0 && (id.SnapshotVolsize == 0 ||
		slices.ContainsFunc(id.LUs, func(lu store.LU) bool {
			return resizedTo(id, lu) != lu.Size || id.Kept != "" && lu.Size != id.SnapshotVolsize
		}))
}

// resizedTo is the size resize-lu gives lu where the volume's size at the
// snapshot is known: the captured one, at most the volume's.
func resizedTo(id store.Identity, lu store.LU) uint64 {
	return afterRollback(id.SnapshotVolsize, lu).Size
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

// eachLUAtOnce is a step function that runs fn for every captured LU,
// side by side (import-lu and create-lu touch one LU each, and nothing
// else).
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
