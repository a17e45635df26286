// Package engine runs rollbacks as sagas: an ordered list of steps, each
// with a compensating action, journaled where recovery needs it. What the
// steps do on a given platform comes from a Backend.
//
// Where each concern lives:
//
//	backend.go    the backend contract (Backend, Inventory, Volume, Snapshot)
//	saga.go       Step and its states, the decision (forward or backward),
//	              the retry policy and the saga runner
//	engine.go     the Engine: planning, Rollback, Recover, Start (resume at
//	              start), the journal writes and the capabilities probe
//	inventory.go  volumes and snapshots through the backend
//	events.go     operations in flight, their event stream and status view,
//	              and Watch (a replay from the journal, then live)
//	locks.go      one operation at a time per volume and per zone
//	holds.go      an operation that needs attention holds its volumes and
//	              zones until recovered or resolved (Resolve)
//	planned.go    an operation from its capture on: its id, in flight
//	              (planned) before the journal has it
//	attention.go  what the operations that need attention left
//	errors.go     the sentinels the server maps to gRPC codes
package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// Config tunes the engine.
type Config struct {
	// Timeouts per command name (the base name of its path); Default for
	// the others.
	Timeouts       map[string]time.Duration
	DefaultTimeout time.Duration
	// Retries and RetryDelay bound the roll-forward after the point of no
	// return (and the undo of a compensation).
	Retries    int
	RetryDelay time.Duration
	// MaxOutput caps what is kept of each command's stdout and stderr.
	MaxOutput int
	// Observer, when set, sees steps and operations end (metrics).
	Observer Observer
	// JournalFault is for fault-injection tests: it is called before every
	// journal write of an operation, and an error it returns is that
	// write's error (a full disk, an I/O error).
	JournalFault func(op *store.Operation) error
	// Retention forgets kept datasets by age and count (retention.go).
	Retention Retention
	// JournalRetention drops finished operations from the journal by age
	// and count (retention_journal.go).
	JournalRetention JournalRetention
	// Scheduling (sched.go): the commands of open outage windows go
	// first; the others run MaxCommands at once; MaxWindows windows are
	// open at once; a command running past Stall stops counting. 0: the
	// defaults; negative: no bound (no stall).
	MaxCommands int
	MaxWindows  int
	Stall       time.Duration
	// NoSharedReads runs every read of every operation as its own
	// command, even when another operation's identical read is still
	// waiting for the scheduler (sched.go, share): for benchmarks that
	// compare the two.
	NoSharedReads bool
}

// Observer is told about progress; it must not block.
type Observer interface {
	StepFinished(step string, state store.StepState, d time.Duration)
	OperationFinished(op *store.Operation)
	Recovered(op *store.Operation, how string)
}

type nopObserver struct{}

func (nopObserver) StepFinished(string, store.StepState, time.Duration) {}
func (nopObserver) OperationFinished(*store.Operation)                  {}
func (nopObserver) Recovered(*store.Operation, string)                  {}

// Engine plans and runs operations.
type Engine struct {
	db      *store.DB
	backend Backend
	cfg     Config
	log     hclog.Logger
	locks   *locks
	now     func() time.Time
	// requests are the request ids being planned (requests.go).
	requests requests

	// base is the daemon's lifetime: operations run on it, not on the
	// caller's context, so a client that goes away does not stop a rollback
	// half-way. Cancelling it stops operations at the next step boundary.
	base context.Context
	wg   sync.WaitGroup

	mu      sync.Mutex
	running map[uint64]*inflight

	probeMu sync.Mutex
	caps    store.Capabilities
	probed  bool

	// stale holds the records of operations that ended while the journal
	// could not be written; they are written before anything new starts.
	staleMu sync.Mutex
	stale   map[uint64]*store.Operation

	// resumed are the operations Start resumed (Resumed, callers.go).
	resumed []uint64

	// retainKick asks the retention loop for a round (retention.go).
	retainMu   sync.Mutex
	retainKick chan struct{}

	// windows are the open outage windows; long journal reads wait for
	// them (windows.go).
	windows *windows

	// sched orders the host's commands (sched.go); shared lets
	// operations share identical reads waiting for it (nil: they don't).
	sched  *execx.Scheduler
	shared *execx.Shared
}

// putOperation writes an operation's record.
func (e *Engine) putOperation(op *store.Operation) error {
	if f := e.cfg.JournalFault; f != nil {
		if err := f(op); err != nil {
			return err
		}
	}
	return e.db.PutOperation(op)
}

