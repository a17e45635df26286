package solaris_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/store"
)

// rescue --shell (docs/rescue.md §5): the rescue stops, waiting, with
// kz1's pool imported in kzrescue; --finish goes on; --abandon undoes.

var shellRequest = engine.RescueRequest{Zone: sim.SeedZone, With: sim.RescueZone, Shell: true}

// waitingShell runs a rescue --shell and checks that it waits with the
// pool imported in kzrescue under /mnt/1.
func waitingShell(t *testing.T, e *engine.Engine, root string) *store.Operation {
	t.Helper()
	op, err := e.Rescue(context.Background(), shellRequest, func(engine.Event) {})
	if err != nil || op == nil {
		t.Fatalf("rescue --shell: %v", err)
	}
	if op.State != store.OpWaiting {
		t.Fatalf("rescue --shell ended %s (%s), want waiting", op.State, op.Error)
	}
	checkWaiting(t, root, op)
	return op
}

// checkWaiting checks a waiting rescue and the host it left.
func checkWaiting(t *testing.T, root string, op *store.Operation) {
	t.Helper()
	for _, want := range []string{"zlogin kzrescue", "under /mnt/1", "volctl rescue --finish " + itoa(op.ID), "volctl rescue --abandon " + itoa(op.ID)} {
		if !strings.Contains(op.Attention, want) {
			t.Errorf("the waiting text does not say %q: %s", want, op.Attention)
		}
	}
	var names []string
	for _, st := range op.Steps {
		names = append(names, st.Name+":"+string(st.State))
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "import:done shell:running export:pending") {
		t.Errorf("steps %s", got)
	}
	s, err := sim.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	im := s.Dataset("pool/idisk0").Imported
	if im == nil || im.By != sim.RescueZone || im.Name != sim.SeedZone || im.Altroot != "/mnt/1" {
		t.Errorf("kz1's pool while waiting: %+v, want imported by kzrescue as kz1 under /mnt/1", im)
	}
	if st := s.Zone(sim.RescueZone).State; st != sim.ZoneRunning {
		t.Errorf("kzrescue %s while waiting, want running", st)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestRescueShellWaitsThenFinishes(t *testing.T) {
	root := rescueHost(t)
	before := labelOf(t, root)
	e, _, stop := newRescueEngine(t, root, filepath.Join(t.TempDir(), "j.db"), engine.Config{})
	defer stop()
	plan, err := e.PlanRescue(context.Background(), shellRequest)
	if err != nil {
		t.Fatal(err)
	}
	if i := stepAt(plan, "shell"); i < 0 || plan.Steps[i-1].Name != "import" || plan.Steps[i+1].Name != "export" {
		t.Fatalf("the plan of a rescue --shell has no shell step between import and export: %v", stepNames(plan))
	}
	op := waitingShell(t, e, root)

	// While it waits: the zones and the disk are held, recover and
	// resolve refuse, and the wait is not an error.
	_, err = e.Rescue(context.Background(), rescueRequest, func(engine.Event) {})
	var held *engine.HeldError
	if !errors.As(err, &held) || held.Op != op.ID || !held.Waiting || !strings.Contains(err.Error(), "waits for an admin") {
		t.Errorf("a second rescue while the first waits: %v, want held by %d, waiting", err, op.ID)
	}
	if _, err := e.PlanRescue(context.Background(), rescueRequest); !errors.As(err, &held) {
		t.Errorf("a dry run while the rescue waits: %v, want held", err)
	}
	if _, err := e.Recover(context.Background(), op.ID, engine.RecoverOptions{}, func(engine.Event) {}); !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), "--finish") {
		t.Errorf("recover of a waiting rescue: %v, want a precondition naming --finish", err)
	}
	if _, err := e.Resolve(context.Background(), op.ID, "me", "done by hand"); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("resolve of a waiting rescue: %v, want a precondition", err)
	}
	if atts, err := e.Attention(); err != nil || len(atts) != 0 {
		t.Errorf("a waiting rescue listed as needing attention: %v %v", atts, err)
	}

	// --finish's dry run: the steps after the wait, nothing changed.
	fp, err := e.PlanFinish(op.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(stepNames(fp), " "); got != "capture export halt-rescue remove-device check-label" {
		t.Errorf("finish plan %q", got)
	}
	checkWaiting(t, root, mustOp(t, e, op.ID))

	final, err := e.Finish(context.Background(), op.ID, "admin", func(engine.Event) {})
	if err != nil || final.State != store.OpSucceeded {
		t.Fatalf("finish: %v (%+v)", err, final)
	}
	if final.ID != op.ID || final.Attention != "" {
		t.Errorf("finish ended operation %d with attention %q", final.ID, final.Attention)
	}
	if n := len(final.Resumes); n == 0 || final.Resumes[n-1].Trigger != store.ResumeFinish || final.Resumes[n-1].State != store.OpWaiting {
		t.Errorf("the finish is not recorded as a resume from waiting: %+v", final.Resumes)
	}
	checkRescue(t, root, final, before)
	host(t, root, "zoneadm", "-z", sim.SeedZone, "boot")

	// A second --finish, an --abandon of the finished operation.
	if _, err := e.Finish(context.Background(), op.ID, "admin", func(engine.Event) {}); !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), "has succeeded") {
		t.Errorf("a second finish: %v, want a precondition that says it has succeeded", err)
	}
	if _, err := e.Abandon(context.Background(), op.ID, "admin", func(engine.Event) {}); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("abandon of a finished rescue: %v, want a precondition", err)
	}
	if _, err := e.PlanFinish(op.ID); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("finish's dry run of a finished rescue: %v, want a precondition", err)
	}
}

