package engine

// Rolling back without losing anything (issue 22, docs/keep.md): a
// rollback with Options.Keep sets the volume aside as a kept dataset
// instead of destroying what it had; an undo swaps a kept dataset back (a
// keep itself, so it can be undone in turn); a forget destroys an
// operation's kept datasets. Undo and forget are planned, locked, held,
// journaled and run as a rollback is (the same planAndStart, saga, request
// ids, waits, events and watch): a Request with special set. The kept
// records are the journal's (store/kept.go), written with the operation.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/internal/wire"
	"github.com/volctl/volctl/store"
)

// ConsentDestroyKept is forget's consent: the kept datasets are destroyed
// for good (the API's field and the CLI's flag, --destroy-kept).
const ConsentDestroyKept = wire.ConsentDestroyKept

// special is what an undo or a forget adds to a Request.
type special struct {
	// k is the operation's kind (store.KindUndo, store.KindForget).
	k string
	// check re-reads the journal under the volume locks: the undone or
	// forgotten operation may have changed since the request was built.
	check func() error
	// capture replaces the backend's capture (forget: nothing on the
	// volume is captured; the identities come from the kept records).
	capture func(ctx context.Context, run execx.RunFunc) ([]store.Identity, []string, error)
}

func (s *special) kind() string {
	if s == nil {
		return store.KindRollback
	}
	return s.k
}

func (s *special) recheck() error {
	if s == nil || s.check == nil {
		return nil
	}
	return s.check()
}

// keptSuffix is zvol.KeptSuffix (daemon/zvol/keep.go; zvol imports the
// engine, so the engine cannot import it): TestKeptSuffixIsZvols keeps
// them the same.
func keptSuffix(op uint64, created time.Time) string {
	return fmt.Sprintf(".kept-%d-%s", op, created.UTC().Format("20060102T150405Z"))
}

// checkKeep refuses, before anything runs, options that mean nothing with
// keep and the fields only the engine sets.
func checkKeep(req Request) error {
	o := req.Options
	if o.Keep && o.DestroyNewer {
		what := "a rollback with keep"
		if req.special.kind() == store.KindUndo {
			what = "an undo"
		}
		return fmt.Errorf("nothing is destroyed with --keep (%s sets the newer snapshots aside with the data): leave out destroy_newer: %w",
			what, InvalidOptions(ConsentDestroyNewer))
	}
	if req.special != nil {
		return nil
	}
	if o.KeptSuffix != "" || o.Undo != 0 || o.Restore != nil || o.Forget != 0 || o.ForgetDatasets != nil {
		return fmt.Errorf("kept_suffix, undo, restore, forget and forget_datasets are set by volctld (volctl undo, volctl forget), not in a rollback request: %w", ErrInvalid)
	}
	return nil
}

