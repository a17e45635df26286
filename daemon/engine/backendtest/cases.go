package backendtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/execx"
	"github.com/volctl/volctl/store"
)

// timeout bounds one call of a case (a capture, a whole rollback).
const timeout = 2 * time.Minute

// recorder runs commands as the engine's plain runner does and keeps their
// argv, so that a case can tell what a call of the backend ran.
type recorder struct {
	mu    sync.Mutex
	argvs [][]string
}

func (r *recorder) run(ctx context.Context, argv []string) (*execx.Result, error) {
	r.mu.Lock()
	r.argvs = append(r.argvs, slices.Clone(argv))
	r.mu.Unlock()
	return (&execx.Runner{Timeout: time.Minute}).Run(ctx, argv)
}

// changes are the commands run that the host does not call reads.
func (r *recorder) changes(h Host) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.argvs {
		if !h.Reads(a) {
			out = append(out, strings.Join(a, " "))
		}
	}
	return out
}

// probed is a fresh backend of h, probed (Capture needs the capabilities).
func probed(t *testing.T, h Host) engine.Backend {
	t.Helper()
	b := h.Backend()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := b.Probe(ctx, (&recorder{}).run); err != nil {
		t.Fatalf("probe: %v", err)
	}
	return b
}

// capture calls b.Capture, recording the commands it runs.
func capture(b engine.Backend, snapshot string, opts store.Options) (store.Identity, *recorder, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r := &recorder{}
	id, _, err := b.Capture(ctx, r.run, snapshot, opts)
	return id, r, err
}

// newEngine is an engine over b with a journal of its own.
func newEngine(t *testing.T, b engine.Backend) *engine.Engine {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := engine.New(ctx, db, b, engine.Config{DefaultTimeout: time.Minute, Retries: 2, RetryDelay: 10 * time.Millisecond}, nil)
	t.Cleanup(func() { cancel(); e.Wait(); db.Close() })
	return e
}

func rollback(e *engine.Engine, snapshot string, opts store.Options) (*store.Operation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return e.Rollback(ctx, engine.Request{Snapshot: snapshot, Options: opts}, func(engine.Event) {})
}

func plan(e *engine.Engine, snapshot string, opts store.Options) (*store.Operation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return e.Plan(ctx, engine.Request{Snapshot: snapshot, Options: opts})
}

// noneJournaled fails the test if e journaled an operation.
func noneJournaled(t *testing.T, e *engine.Engine) {
	t.Helper()
	ops, _, err := e.Operations(0, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) > 0 {
		t.Errorf("a refused request journaled %d operations", len(ops))
	}
}

// onlyReads fails the test if r ran a command that is not a read.
func onlyReads(t *testing.T, h Host, what string, r *recorder) {
	t.Helper()
	if c := r.changes(h); len(c) > 0 {
		t.Errorf("%s ran commands that change the host:\n  %s", what, strings.Join(c, "\n  "))
	}
}

// testCaptureIdentity: a capture of the exported volume records every LU
// on it with its identity and where it is exported, as the host shows
// them, and changes nothing.
func testCaptureIdentity(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	seed := h.Seed()
	before := h.State(t)
	b := probed(t, h)
	id, r, err := capture(b, seed.Snapshot, store.Options{})
	if err != nil {
		t.Fatalf("capture %s: %v", seed.Snapshot, err)
	}
	if id.Volume != seed.Volume || id.Snapshot != seed.Snapshot {
		t.Errorf("captured volume %q snapshot %q, want %q %q", id.Volume, id.Snapshot, seed.Volume, seed.Snapshot)
	}
	if len(before.Exports) == 0 {
		t.Fatal("the host shows no LU on the seed's volume: the case proves nothing")
	}
	got, want := identityOf(captured(id.LUs)), identityOf(before.Exports)
	if !slices.Equal(got, want) {
		t.Errorf("captured:\n  %s\nthe host shows:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	onlyReads(t, h, "the capture", r)
	same(t, "after the capture", before, h.State(t), DataAfter)
}

// testMissingSnapshot: a snapshot that does not exist is NotFound, from
// the backend and through the engine, and nothing changes.
func testMissingSnapshot(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	refusedNotFound(t, h, h.Seed().MissingSnapshot)
}

// testMissingVolume: a volume that does not exist is NotFound too.
func testMissingVolume(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	refusedNotFound(t, h, h.Seed().MissingVolume)
}

func refusedNotFound(t *testing.T, h Host, snapshot string) {
	t.Helper()
	before := h.State(t)
	b := probed(t, h)
	_, r, err := capture(b, snapshot, store.Options{})
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("capture %s: %v, want NotFound", snapshot, err)
	}
	onlyReads(t, h, "the refused capture", r)
	e := newEngine(t, h.Backend())
	if _, err := rollback(e, snapshot, store.Options{}); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("rollback %s: %v, want NotFound", snapshot, err)
	}
	noneJournaled(t, e)
	same(t, "after the refusals", before, h.State(t), DataAfter)
}