func TestRescueFinishRefusals(t *testing.T) {
	root := rescueHost(t)
	e, _, stop := newRescueEngine(t, root, filepath.Join(t.TempDir(), "j.db"), engine.Config{})
	defer stop()
	if _, err := e.Finish(context.Background(), 99, "admin", func(engine.Event) {}); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("finish of an unknown operation: %v, want not found", err)
	}
	// A plain rescue does not wait: it cannot be finished.
	op, err := e.Rescue(context.Background(), rescueRequest, func(engine.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"finish":  func() error { _, err := e.Finish(context.Background(), op.ID, "a", func(engine.Event) {}); return err },
		"abandon": func() error { _, err := e.Abandon(context.Background(), op.ID, "a", func(engine.Event) {}); return err },
		"plan":    func() error { _, err := e.PlanFinish(op.ID); return err },
	} {
		err := f()
		if !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), "only an operation that waits for an admin") {
			t.Errorf("%s of a plain rescue that succeeded: %v", name, err)
		}
	}
}

func TestRescueShellAbandon(t *testing.T) {
	root := rescueHost(t)
	e, _, stop := newRescueEngine(t, root, filepath.Join(t.TempDir(), "j.db"), engine.Config{})
	defer stop()
	op := waitingShell(t, e, root)
	final, err := e.Abandon(context.Background(), op.ID, "admin", func(engine.Event) {})
	if err != nil || final.State != store.OpRolledBack {
		t.Fatalf("abandon: %v (%+v)", err, final)
	}
	if !strings.Contains(final.Error, "abandoned by admin") {
		t.Errorf("abandoned with error %q", final.Error)
	}
	rescueConsistent(t, root)
	// Nothing holds the zones now: a plain rescue runs.
	if op, err := e.Rescue(context.Background(), rescueRequest, func(engine.Event) {}); err != nil || op.State != store.OpSucceeded {
		t.Fatalf("a rescue after the abandon: %v", err)
	}
}

// TestRescueShellWaitSurvivesRestart: volctld stops (or dies) while the
// rescue waits; the next start leaves it waiting, still holding the zones,
// and --finish goes on from there.
func TestRescueShellWaitSurvivesRestart(t *testing.T) {
	root := rescueHost(t)
	before := labelOf(t, root)
	dbPath := filepath.Join(t.TempDir(), "j.db")
	e, _, stop := newRescueEngine(t, root, dbPath, engine.Config{})
	op := waitingShell(t, e, root)
	stop()

	e, _, stop = newRescueEngine(t, root, dbPath, engine.Config{})
	defer stop()
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	e.Wait()
	if len(e.Resumed()) != 0 {
		t.Errorf("the start resumed %v: a waiting rescue waits", e.Resumed())
	}
	again := mustOp(t, e, op.ID)
	if again.State != store.OpWaiting {
		t.Fatalf("after the restart the rescue is %s (%s)", again.State, again.Attention)
	}
	checkWaiting(t, root, again)
	var held *engine.HeldError
	if _, err := e.Rescue(context.Background(), rescueRequest, func(engine.Event) {}); !errors.As(err, &held) {
		t.Errorf("a rescue after the restart: %v, want held", err)
	}
	final, err := e.Finish(context.Background(), op.ID, "admin", func(engine.Event) {})
	if err != nil || final.State != store.OpSucceeded {
		t.Fatalf("finish after the restart: %v", err)
	}
	checkRescue(t, root, final, before)
}

func mustOp(t *testing.T, e *engine.Engine, id uint64) *store.Operation {
	t.Helper()
	op, err := e.Operation(id)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func stepAt(op *store.Operation, name string) int {
	for i, st := range op.Steps {
		if st.Name == name {
			return i
		}
	}
	return -1
}