func (e *Engine) keepStale(op *store.Operation, err error) {
	e.staleMu.Lock()
	defer e.staleMu.Unlock()
	if e.stale == nil {
		e.stale = map[uint64]*store.Operation{}
	}
	e.stale[op.ID] = op
	e.log.Error("journal unwritable: the record of an ended operation is kept in memory; new operations are refused until it is written", "op", op.ID, "state", op.State, "error", err)
}

// journalWritable writes the records the journal missed. An error means it
// still cannot be written, and whatever asked must not start.
func (e *Engine) journalWritable() error {
	e.staleMu.Lock()
	defer e.staleMu.Unlock()
	for id, op := range e.stale {
		if err := e.putOperation(op); err != nil {
			return fmt.Errorf("the journal cannot be written (%v): operation %d ended but its record is not on disk yet; new operations are refused until it can be written: %w",
				err, id, ErrUnavailable)
		}
		delete(e.stale, id)
		e.log.Info("journal writable again: wrote the record of an operation that ended meanwhile", "op", id, "state", op.State)
	}
	return nil
}

// New makes an engine. Start resumes unfinished operations.
func New(base context.Context, db *store.DB, backend Backend, cfg Config, log hclog.Logger) *Engine {
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 2 * time.Minute
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 500 * time.Millisecond
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	e := &Engine{db: db, backend: backend, cfg: cfg, log: log, locks: newLocks(),
		now: time.Now, base: base, running: map[uint64]*inflight{}, windows: newWindows(),
		sched: newScheduler(cfg)}
	if !cfg.NoSharedReads {
		e.shared = &execx.Shared{}
	}
	db.SetReadPace(e.windows.readSlot) // windows.go
	return e
}

// Backend returns the platform backend.
func (e *Engine) Backend() Backend { return e.backend }

// Wait blocks until every running operation has stopped (after the base
// context is cancelled, at their next step boundary).
func (e *Engine) Wait() { e.wg.Wait() }

// Running returns the ids of operations in progress.
func (e *Engine) Running() []uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]uint64, 0, len(e.running))
	for id := range e.running {
		ids = append(ids, id)
	}
	return ids
}

// timeout is the deadline for one command.
func (e *Engine) timeout(argv []string) time.Duration {
	if d, ok := e.cfg.Timeouts[filepath.Base(argv[0])]; ok && d > 0 {
		return d
	}
	return e.cfg.DefaultTimeout
}

// CommandTimeout is the configured deadline of a command.
func (e *Engine) CommandTimeout(argv []string) time.Duration { return e.timeout(argv) }

// plainRun runs a command without journaling it (inventory reads).
func (e *Engine) plainRun(ctx context.Context, argv []string) (*execx.Result, error) {
	return e.runFor(ctx, argv, nil)
}

// runFor runs a command outside any saga for owner (a capture's recorder;
// nil: nobody), whose reads may be shared with other operations' (sched.go).
func (e *Engine) runFor(ctx context.Context, argv []string, owner any) (*execx.Result, error) {
	r := execx.Runner{Timeout: e.timeout(argv), MaxOutput: e.cfg.MaxOutput, Sched: e.sched}
	if owner != nil {
		e.share(&r, argv, owner)
	}
	return r.Run(ctx, argv)
}

// Probe runs the backend's capability probes unless they already
// succeeded, logging the result once. Calls that build argv wait for it.
func (e *Engine) Probe(ctx context.Context) (store.Capabilities, error) {
	e.probeMu.Lock()
	defer e.probeMu.Unlock()
	if e.probed {
		return e.caps, nil
	}
	caps, err := e.backend.Probe(ctx, e.plainRun)
	if err != nil {
		e.log.Error("probing the host's commands failed; calls that need them are refused until a probe succeeds", "error", err)
		return nil, fmt.Errorf("probe the host's commands: %v: %w", err, ErrUnavailable)
	}
	e.caps, e.probed = caps, true
	args := []any{}
	for _, c := range caps {
		args = append(args, c.Name, c.Supported)
	}
	e.log.Info("host capabilities", args...)
	return caps, nil
}

// Capabilities returns the probed capabilities (nil before a probe
// succeeded).
func (e *Engine) Capabilities() store.Capabilities {
	e.probeMu.Lock()
	defer e.probeMu.Unlock()
	return e.caps
}