// nextID is the id the next operation gets if none is planned before it
// (beginPlanned's rule).
func (e *Engine) nextID() (uint64, error) {
	last, err := e.db.LastOperationID()
	if err != nil {
		return 0, fmt.Errorf("read the last operation id: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for id := range e.running {
		last = max(last, id)
	}
	return last + 1, nil
}

// provisionalSuffix names the kept datasets of a dry run, which has no id:
// by the id the next operation gets and now, and says so (the warning).
func (e *Engine) provisionalSuffix(req *Request) ([]string, error) {
	if !req.Options.Keep {
		return nil, nil
	}
	id, err := e.nextID()
	if err != nil {
		return nil, err
	}
	req.Options.KeptSuffix = keptSuffix(id, e.now())
	return []string{fmt.Sprintf("the kept dataset names are provisional (%s): they carry the operation's id and creation time, known when it starts (operation %d if none starts before it)",
		req.Options.KeptSuffix, id)}, nil
}

// captureOf is the capture of req: the backend's (every volume side by
// side), or a forget's own. A keep's capture must name every kept
// dataset (and an undo's what it restores) as the engine asked: a backend
// that does not is refused rather than run a rollback that keeps nothing.
func (e *Engine) captureOf(ctx context.Context, run execx.RunFunc, req Request) ([]store.Identity, []string, error) {
	if req.special != nil && req.special.capture != nil {
		return req.special.capture(ctx, run)
	}
	ids, warnings, err := e.captureGroup(ctx, run, req)
	if err != nil && !errors.Is(err, ErrNeedsConsent) || !req.Options.Keep {
		return ids, warnings, err
	}
	for _, id := range ids {
		if want := id.Volume + req.Options.KeptSuffix; id.Kept != want {
			return nil, nil, fmt.Errorf("platform %s captured %s without its kept dataset (%q, want %q): it cannot keep; refusing rather than roll back without keeping: %w",
				e.backend.Name(), id.Volume, id.Kept, want, ErrPrecondition)
		}
		if req.special.kind() == store.KindUndo && id.Restore != req.Options.Restore[id.Volume] {
			return nil, nil, fmt.Errorf("platform %s captured %s to restore %q, not the kept dataset %q: %w",
				e.backend.Name(), id.Volume, id.Restore, req.Options.Restore[id.Volume], ErrPrecondition)
		}
	}
	return ids, warnings, err
}

// UndoRequest is an undo: the keep rollback (or undo) to reverse, and the
// caller's consents.
type UndoRequest struct {
	// Operation is the keep rollback or undo to reverse.
	Operation uint64
	// Options are the caller's consents (HaltZones, AcceptSessions,
	// SkipPeers, KeepHostdata, OnlyTheseDisks); the engine fills Keep,
	// KeptSuffix, Undo, Restore and Group.
	Options     store.Options
	RequestID   string
	Wait        bool
	RequestedBy string
}

// PlanUndo is an undo's dry run, as Plan is a rollback's.
func (e *Engine) PlanUndo(ctx context.Context, req UndoRequest) (*store.Operation, error) {
	r, err := e.undoRequest(req)
	if err != nil {
		return nil, err
	}
	return e.Plan(ctx, r)
}

// Undo swaps back what operation req.Operation (a keep rollback or an
// undo that succeeded, the last to change its volumes) set aside: an
// operation of kind undo, run as Rollback runs a rollback. What the volume
// has until then is kept in turn.
func (e *Engine) Undo(ctx context.Context, req UndoRequest, emit func(Event)) (*store.Operation, error) {
	r, err := e.undoRequest(req)
	if err != nil {
		return nil, err
	}
	return e.Rollback(ctx, r, emit)
}

// undoRequest is the rollback request an undo runs as: the undone
// operation's snapshots, each volume restoring its kept dataset.
func (e *Engine) undoRequest(req UndoRequest) (Request, error) {
	o := req.Options
	if o.DestroyNewer {
		return Request{}, fmt.Errorf("an undo destroys nothing (it keeps what the volume has, as a keep rollback does): leave out destroy_newer: %w",
			InvalidOptions(ConsentDestroyNewer))
	}
	// n is the undone operation, or the undo this request id journaled
	// already (a retry follows it; n's records say undone by now).
	n, err := e.retried(req.RequestID, store.KindUndo, req.Operation)
	if err != nil {
		return Request{}, err
	}
	if n != nil {
		o.Restore = maps.Clone(n.Options.Restore)
	} else {
		var recs []store.Kept
		if n, recs, err = e.undoable(req.Operation); err != nil {
			return Request{}, err
		}
		o.Restore = map[string]string{}
		for _, k := range recs {
			o.Restore[k.Volume] = k.Dataset
		}
	}
	o.Keep, o.KeptSuffix, o.Undo = true, "", req.Operation
	// The undo swaps back exactly the disks n rolled back: the consent to
	// leave out the others of their zones was given for that set.
	o.OnlyTheseDisks = o.OnlyTheseDisks || n.Options.OnlyTheseDisks
	o.Group, o.Forget, o.ForgetDatasets, o.Repersist, o.InitializeHostdata = nil, 0, nil, false, false
	r := Request{Snapshot: n.Snapshot, Options: o, RequestID: req.RequestID, Wait: req.Wait, RequestedBy: req.RequestedBy,
		special: &special{k: store.KindUndo, check: func() error { _, _, err := e.undoable(req.Operation); return err }}}
	if len(n.Options.Group) > 1 {
		r.Snapshot, r.More = n.Options.Group[0], slices.Clone(n.Options.Group[1:])
	}
	return r, nil
}

// retried is the operation of kind for target (Options.Undo or Forget)
// that request id rid journaled already, or nil: a request sent again
// follows it (the journal answers for the id, requests.go) instead of
// being refused for what it did.
func (e *Engine) retried(rid, kind string, target uint64) (*store.Operation, error) {
	if rid == "" {
		return nil, nil
	}
	op, err := e.byRequest(rid)
	if err != nil || op == nil || op.Kind != kind {
		return nil, err
	}
	if kind == store.KindUndo && op.Options.Undo == target || kind == store.KindForget && op.Options.Forget == target {
		return op, nil
	}
	return nil, nil
}

// opVolumes are every volume of op.
func opVolumes(op *store.Operation) []string {
	vols, _ := op.Targets()
	for _, id := range op.Volumes() {
		if id.Volume != "" && !slices.Contains(vols, id.Volume) {
			vols = append(vols, id.Volume)
		}
	}
	return vols
}

// kindWords names an operation's kind for a sentence: "a rollback with
// --keep", "an undo".
func kindWords(op *store.Operation) string {
	switch {
	case op.Kind == store.KindUndo:
		return "an undo"
	case op.Kind == store.KindForget:
		return "a forget"
	case op.Options.Keep:
		return "a rollback with --keep"
	}
	return "a rollback"
}

// undoable reads operation id and its kept records, and refuses (naming
// why) an undo of it: it is not a keep rollback or undo, did not succeed,
// its kept datasets are not all kept (undone already, forgotten), a later
// operation changed one of its volumes (undo goes last-in first-out), or
// an operation that needs attention holds one.
func (e *Engine) undoable(id uint64) (*store.Operation, []store.Kept, error) {
	n, err := e.Operation(id)
	if err != nil {
		return nil, nil, err
	}
	if !store.KeepsData(n) {
		return nil, nil, fmt.Errorf("operation %d is %s: only a rollback with --keep or an undo kept what it replaced, so only those can be undone: %w",
			id, kindWords(n), ErrPrecondition)
	}
	if n.State != store.OpSucceeded {
		return nil, nil, fmt.Errorf("operation %d %s; only one that succeeded can be undone: %w", id, stateWords(n.State), ErrPrecondition)
	}
	recs, err := e.db.KeptOf(id)
	if err != nil {
		return nil, nil, err
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("operation %d has no kept dataset in the journal: nothing to swap back: %w", id, ErrPrecondition)
	}
	for _, k := range recs {
		switch k.State {
		case store.KeptKept:
		case store.KeptUndone:
			return nil, nil, fmt.Errorf("operation %d was undone already, by operation %d (volctl undo %d swaps back again): %w", id, k.By, k.By, ErrPrecondition)
		case store.KeptForgotten:
			return nil, nil, fmt.Errorf("the kept data of operation %d was forgotten (destroyed) by operation %d: there is nothing to swap back: %w", id, k.By, ErrPrecondition)
		default:
			return nil, nil, fmt.Errorf("kept dataset %s of operation %d is in state %q, which this volctld does not know: %w", k.Dataset, id, k.State, ErrPrecondition)
		}
	}
	vols := opVolumes(n)
	later, err := e.db.LaterOperations(id, func(op *store.Operation) bool {
		// A forget changes no volume (it destroys datasets beside them).
		return op.Kind != store.KindForget && slices.ContainsFunc(vols, op.OnVolume)
	})
	if err != nil {
		return nil, nil, err
	}
	if len(later) > 0 {
		m := later[0] // the newest: the one to undo first
		vol := vols[slices.IndexFunc(vols, m.OnVolume)]
		if store.KeepsData(m) && m.State == store.OpSucceeded {
			return nil, nil, fmt.Errorf("operation %d (%s) changed %s after operation %d: undo goes last-in first-out, so undo %d first (volctl undo %d): %w",
				m.ID, kindWords(m), vol, id, m.ID, m.ID, ErrPrecondition)
		}
		return nil, nil, fmt.Errorf("operation %d (%s, %s) changed %s after operation %d, so operation %d can no longer be undone; its kept datasets stay until forgotten (volctl kept; volctl forget %d --destroy-kept): %w",
			m.ID, kindWords(m), m.State, vol, id, id, id, ErrPrecondition)
	}
	if err := e.checkHeldVolumes(vols...); err != nil {
		return nil, nil, err
	}
	return n, recs, nil
}

// ForgetRequest is a forget: the operation whose kept datasets are
// destroyed, and the consent.
type ForgetRequest struct {
	Operation uint64
	// DestroyKept is the consent; without it the plan comes with an
	// error wrapping ErrNeedsConsent (ConsentDestroyKept).
	DestroyKept bool
	RequestID   string
	RequestedBy string
}

// PlanForget is a forget's dry run.
func (e *Engine) PlanForget(ctx context.Context, req ForgetRequest) (*store.Operation, error) {
	r, err := e.forgetRequest(req)
	if err != nil {
		return nil, err
	}
	return e.Plan(ctx, r)
}

// Forget destroys the kept datasets of operation req.Operation: an
// operation of kind forget, whose one step (the backend's destroy-kept,
// the commit) destroys each after reading its mark. Without the consent it
// returns the plan and the error that asks for it.
func (e *Engine) Forget(ctx context.Context, req ForgetRequest, emit func(Event)) (*store.Operation, error) {
	if !req.DestroyKept {
		return e.PlanForget(ctx, req)
	}
	r, err := e.forgetRequest(req)
	if err != nil {
		return nil, err
	}
	return e.Rollback(ctx, r, emit)
}

// forgetRequest is the request a forget runs as. Its capture is the
// backend's check of each kept dataset (Capture with Options.Forget and
// that one dataset in ForgetDatasets: it exists and carries N's mark),
// the identities are the kept records (volume, snapshot, kept dataset),
// and what each dataset holds now is read for the plan.
func (e *Engine) forgetRequest(req ForgetRequest) (Request, error) {
	// n is the forgotten operation, or the forget this request id
	// journaled already (a retry follows it).
	n, err := e.retried(req.RequestID, store.KindForget, req.Operation)
	if err != nil {
		return Request{}, err
	}
	var recs []store.Kept
	if n != nil {
		for _, id := range n.Volumes() {
			recs = append(recs, store.Kept{Op: req.Operation, Volume: id.Volume, Snapshot: id.Snapshot, Dataset: id.Kept, UsedAtCapture: id.KeptUsed})
		}
	} else if n, recs, err = e.forgettable(req.Operation); err != nil {
		return Request{}, err
	}
	o := store.Options{Forget: req.Operation}
	for _, k := range recs {
		o.ForgetDatasets = append(o.ForgetDatasets, k.Dataset)
	}
	capture := func(ctx context.Context, run execx.RunFunc) ([]store.Identity, []string, error) {
		var ids []store.Identity
		var warnings []string
		kr, _ := e.backend.(KeptReader)
		for _, k := range recs {
			// The backend checks the dataset on the host (it exists and
			// carries N's mark), one at a time: the volume's snapshot
			// names the volume, the options the one dataset.
			id, w, err := e.backend.Capture(ctx, run, k.Snapshot, store.Options{Forget: req.Operation, ForgetDatasets: []string{k.Dataset}})
			if err != nil {
				return nil, nil, err
			}
			id.Volume, id.Snapshot, id.Kept, id.KeptUsed = k.Volume, k.Snapshot, k.Dataset, k.UsedAtCapture
			ids = append(ids, id)
			warnings = append(warnings, w...)
			if kr == nil {
				continue
			}
			if used, err := kr.KeptUsed(ctx, run, k.Dataset); err != nil {
				warnings = append(warnings, fmt.Sprintf("what %s holds could not be read: %v", k.Dataset, err))
			} else {
				warnings = append(warnings, fmt.Sprintf("%s holds %d bytes now: the pool gets them back", k.Dataset, used))
			}
		}
		if !req.DestroyKept {
			return ids, warnings, fmt.Errorf("forget destroys the kept datasets of operation %d (%s) and their snapshots, for good: %w",
				req.Operation, strings.Join(o.ForgetDatasets, ", "), NeedsConsent(ConsentDestroyKept))
		}
		return ids, warnings, nil
	}
	r := Request{Snapshot: n.Snapshot, Options: o, RequestID: req.RequestID, RequestedBy: req.RequestedBy,
		special: &special{k: store.KindForget, capture: capture, check: func() error { _, _, err := e.forgettable(req.Operation); return err }}}
	if len(n.Options.Group) > 1 {
		r.Snapshot, r.More = n.Options.Group[0], slices.Clone(n.Options.Group[1:])
	}
	return r, nil
}

// forgettable reads operation id and its kept records, and refuses a
// forget unless every one is kept.
func (e *Engine) forgettable(id uint64) (*store.Operation, []store.Kept, error) {
	n, err := e.Operation(id)
	if err != nil {
		return nil, nil, err
	}
	if !store.KeepsData(n) {
		return nil, nil, fmt.Errorf("operation %d is %s: it kept nothing to forget: %w", id, kindWords(n), ErrPrecondition)
	}
	recs, err := e.db.KeptOf(id)
	if err != nil {
		return nil, nil, err
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("operation %d (%s) has no kept dataset in the journal: it kept nothing to forget: %w", id, stateWords(n.State), ErrPrecondition)
	}
	for _, k := range recs {
		switch k.State {
		case store.KeptKept:
		case store.KeptUndone:
			return nil, nil, fmt.Errorf("the kept dataset %s is the volume again since operation %d: forget that operation instead (volctl forget %d --destroy-kept): %w",
				k.Dataset, k.By, k.By, ErrPrecondition)
		case store.KeptForgotten:
			return nil, nil, fmt.Errorf("the kept datasets of operation %d were forgotten (destroyed) already, by operation %d: %w", id, k.By, ErrPrecondition)
		default:
			return nil, nil, fmt.Errorf("kept dataset %s of operation %d is in state %q, which this volctld does not know: %w", k.Dataset, id, k.State, ErrPrecondition)
		}
	}
	return n, recs, nil
}

// KeptReader is a backend that reads what a kept dataset holds (zfs used,
// bytes): Kept and forget's plan ask it through a type assertion.
type KeptReader interface {
	KeptUsed(ctx context.Context, run execx.RunFunc, dataset string) (uint64, error)
}

// KeptData is a kept record and what its dataset holds now.
type KeptData struct {
	store.Kept
	// Used is what the dataset holds now (zfs used, bytes), read from the
	// host for a kept dataset.
	Used uint64
	// UsedErr is why Used could not be read (it is never 0 for unknown);
	// for a dataset undone or forgotten, that it is not there as kept.
	UsedErr error
}

// Kept lists the kept records of volume ("" for every volume), newest
// first, each with what its dataset holds now.
func (e *Engine) Kept(ctx context.Context, volume string) ([]KeptData, error) {
	recs, err := e.db.ListKept()
	if err != nil {
		return nil, err
	}
	kr, _ := e.backend.(KeptReader)
	var out []KeptData
	for _, k := range recs {
		if volume != "" && k.Volume != volume {
			continue
		}
		d := KeptData{Kept: k}
		switch {
		case k.State == store.KeptUndone:
			d.UsedErr = fmt.Errorf("undone by operation %d: it is %s again", k.By, k.Volume)
		case k.State == store.KeptForgotten:
			d.UsedErr = fmt.Errorf("forgotten by operation %d: destroyed", k.By)
		case kr == nil:
			d.UsedErr = fmt.Errorf("platform %s does not read what a kept dataset holds", e.backend.Name())
		default:
			d.Used, d.UsedErr = kr.KeptUsed(ctx, e.plainRun, k.Dataset)
		}
		out = append(out, d)
	}
	return out, nil
}

// KeptObserver is an Observer that counts the kept datasets (metrics).
type KeptObserver interface {
	KeptDatasets(n int)
}

// reportKept tells the observer how many datasets are kept now.
func (e *Engine) reportKept() {
	obs, ok := e.cfg.Observer.(KeptObserver)
	if !ok {
		return
	}
	recs, err := e.db.ListKept()
	if err != nil {
		e.log.Warn("cannot count the kept datasets for the metrics", "error", err)
		return
	}
	n := 0
	for _, k := range recs {
		if k.State == store.KeptKept {
			n++
		}
	}
	obs.KeptDatasets(n)
}

// keptChanged runs when an operation's saga has stopped, its locks gone:
// one that keeps or forgets changes the count, and retention looks again
// once a keep has ended.
func (e *Engine) keptChanged(r *inflight) {
	op := r.last
	if op == nil || !store.KeepsData(op) && op.Kind != store.KindForget {
		return
	}
	e.reportKept()
	if store.KeepsData(op) && op.State.Terminal() {
		e.kickRetention()
	}
}