// badNames are names no backend may act on: each is refused as
// InvalidArgument before any command runs.
func badNames(seed Seed) []string {
	vol := seed.Volume
	pool, _, _ := strings.Cut(vol, "/")
	return []string{
		"",
		vol,       // a volume, not a snapshot
		vol + "@", // no snapshot part
		"@snap1",
		vol + "@snap1;rm -rf /",
		pool + "/$(reboot)@snap1",
		vol + "@snap1\nrollback",
		vol + "@snap 1",
		"-rf@snap1",
		"../../etc/passwd@x",
		"p\u00f6ol/idisk0@snap1",
		pool + "/" + strings.Repeat("x", 260) + "@s",
		vol + "@a@b",
	}
}

// testBadNames: a bad name is refused (InvalidArgument) by VolumeOf,
// Capture and the engine before any command runs.
func testBadNames(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	before := h.State(t)
	b := probed(t, h)
	e := newEngine(t, h.Backend())
	for _, name := range badNames(h.Seed()) {
		if _, err := b.VolumeOf(name); name != h.Seed().Volume && !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("VolumeOf(%q): %v, want InvalidArgument", name, err)
		}
		_, r, err := capture(b, name, store.Options{})
		if !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("capture %q: %v, want InvalidArgument", name, err)
		}
		if len(r.argvs) > 0 {
			t.Errorf("capture %q ran %d commands before refusing it (first: %q)", name, len(r.argvs), r.argvs[0])
		}
		if _, err := rollback(e, name, store.Options{}); !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("rollback %q: %v, want InvalidArgument", name, err)
		}
	}
	noneJournaled(t, e)
	same(t, "after the bad names", before, h.State(t), DataAfter)
}

// refusedInvalid fails the test unless opts are refused as
// InvalidArgument by the capture, before any command runs, and by the
// engine, which journals nothing.
func refusedInvalid(t *testing.T, h Host, b engine.Backend, e *engine.Engine, what string, opts store.Options) {
	t.Helper()
	_, r, err := capture(b, h.Seed().Snapshot, opts)
	if !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("capture with %s: %v, want InvalidArgument", what, err)
	}
	if len(r.argvs) > 0 {
		t.Errorf("capture with %s ran %d commands before refusing it (first: %q)", what, len(r.argvs), r.argvs[0])
	}
	if _, err := rollback(e, h.Seed().Snapshot, opts); !errors.Is(err, engine.ErrInvalid) {
		t.Errorf("rollback with %s: %v, want InvalidArgument", what, err)
	}
	noneJournaled(t, e)
}

// testOptions: an option that means nothing on this host is refused as
// InvalidArgument before anything runs: skip_peers naming a peer that is
// not configured on every backend, and the zone options (halt_zones,
// keep_hostdata) where the platform has no zones (Capabilities.Zones).
// Where it has zones, they are consents the capture takes.
func testOptions(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	before := h.State(t)
	b := probed(t, h)
	e := newEngine(t, h.Backend())
	refusedInvalid(t, h, b, e, "skip_peers naming no configured peer", store.Options{SkipPeers: []string{"no-such-peer"}})
	zoneOpts := []struct {
		what string
		opts store.Options
	}{
		{"halt_zones", store.Options{HaltZones: true}},
		{"keep_hostdata", store.Options{KeepHostdata: true}},
	}
	for _, z := range zoneOpts {
		if !h.Capabilities().Zones {
			refusedInvalid(t, h, b, e, z.what+" on a platform without zones", z.opts)
			continue
		}
		if _, _, err := capture(b, h.Seed().Snapshot, z.opts); errors.Is(err, engine.ErrInvalid) {
			t.Errorf("capture with %s on a platform with zones: %v, want it taken as a consent", z.what, err)
		}
	}
	same(t, "after the refusals", before, h.State(t), DataAfter)
}