// Journal reads.

// Operation returns one operation from the journal.
func (e *Engine) Operation(id uint64) (*store.Operation, error) {
	op, err := e.db.GetOperation(id)
	if errors.Is(err, store.ErrNotFound) {
		if op := e.planned(id); op != nil { // planned.go: not journaled yet
			return op, nil
		}
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	return e.withProgress(op), nil
}

// withProgress lays the progress of an operation in flight (its state,
// its steps' states and times, its window, as status shows them) over its
// journaled record: the journal is written only where recovery needs it,
// so a step that converges, or the window's first step when the
// operation's first write carried its intent (intent.go), is not journaled
// when it starts. The commands stay those journaled.
func (e *Engine) withProgress(op *store.Operation) *store.Operation {
	e.mu.Lock()
	r := e.running[op.ID]
	e.mu.Unlock()
	if r == nil {
		return op
	}
	v := r.viewOf()
	if v == nil || len(v.Steps) != len(op.Steps) {
		return op
	}
	op.State, op.OutageStart, op.OutageEnd = v.State, v.OutageStart, v.OutageEnd
	for i := range op.Steps {
		st, w := &op.Steps[i], v.Steps[i]
		st.State, st.Started, st.Finished, st.Error, st.Attempts = w.State, w.Started, w.Finished, w.Error, w.Attempts
	}
	return op
}

// Operations lists up to limit operations on volume (one of a group's
// volumes too; every volume when empty) with an id below before (0: from the newest), newest first; more
// says older ones are left. The operations being planned are among them
// (planned.go).
func (e *Engine) Operations(before uint64, limit int, volume string) (ops []*store.Operation, more bool, err error) {
	planned := e.plannedOps(before, volume)
	if volume != "" {
		ops, more, err = e.db.ListOperationsOnVolume(volume, before, limit) // the volume index
	} else {
		ops, more, err = e.db.ListOperationsPage(before, limit, nil)
	}
	if err != nil {
		return nil, false, err
	}
	ops, more = withPlanned(ops, more, planned, limit)
	return ops, more, nil
}

// Request is a rollback request.
type Request struct {
	// Snapshot is POOL/VOL@SNAP; with Zone, only SNAP.
	Snapshot string
	// More are further POOL/VOL@SNAP rolled back with Snapshot as one
	// operation (a group: one outage window).
	More []string
	// Zone rolls back SNAP of every volume behind the zone's devices.
	Zone        string
	Options     store.Options
	RequestID   string
	Wait        bool
	RequestedBy string

	// special is set for an undo or a forget (keep.go); nil for a
	// rollback.
	special *special
	// volumes are the volumes of a request that names no snapshot (a
	// rescue's zone's boot volume, rescue.go): resolveGroup returns them.
	volumes []string
}

// Plan is the dry run: it captures the identity and builds the steps with
// their commands, changing nothing and journaling nothing. A request that
// lacks a consent gets the plan and an error wrapping ErrNeedsConsent.
func (e *Engine) Plan(ctx context.Context, req Request) (*store.Operation, error) {
	if err := checkKeep(req); err != nil { // keep.go
		return nil, err
	}
	caps, err := e.Probe(ctx)
	if err != nil {
		return nil, err
	}
	vols, err := e.resolveGroup(ctx, &req)
	if err != nil {
		return nil, err
	}
	// While an operation holds the volume its zones are detached and its
	// LU may be away: a plan read now would show that as the state to
	// restore, and leave the zone steps out.
	if err := e.locks.check(volumeKeys(vols)); err != nil {
		return nil, fmt.Errorf("no plan while another operation changes the volume: %w", err)
	}
	// Nor while one that needs attention holds it (holds.go).
	if err := e.checkHeld(volumeKeys(vols)); err != nil {
		return nil, err
	}
	if err := req.special.recheck(); err != nil { // keep.go: an undo's or a forget's journal
		return nil, err
	}
	provisional, err := e.provisionalSuffix(&req) // keep.go
	if err != nil {
		return nil, err
	}
	rec := &recorder{e: e}
	ids, warnings, err := e.captureOf(withRecorder(ctx, rec), rec.run, req)
	if err != nil && !errors.Is(err, ErrNeedsConsent) {
		return nil, err
	}
	warnings = append(warnings, provisional...)
	if err := e.checkHeld(zoneHeldKeys(ids)); err != nil {
		return nil, err
	}
	// Without a consent the plan is still the whole plan, as it would run
	// once given (a consent only matters where its condition exists: a
	// running zone, a newer snapshot, a connected initiator); the caller
	// sees it with the error that names what is missing.
	if err != nil && req.special == nil {
		req.Options.HaltZones, req.Options.DestroyNewer, req.Options.AcceptSessions = true, true, true
	}
	op := e.newOperation(req, vols[0], ids, warnings, rec.cmds, caps)
	return op, err
}

// volumeKeys are the locks of the volumes, in a fixed order.
func volumeKeys(vols []string) []string {
	var keys []string
	for _, v := range vols {
		keys = append(keys, volumeKey(v))
	}
	slices.Sort(keys)
	return keys
}

func (e *Engine) newOperation(req Request, vol string, ids []store.Identity, warnings []string, capture []store.Command, caps store.Capabilities) *store.Operation {
	id := ids[0]
	now := e.now().UTC()
	op := &store.Operation{
		RequestID: req.RequestID, Kind: req.special.kind(), Platform: e.backend.Name(),
		Volume: vol, Snapshot: req.Snapshot, Options: req.Options, State: store.OpPlanned,
		Identity: id, Members: ids[1:], Warnings: warnings, RequestedBy: req.RequestedBy, Created: now, Updated: now,
		Capabilities: caps,
	}
	// The capture ran before the operation existed: it started with its
	// first command.
	started := now
	for _, c := range capture {
		if !c.Started.IsZero() && c.Started.Before(started) {
			started = c.Started
		}
	}
	op.Steps = append(op.Steps, store.Step{
		Name: captureStep.Name, Description: captureStep.Description,
		State: store.StepDone, Commands: capture, Started: started, Finished: now,
	})
	for _, s := range e.backend.Steps(op) {
		op.Steps = append(op.Steps, store.Step{Name: s.Name, Description: s.Description,
			State: store.StepPending, InOutageWindow: s.OutageWindow, Planned: s.Planned, Commit: s.Commit})
	}
	return op
}

// captureStep is the saga's first step, the engine's own: Capture ran
// before the operation was journaled, so it is journaled done and has
// nothing to undo.
var captureStep = Step{Name: "capture", Description: "capture the LUs, their views and the zones on the volume (read-only)"}

// steps is the saga of op: the capture step, then the backend's.
func (e *Engine) steps(op *store.Operation) []Step {
	return append([]Step{captureStep}, e.backend.Steps(op)...)
}

// recorder collects the commands of a read-only phase.
type recorder struct {
	e    *Engine
	mu   sync.Mutex
	cmds []store.Command
}

func (r *recorder) run(ctx context.Context, argv []string) (*execx.Result, error) {
	res, err := r.e.runFor(ctx, argv, r) // a capture's reads: shared with other operations'
	r.mu.Lock()
	r.cmds = append(r.cmds, toCommand(res))
	r.mu.Unlock()
	return res, err
}

type recorderKey struct{}

func withRecorder(ctx context.Context, r *recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// RecordRemote journals, with the capture, commands another host ran for
// it (a peer answering FindZones): the capture's run function records
// only this host's. Outside a capture it does nothing.
func RecordRemote(ctx context.Context, cmds []store.Command) {
	r, ok := ctx.Value(recorderKey{}).(*recorder)
	if !ok {
		return
	}
	r.mu.Lock()
	r.cmds = append(r.cmds, cmds...)
	r.mu.Unlock()
}

func toCommand(res *execx.Result) store.Command {
	c := store.Command{Argv: res.Argv, Exit: res.Exit, Stdout: string(res.Stdout), Stderr: string(res.Stderr),
		Started: res.Started.UTC(), Duration: res.Duration}
	if res.Err != nil {
		c.Err = res.Err.Error()
	}
	return c
}

// Rollback plans, journals the intent and runs the saga, calling emit with
// each event until the operation ends. The operation runs on the daemon's
// context: if ctx ends first (the client went away) Rollback returns and the
// operation goes on. A request id seen before returns that operation.
func (e *Engine) Rollback(ctx context.Context, req Request, emit func(Event)) (*store.Operation, error) {
	if e.base.Err() != nil {
		return nil, ErrShuttingDown
	}
	if err := checkKeep(req); err != nil { // keep.go
		return nil, err
	}
	if req.Zone == "" && req.volumes == nil {
		// A bad name is refused before anything runs (a zone's volumes
		// are resolved below, after the probe).
		for _, s := range append([]string{req.Snapshot}, req.More...) {
			if _, err := e.backend.VolumeOf(s); err != nil {
				return nil, err
			}
		}
	}
	caps, err := e.Probe(ctx)
	if err != nil {
		return nil, err
	}
	vols, err := e.resolveGroup(ctx, &req)
	if err != nil {
		return nil, err
	}
	return e.rollbackOnce(ctx, req, vols, caps, emit)
}

// planAndStart locks the volumes and zones, captures, journals the
// operation and starts its saga: the operation in flight, or why not
// (nothing has changed then). ctx bounds the planning only. Once the
// volumes are locked and not held, the operation is in flight, planned
// (planned.go), and begun is called with it.
func (e *Engine) planAndStart(ctx context.Context, req Request, vols []string, caps store.Capabilities, begun func(*inflight)) (*inflight, error) {
	if err := e.journalWritable(); err != nil {
		return nil, err
	}
	volKeys := volumeKeys(vols)
	if err := e.acquireNoting(ctx, volKeys, req.Wait); err != nil {
		return nil, err
	}
	if err := e.checkHeld(volKeys); err != nil { // holds.go
		e.locks.release(volKeys)
		return nil, err
	}
	if err := req.special.recheck(); err != nil { // keep.go: under the locks
		e.locks.release(volKeys)
		return nil, err
	}
	planned, err := e.beginPlanned(req, vols)
	if err != nil {
		e.locks.release(volKeys)
		return nil, err
	}
	if req.Options.Keep { // docs/keep.md §3: named by the id and creation time
		req.Options.KeptSuffix = keptSuffix(planned.id, planned.op.Created)
	}
	e.locks.setHolder(volKeys, planned.id)
	if begun != nil {
		begun(planned)
	}
	// Its callers follow the operation from now on: a wait for its zones
	// is said in its stream (callers.go).
	ctx = withWaitNote(ctx, planned.publish)
	r, err := e.capture(ctx, planned, req, vols, caps, volKeys)
	if err != nil {
		e.endPlanned(planned, err)
		return nil, err
	}
	return r, nil
}

// capture is planAndStart's capture of the planned operation: it locks
// the zones, journals the operation and starts its saga, or says why not.
// It releases the locks unless the saga holds them.
func (e *Engine) capture(ctx context.Context, planned *inflight, req Request, vols []string, caps store.Capabilities, volKeys []string) (*inflight, error) {
	keys := volKeys
	handedOff := false
	defer func() {
		if !handedOff {
			e.locks.release(keys)
		}
	}()
	rec := &recorder{e: e}
	ids, warnings, err := e.captureOf(withRecorder(ctx, rec), rec.run, req)
	if err != nil {
		return nil, err
	}
	id := ids[0]
	var zoneKeys []string
	for _, z := range id.Zones {
		if k := zoneKey(z.Name); !slices.Contains(zoneKeys, k) {
			zoneKeys = append(zoneKeys, k)
		}
	}
	slices.Sort(zoneKeys)
	if len(zoneKeys) > 0 {
		if err := e.acquireNoting(ctx, zoneKeys, req.Wait); err != nil {
			return nil, err
		}
		keys = append(append([]string(nil), volKeys...), zoneKeys...)
	}
	if err := e.checkHeld(zoneHeldKeys(ids)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		// Nobody waits for it any more: nothing has changed, and nothing
		// starts.
		return nil, err
	}
	if commit, ok := ctx.Value(commitKey{}).(func() bool); ok && !commit() {
		return nil, context.Canceled // likewise, for a request id (requests.go)
	}
	op := e.newOperation(req, vols[0], ids, warnings, rec.cmds, caps)
	op.ID, op.Created = planned.id, planned.op.Created // it exists from its capture on
	if f := e.cfg.JournalFault; f != nil {
		err = f(op)
	}
	var stored *store.Operation
	created := false
	steps := e.steps(op)
	first, intent := carryIntent(op, steps, e.now().UTC()) // intent.go
	if err == nil {
		planned.prefetch = e.prefetchFirstRead(op, steps) // prefetch.go: while the write commits
		stored, created, err = e.db.CreateOperation(first)
	}
	if err != nil {
		// Nothing has changed yet: refuse rather than run unjournaled.
		return nil, fmt.Errorf("the journal cannot be written (%v): not starting: %w", err, ErrUnavailable)
	}
	if !created { // journaled meanwhile (rollbackOnce makes this rare)
		e.locks.release(keys)
		handedOff = true
		if err := sameRequest(stored, req); err != nil {
			return nil, err
		}
		e.endPlanned(planned, fmt.Errorf("request id %q was journaled meanwhile as operation %d: volctl op watch %d: %w",
			req.RequestID, stored.ID, stored.ID, ErrBusy))
		return e.inflightOf(ctx, stored)
	}
	planned.intent = intent
	e.locks.setHolder(keys, op.ID)
	e.log.Info("operation captured", "op", op.ID, "snapshot", op.Snapshot, "lus", len(id.LUs), "zones", len(id.Zones))
	e.startPlanned(planned, op, keys)
	handedOff = true
	return planned, nil
}

// sameRequest refuses a request id that an operation with another target
// or other consents already has: following that operation would tell the
// caller that a rollback they did not ask for is theirs.
func sameRequest(op *store.Operation, req Request) error {
	// recover's consents, not the request's
	want, got := recoverConsentsOff(op.Options), recoverConsentsOff(req.Options)
	if op.Snapshot == req.Snapshot && reflect.DeepEqual(normSkip(want), normSkip(got)) {
		return nil
	}
	return fmt.Errorf("request id %q belongs to operation %d (%s%s), not to this rollback of %s: use a new request id: %w",
		req.RequestID, op.ID, op.Snapshot, optionsDiff(want, got), req.Snapshot, &RequestIDError{RequestID: req.RequestID, Op: op.ID})
}

// recoverConsentsOff is o without the consents only recover gives.
func recoverConsentsOff(o store.Options) store.Options {
	o.Repersist, o.InitializeHostdata = false, false
	o.KeptSuffix = "" // the engine's (keep.go), not the caller's
	return o
}

// optionsDiff names the consents that differ, for sameRequest's message.
func optionsDiff(a, b store.Options) string {
	var d []string
	for _, o := range []struct {
		name string
		a, b bool
	}{{"halt_zones", a.HaltZones, b.HaltZones}, {"destroy_newer", a.DestroyNewer, b.DestroyNewer},
		{"keep_hostdata", a.KeepHostdata, b.KeepHostdata}, {"accept_sessions", a.AcceptSessions, b.AcceptSessions},
		{"keep", a.Keep, b.Keep}} {
		if o.a != o.b {
			d = append(d, fmt.Sprintf("%s=%v", o.name, o.a))
		}
	}
	if !slices.Equal(normSkip(a).SkipPeers, normSkip(b).SkipPeers) {
		d = append(d, fmt.Sprintf("skip_peers=%v", a.SkipPeers))
	}
	if len(d) == 0 {
		return ""
	}
	return " with " + strings.Join(d, ", ")
}

// normSkip sorts the skipped peers (their order means nothing) and makes
// none nil.
func normSkip(o store.Options) store.Options {
	o.SkipPeers = slices.Sorted(slices.Values(o.SkipPeers))
	if len(o.SkipPeers) == 0 {
		o.SkipPeers = nil
	}
	return o
}

// byRequest finds an operation by request id.
func (e *Engine) byRequest(reqID string) (*store.Operation, error) {
	return e.db.OperationByRequest(reqID)
}

// RecoverOptions are recover's consents.
type RecoverOptions struct {
	// Repersist allows the brief outage (delete-lu -k, import-lu) that puts
	// an LU back into STMF's persistent store.
	Repersist bool
	// InitializeHostdata lets the attach of an operation rolled back with
	// keep_hostdata give its kernel zones fresh host data
	// (zoneadm attach -x initialize-hostdata), replacing the snapshot's.
	InitializeHostdata bool
}

// Recover retries an operation that needs attention: forward when its
// rollback took effect, backward otherwise. Bringing the operation to a
// consistent end is recover's success, whichever end it is: an operation
// that ends rolled_back (the rollback's failure, now fully restored) is
// returned without an error; only one that still needs attention (or
// could not be recovered at all) is an error. The operation's Error keeps
// why the rollback itself failed.
func (e *Engine) Recover(ctx context.Context, id uint64, ro RecoverOptions, emit func(Event)) (*store.Operation, error) {
	if e.base.Err() != nil {
		return nil, ErrShuttingDown
	}
	op, err := e.Operation(id)
	if err != nil {
		return nil, err
	}
	if op.State != store.OpNeedsAttention {
		return nil, fmt.Errorf("operation %d %s; only an operation that needs attention can be recovered: %w",
			id, stateWords(op.State), ErrPrecondition)
	}
	if op.Platform != e.backend.Name() {
		return nil, fmt.Errorf("operation %d was journaled on platform %q, this daemon runs %q: %w",
			id, op.Platform, e.backend.Name(), ErrPrecondition)
	}
	if err := e.journalWritable(); err != nil {
		return nil, err
	}
	if op.NeedsRepersist && !ro.Repersist {
		return nil, fmt.Errorf("operation %d left an LU online but not persisted; re-persisting it deletes and re-imports it (a brief outage, once nothing keeps it busy): %w",
			id, NeedsConsent(ConsentRepersist))
	}
	keys := opKeys(op)
	if err := e.locks.acquire(ctx, keys, id, false); err != nil {
		return nil, err
	}
	if op, err = e.recoverable(id); err != nil {
		e.locks.release(keys)
		return nil, err
	}
	// Journaled with the saga's first write; the steps are built from op
	// with them, and a resume after a crash builds them the same.
	op.Options.Repersist = op.Options.Repersist || ro.Repersist
	op.Options.InitializeHostdata = op.Options.InitializeHostdata || ro.InitializeHostdata
	op.Recoveries++
	e.noteResume(op, store.ResumeRecover)
	e.cfg.Observer.Recovered(op, "recover")
	r, ch := e.start(op, nil, keys, true)
	final, err := e.stream(ctx, r, ch, emit)
	if final != nil && final.State == store.OpRolledBack {
		return final, nil
	}
	return final, err
}

func opKeys(op *store.Operation) []string {
	keys := []string{volumeKey(op.Volume)}
	for _, m := range op.Members { // a group's other volumes
		if m.Volume != "" && m.Volume != op.Volume {
			keys = append(keys, volumeKey(m.Volume))
		}
	}
	for _, z := range op.Identity.Zones {
		keys = append(keys, zoneKey(z.Name))
	}
	return keys
}

// Start resumes every operation that was not finished when the daemon last
// stopped, deciding forward or backward from the journal and what the
// platform shows now. It returns once they are started; Wait waits for them.
func (e *Engine) Start() error {
	// Probe first, so the capabilities are logged once at start; a host
	// whose commands do not answer yet is probed again on the first call
	// that needs them (resumed operations use the journaled ones).
	_, _ = e.Probe(e.base)
	ops, err := e.db.Unfinished()
	if err != nil {
		return fmt.Errorf("read unfinished operations: %w", err)
	}
	for _, op := range ops {
		if op.Platform != e.backend.Name() {
			op.State = store.OpNeedsAttention
			op.Attention = fmt.Sprintf("journaled on platform %q but this daemon runs %q; finish it with a daemon for that platform", op.Platform, e.backend.Name())
			if err := e.db.PutOperation(op); err != nil {
				return err
			}
			continue
		}
		keys := opKeys(op)
		if err := e.locks.acquire(e.base, keys, op.ID, false); err != nil {
			// Two unfinished operations on one volume or zone should not
			// exist; if the journal says so, keep the daemon up and leave
			// the second for a person rather than run both.
			e.log.Error("cannot resume: another unfinished operation holds its volume or zone", "op", op.ID, "error", err)
			op.State = store.OpNeedsAttention
			op.Attention = fmt.Sprintf("not resumed at start: %v; run volctl recover %d once that operation has ended", err, op.ID)
			if err := e.db.PutOperation(op); err != nil {
				return err
			}
			continue
		}
		e.log.Warn("resuming unfinished operation", "op", op.ID, "state", op.State, "snapshot", op.Snapshot)
		e.resumed = append(e.resumed, op.ID)
		e.noteResume(op, store.ResumeRestart)
		e.cfg.Observer.Recovered(op, "restart")
		r, ch := e.start(op, nil, keys, true)
		r.unsubscribe(ch) // nobody follows a resume at start; watchers subscribe
	}
	e.reportKept()            // keep.go
	e.startRetention()        // retention.go: after the resumes
	e.startJournalRetention() // retention_journal.go
	return nil
}

// noteResume records that op is picked up again now (trigger: restart or
// recover), where it stood and since when: the time since its last
// journal write is idle, not active. It goes to the journal with the
// saga's first write.
func (e *Engine) noteResume(op *store.Operation, trigger string) {
	now := e.now().UTC()
	rs := store.Resume{Time: now, Trigger: trigger, Stopped: op.Updated, State: op.State}
	for _, st := range op.Steps {
		if st.State == store.StepRunning || st.State == store.StepCompensating {
			rs.Step = st.Name
		}
	}
	if !op.Updated.IsZero() && now.After(op.Updated) {
		op.Idle += now.Sub(op.Updated)
	}
	op.Resumes = append(op.Resumes, rs)
}

// start runs the saga of op in the background, holding keys until it ends.
// The returned subscriber is subscribed before the saga starts, so the caller
// that started it sees every event from the first (stream unsubscribes it).
func (e *Engine) start(op *store.Operation, plan *store.Operation, keys []string, resume bool) (*inflight, *subscriber) {
	r := &inflight{id: op.ID, op: op, plan: plan, subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
	if resume {
		// What the journal says happened before, for a watcher (see Watch).
		r.before = cloneOp(op)
		if n := len(op.Resumes); n > 0 {
			rs := op.Resumes[n-1]
			r.resume = &rs
		}
	}
	ch := r.subscribe(false)
	e.mu.Lock()
	e.running[op.ID] = r
	e.mu.Unlock()
	e.run(r, keys, resume)
	return r, ch
}

// run runs r's saga in the background, holding keys until it ends.
func (e *Engine) run(r *inflight, keys []string, resume bool) {
	op := r.op
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(r.done)
		defer e.ended(r) // callers.go: after the locks go, before the end is seen
		// keep.go: the kept count and retention, after the locks go
		defer e.keptChanged(r)
		defer e.locks.release(keys)
		defer e.windows.closed(op.ID) // windows.go
		s := &saga{e: e, op: op, steps: e.steps(op), r: r}
		if resume {
			s.resume()
		} else {
			s.prefetch, r.prefetch = r.prefetch, nil // prefetch.go
			s.start()
		}
		s.closeWindow() // sched.go
		s.settle()
		r.last = cloneOp(op)
		if op.State.Terminal() && op.State != store.OpWaiting { // a waiting one goes on later (await.go)
			e.cfg.Observer.OperationFinished(r.last)
		}
		e.mu.Lock()
		delete(e.running, op.ID)
		e.mu.Unlock()
	}()
}

// finalError is the error a caller sees for an operation that did not
// succeed: the failed step, its command and what the platform said.
func finalError(op *store.Operation) error {
	var step string
	for _, s := range op.Steps {
		if s.State == store.StepFailed {
			step = s.Name
			break
		}
	}
	if step == "" {
		// Rolled back: the step that failed forward is compensated now;
		// it is the last one that kept an error of its own.
		for _, s := range slices.Backward(op.Steps) {
			if s.Error != "" && !strings.HasPrefix(s.Error, "undo: ") {
				step = s.Name
				break
			}
		}
	}
	msg := op.Error
	switch op.State {
	case store.OpRolledBack:
		msg += " (rolled back: the LU, its views and the zones were restored; the volume is unchanged)"
	case store.OpNeedsAttention:
		msg += "; needs attention: " + op.Attention
	case store.OpResolved:
		if r := op.Resolution; r != nil {
			msg += fmt.Sprintf("; it needed attention and was resolved by hand by %s at %s: %s", r.By, r.Time.Format(time.RFC3339), r.Reason)
		}
	case store.OpRunning, store.OpCompensating, store.OpPlanned:
		return fmt.Errorf("operation %d stopped in state %s (daemon shutting down; it resumes at the next start): %w",
			op.ID, op.State, ErrShuttingDown)
	}
	return &StepError{Op: op.ID, Step: step, Err: errors.New(strings.TrimSpace(msg)),
		NeedsAttention: op.State == store.OpNeedsAttention}
}

func cloneOp(op *store.Operation) *store.Operation {
	c := *op
	c.Resumes = slices.Clone(op.Resumes)
	c.Steps = make([]store.Step, len(op.Steps))
	for i, s := range op.Steps {
		s.Commands = append([]store.Command(nil), s.Commands...)
		s.CompensationCommands = append([]store.Command(nil), s.CompensationCommands...)
		c.Steps[i] = s
	}
	return &c
}