// testForeignSession: an initiator the backend does not expect, logged in
// to a target that exports the volume, would lose its disk and keep stale
// data: the capture names the consent accept_sessions (and changes
// nothing), the engine refuses without it and journals nothing, and with
// it the capture goes on.
func testForeignSession(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	seed := h.Seed()
	b := probed(t, h)
	if _, _, err := capture(b, seed.Snapshot, store.Options{}); err != nil {
		t.Fatalf("capture before the session: %v", err)
	}
	inject(t, h, ForeignSession)
	before := h.State(t)
	_, r, err := capture(b, seed.Snapshot, store.Options{})
	if !errors.Is(err, engine.ErrNeedsConsent) || !errors.Is(err, engine.ErrPrecondition) {
		t.Fatalf("capture with a foreign session: %v, want a missing consent", err)
	}
	var names []string
	for _, c := range engine.Consents(err) {
		names = append(names, c.Consent)
	}
	if !slices.Contains(names, engine.ConsentAcceptSessions) {
		t.Errorf("consents %q, want %s", names, engine.ConsentAcceptSessions)
	}
	onlyReads(t, h, "the capture", r)
	e := newEngine(t, h.Backend())
	if _, err := rollback(e, seed.Snapshot, store.Options{}); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("rollback with a foreign session: %v, want FailedPrecondition", err)
	}
	noneJournaled(t, e)
	if _, _, err := capture(b, seed.Snapshot, store.Options{AcceptSessions: true}); err != nil {
		t.Errorf("capture with accept_sessions: %v", err)
	}
	same(t, "after the refusals", before, h.State(t), DataAfter)
}

// testNewerSnapshots: a snapshot newer than the target needs
// destroy_newer: without it the capture names the consent (and still
// returns the whole identity, for the dry run) and the engine refuses
// before anything changes; with it the rollback destroys the newer
// snapshot and restores the identity.
func testNewerSnapshots(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	seed := h.Seed()
	before := h.State(t)
	h.Snapshot(t, seed.NewerSnapshot)
	withNewer := h.State(t)
	if !slices.Contains(withNewer.Snapshots, seed.NewerSnapshot) {
		t.Fatalf("the host does not show the new snapshot %s: %q", seed.NewerSnapshot, withNewer.Snapshots)
	}
	b := probed(t, h)
	id, r, err := capture(b, seed.Snapshot, store.Options{})
	if !errors.Is(err, engine.ErrNeedsConsent) || !errors.Is(err, engine.ErrPrecondition) {
		t.Fatalf("capture without destroy_newer: %v, want a missing consent", err)
	}
	var names []string
	for _, c := range engine.Consents(err) {
		names = append(names, c.Consent)
	}
	if !slices.Contains(names, engine.ConsentDestroyNewer) {
		t.Errorf("consents %q, want %s", names, engine.ConsentDestroyNewer)
	}
	if !slices.Equal(id.NewerSnapshots, []string{seed.NewerSnapshot}) {
		t.Errorf("newer snapshots captured %q, want %q", id.NewerSnapshots, []string{seed.NewerSnapshot})
	}
	if len(id.LUs) != len(before.Exports) {
		t.Errorf("a capture that lacks a consent captured %d LUs, want the whole identity (%d)", len(id.LUs), len(before.Exports))
	}
	onlyReads(t, h, "the capture", r)
	if _, _, err := capture(b, seed.Snapshot, store.Options{DestroyNewer: true}); err != nil {
		t.Errorf("capture with destroy_newer: %v", err)
	}

	e := newEngine(t, h.Backend())
	if _, err := rollback(e, seed.Snapshot, store.Options{}); !errors.Is(err, engine.ErrPrecondition) {
		t.Fatalf("rollback without destroy_newer: %v, want FailedPrecondition", err)
	}
	noneJournaled(t, e)
	same(t, "after the refused rollback", withNewer, h.State(t), DataAfter)

	op, err := rollback(e, seed.Snapshot, store.Options{DestroyNewer: true})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback with destroy_newer: %v (%+v)", err, op)
	}
	same(t, "after the rollback with destroy_newer", before, h.State(t), DataAtSnapshot)
}

// shape is a step as far as it can be compared.
type shape struct {
	Name, Description             string
	Planned                       [][]string
	OutageWindow, Commit, Retried bool
	Do, Undo, Check, Park         bool
}

func shapes(steps []engine.Step) []shape {
	var out []shape
	for _, s := range steps {
		out = append(out, shape{Name: s.Name, Description: s.Description, Planned: s.Planned,
			OutageWindow: s.OutageWindow, Commit: s.Commit, Retried: s.Retried,
			Do: s.Do != nil, Undo: s.Undo != nil, Check: s.Check != nil, Park: s.Park != nil})
	}
	return out
}

// testStepsFromJournal: the steps are built from the journaled operation
// alone: twice from the same operation, and by a fresh backend (a
// restart) from the operation read back from JSON, they are the same, and
// they are what the plan journals. There is one commit step, with a Check.
func testStepsFromJournal(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	b := h.Backend()
	e := newEngine(t, b)
	op, err := plan(e, h.Seed().Snapshot, store.Options{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	first := shapes(b.Steps(op))
	if again := shapes(b.Steps(op)); !reflect.DeepEqual(first, again) {
		t.Errorf("Steps twice from one operation differ:\n%+v\n%+v", first, again)
	}
	raw, err := json.Marshal(op)
	if err != nil {
		t.Fatal(err)
	}
	var read store.Operation
	if err := json.Unmarshal(raw, &read); err != nil {
		t.Fatal(err)
	}
	if restarted := shapes(h.Backend().Steps(&read)); !reflect.DeepEqual(first, restarted) {
		t.Errorf("a fresh backend builds other steps from the journaled operation:\n%+v\nwant\n%+v", restarted, first)
	}
	if len(op.Steps) != len(first)+1 {
		t.Fatalf("the plan journals %d steps, Steps builds %d (+ capture)", len(op.Steps), len(first))
	}
	commits := 0
	for i, s := range first {
		j := op.Steps[i+1]
		if j.Name != s.Name || !reflect.DeepEqual(j.Planned, s.Planned) || j.InOutageWindow != s.OutageWindow {
			t.Errorf("journaled step %d is %s %q (window %v), Steps builds %s %q (window %v)", i+1, j.Name, j.Planned, j.InOutageWindow, s.Name, s.Planned, s.OutageWindow)
		}
		if s.Commit {
			commits++
			if !s.Check {
				t.Errorf("commit step %s has no Check: a failure or a crash in it could not be judged", s.Name)
			}
		}
	}
	if commits != 1 {
		t.Errorf("%d commit steps, want 1", commits)
	}
}

// planAndRollback plans a rollback of the seed's snapshot on a fresh
// host, checks that the plan changed nothing and journaled nothing, runs
// the rollback, and returns the host, the plan and the operation.
func planAndRollback(t *testing.T, newHost func(*testing.T) Host) (Host, *store.Operation, *store.Operation) {
	t.Helper()
	h := newHost(t)
	seed := h.Seed()
	before := h.State(t)
	e := newEngine(t, h.Backend())
	p, err := plan(e, seed.Snapshot, store.Options{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	for _, c := range p.Steps[0].Commands {
		if !h.Reads(c.Argv) {
			t.Errorf("the plan's capture ran %q, which changes the host", c.Argv)
		}
	}
	noneJournaled(t, e)
	same(t, "after the plan", before, h.State(t), DataAfter)

	op, err := rollback(e, seed.Snapshot, store.Options{})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	if len(op.Steps) != len(p.Steps) {
		t.Fatalf("the rollback has %d steps, its plan %d", len(op.Steps), len(p.Steps))
	}
	for i := range op.Steps {
		if op.Steps[i].Name != p.Steps[i].Name {
			t.Fatalf("step %d is %s, planned %s", i, op.Steps[i].Name, p.Steps[i].Name)
		}
	}
	return h, p, op
}

// comparePlan walks a step's planned commands that change the host along
// the ones it ran (in order): ran are those not in the plan at that place,
// skipped the planned ones that did not run.
func comparePlan(h Host, planned [][]string, cmds []store.Command) (unplanned, skipped []string) {
	var ran []string
	for _, c := range cmds {
		if h.Reads(c.Argv) {
			continue
		}
		line := strings.Join(c.Argv, " ")
		if c.Host != "" {
			line = "@" + c.Host + " " + line
		}
		ran = append(ran, line)
	}
	k := 0
	for _, p := range planned {
		host, argv := engine.SplitHost(p)
		if h.Reads(argv) {
			continue
		}
		line := strings.Join(argv, " ")
		if host != "" {
			line = "@" + host + " " + line
		}
		if k < len(ran) && ran[k] == line {
			k++
			continue
		}
		if !h.Conditional(argv) {
			skipped = append(skipped, line)
		}
	}
	return ran[k:], skipped
}

// testPlanIsDryRun: the plan changes nothing and journals nothing, and a
// rollback then runs no command that changes the host which its step's
// plan does not show, in that order.
func testPlanIsDryRun(t *testing.T, newHost func(*testing.T) Host) {
	h, p, op := planAndRollback(t, newHost)
	changed := 0
	for i := 1; i < len(op.Steps); i++ {
		unplanned, _ := comparePlan(h, p.Steps[i].Planned, op.Steps[i].Commands)
		for _, u := range unplanned {
			t.Errorf("step %s ran %q, which its plan does not show in that place (planned %q)", op.Steps[i].Name, u, p.Steps[i].Planned)
		}
		for _, c := range op.Steps[i].Commands {
			if !h.Reads(c.Argv) {
				changed++
			}
		}
	}
	if changed == 0 {
		t.Error("the rollback ran no command that changes the host: the case proves nothing")
	}
}

// testPlanShowsWhatRuns: every command the plan shows that changes the
// host runs in a rollback that succeeds, unless the host calls it
// conditional: the dry run is the rollback, not a guess at it.
func testPlanShowsWhatRuns(t *testing.T, newHost func(*testing.T) Host) {
	h, p, op := planAndRollback(t, newHost)
	for i := 1; i < len(op.Steps); i++ {
		_, skipped := comparePlan(h, p.Steps[i].Planned, op.Steps[i].Commands)
		for _, s := range skipped {
			t.Errorf("step %s: planned %q did not run", op.Steps[i].Name, s)
		}
	}
}

// testRollback: a rollback that succeeds brings the volume to the
// snapshot and gives back every LU exactly as it was (ID, backing store,
// views or ACL, every property the host shows), with everything else as
// it was; every step, verify among them, is done.
func testRollback(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	seed := h.Seed()
	before := h.State(t)
	e := newEngine(t, h.Backend())
	op, err := rollback(e, seed.Snapshot, store.Options{})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	verified := false
	for _, s := range op.Steps {
		if s.State != store.StepDone {
			t.Errorf("step %s is %s", s.Name, s.State)
		}
		verified = verified || s.Name == "verify" && s.State == store.StepDone
	}
	if !verified {
		t.Error("no verify step was done")
	}
	after := h.State(t)
	same(t, "after the rollback", before, after, DataAtSnapshot)
	if got, want := identityOf(captured(op.Identity.LUs)), identityOf(after.Exports); !slices.Equal(got, want) {
		t.Errorf("journaled identity:\n  %s\nthe host shows:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// failAfterDo is the backend with one step's Do failing after it did its
// work: the saga then runs that step's Undo, and those before it.
type failAfterDo struct {
	engine.Backend
	step string
}

func (f failAfterDo) Steps(op *store.Operation) []engine.Step {
	steps := f.Backend.Steps(op)
	for i := range steps {
		if steps[i].Name != f.step {
			continue
		}
		do, name := steps[i].Do, steps[i].Name
		steps[i].Do = func(ctx context.Context, x *engine.Exec) error {
			if err := do(ctx, x); err != nil {
				return err
			}
			return engine.Permanent(fmt.Errorf("%s: step %s failed after its Do had done its work", FaultText, name))
		}
	}
	return steps
}

// testUndoAfterDo: for every step before the commit, a failure right
// after its Do compensates: its Undo and the earlier steps' bring the host
// back to what was captured, and the data is untouched.
func testUndoAfterDo(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	p, err := plan(newEngine(t, h.Backend()), h.Seed().Snapshot, store.Options{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	var before []string
	for _, s := range shapes(h.Backend().Steps(p)) {
		if s.Commit {
			break
		}
		before = append(before, s.Name)
	}
	if len(before) == 0 {
		t.Fatal("no step before the commit: the LUs would serve the volume while it goes back")
	}
	for _, name := range before {
		t.Run(name, func(t *testing.T) {
			h := newHost(t)
			seed := h.Seed()
			want := h.State(t)
			e := newEngine(t, failAfterDo{Backend: h.Backend(), step: name})
			op, err := rollback(e, seed.Snapshot, store.Options{})
			if !errors.Is(err, engine.ErrStepFailed) || op == nil || op.State != store.OpRolledBack {
				t.Fatalf("rollback failing after %s: %v, want it rolled back", name, err)
			}
			if !strings.Contains(op.Error, FaultText) {
				t.Errorf("error %q is not the injected failure", op.Error)
			}
			for _, s := range op.Steps[1:] {
				if s.State != store.StepCompensated && s.State != store.StepPending {
					t.Errorf("step %s is %s, want compensated or pending", s.Name, s.State)
				}
				if s.Name == name && s.State != store.StepCompensated {
					t.Errorf("step %s is %s, want compensated", s.Name, s.State)
				}
			}
			same(t, "after the undo of "+name, want, h.State(t), DataAfter)
		})
	}
}

// testCommitFails: the commit command fails without changing anything:
// the saga compensates, the operation is rolled back with the command's
// error, and the host is as captured with its data untouched.
func testCommitFails(t *testing.T, newHost func(*testing.T) Host) {
	h := newHost(t)
	seed := h.Seed()
	before := h.State(t)
	e := newEngine(t, h.Backend())
	inject(t, h, CommitFails)
	op, err := rollback(e, seed.Snapshot, store.Options{})
	if !errors.Is(err, engine.ErrStepFailed) || op == nil || op.State != store.OpRolledBack {
		t.Fatalf("rollback with a failing commit: %v, want it rolled back", err)
	}
	if !strings.Contains(op.Error, FaultText) {
		t.Errorf("error %q does not carry the command's stderr", op.Error)
	}
	commit := false
	for _, s := range op.Steps {
		if s.Name == "rollback" {
			commit = true
			if s.State == store.StepDone {
				t.Errorf("the commit step is done")
			}
		}
	}
	if !commit {
		t.Error("no rollback step ran")
	}
	same(t, "after the failed commit", before, h.State(t), DataAfter)
}

// testGarbledLUs: an LU listing that cannot be read is a refusal (fail
// closed), never "no LU there".
func testGarbledLUs(t *testing.T, newHost func(*testing.T) Host) {
	garbled(t, newHost, LUListingGarbled)
}

// testGarbledVolume: so is a listing of the volume that cannot be read.
func testGarbledVolume(t *testing.T, newHost func(*testing.T) Host) {
	garbled(t, newHost, VolumeListingGarbled)
}

// garbled injects f: the capture fails, the engine journals nothing, and
// nothing changes.
func garbled(t *testing.T, newHost func(*testing.T) Host, f Fault) {
	h := newHost(t)
	seed := h.Seed()
	before := h.State(t)
	b := probed(t, h)
	e := newEngine(t, h.Backend())
	if _, err := e.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	inject(t, h, f)
	_, r, err := capture(b, seed.Snapshot, store.Options{})
	if err == nil {
		t.Fatalf("the capture went on when %s", f)
	}
	// The host's fault, not the caller's, and not "nothing there".
	if errors.Is(err, engine.ErrNotFound) || errors.Is(err, engine.ErrInvalid) {
		t.Errorf("a garbled listing reads as the caller's error: %v", err)
	}
	onlyReads(t, h, "the refused capture", r)
	if _, err := rollback(e, seed.Snapshot, store.Options{}); err == nil {
		t.Errorf("the engine rolled back when %s", f)
	}
	noneJournaled(t, e)
	same(t, "after the refusals", before, h.State(t), DataAfter)
}
