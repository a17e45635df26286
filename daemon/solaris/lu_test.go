package solaris_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/solaris"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

// Fail closed on LUs (docs/platform/comstar-lu.md): an LU whose properties
// list-lu -v does not show is refused, not read as "no LU"; an imported LU
// is waited for until it has its captured operational state; create-lu is
// never run with values it cannot carry.

// newEngineLU is newEngine with the backend adjusted by tune.
func newEngineLU(t *testing.T, root string, cfg engine.Config, tune func(b *solaris.Backend)) (*engine.Engine, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 10 * time.Millisecond
	}
	if cfg.DefaultTimeout == 0 {
		cfg.DefaultTimeout = 20 * time.Second
	}
	b := newBackend(root)
	if tune != nil {
		tune(b)
	}
	e := engine.New(ctx, db, b, cfg, nil)
	t.Cleanup(func() { cancel(); e.Wait(); db.Close() })
	return e, db
}

// rollbackOpts is what rolling back the seed's volume needs on a flavor:
// kz1 is installed on Solaris (no consent needed), nothing on illumos.
func seedRollback(t *testing.T, e *engine.Engine) (*store.Operation, []engine.Event, error) {
	t.Helper()
	return rollback(t, e, "pool/idisk0@snap1", store.Options{})
}

// TestUnreadableLURefused: a standby LU (every sbd property "prop
// unavailable in standby", its zvol closed so zfs would not say busy) or a
// property printing "<error retrieving property>" (list-lu -v exiting 0 or
// with the last LU's failure count) refuses the rollback before anything
// runs, naming the LU and quoting the lines. An LU that is not on the
// volume and whose data file is readable does not.
func TestUnreadableLURefused(t *testing.T) {
	tests := []struct {
		name string
		knob func(t *testing.T, root string)
		want []string // in the error; none: the rollback goes through
	}{
		{"standby LU of the volume", func(t *testing.T, root string) {
			must(t, sim.SetLUAccess(root, sim.SeedGUID0, sim.AccessStandby))
		}, []string{sim.SeedGUID0, `Data File, Meta File, Size`, `: "prop unavailable in standby"`, `Access State: "Standby"`, "not Active on this node", "import-lu"}},
		{"LU in transition to standby", func(t *testing.T, root string) {
			must(t, sim.SetLUAccess(root, sim.SeedGUID0, sim.AccessActiveToStandby))
		}, []string{sim.SeedGUID0, `Access State: "Active->Standby"`}},
		{"another volume's LU in standby: it may be on this one", func(t *testing.T, root string) {
			must(t, sim.SetLUAccess(root, sim.SeedGUID1, sim.AccessStandby))
		}, []string{sim.SeedGUID1, `Data File, Meta File`, `: "prop unavailable in standby"`, "cannot tell whether it is on pool/idisk0"}},
		{"size of the volume's LU cannot be read (exit 0)", func(t *testing.T, root string) {
			must(t, sim.SetLUPropError(root, sim.SeedGUID0, "Size", true))
		}, []string{sim.SeedGUID0, `Size: "<error retrieving property>"`}},
		{"access state of the volume's LU cannot be read", func(t *testing.T, root string) {
			must(t, sim.SetLUPropError(root, sim.SeedGUID0, "Access State", true))
		}, []string{sim.SeedGUID0, `Access State: "<error retrieving property>"`}},
		{"data file of another LU cannot be read (exit 1)", func(t *testing.T, root string) {
			must(t, sim.SetLUPropError(root, sim.SeedGUID1, "Data File", true))
		}, []string{sim.SeedGUID1, `Data File: "<error retrieving property>"`, "cannot tell whether it is on pool/idisk0"}},
		{"another volume's LU with an unreadable serial: not this volume's", func(t *testing.T, root string) {
			must(t, sim.SetLUPropError(root, sim.SeedGUID1, "Serial Num", true))
		}, nil},
	}
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				root := simtest.HostFlavor(t, flavor)
				tc.knob(t, root)
				e, db := newEngine(t, root, engine.Config{})
				if tc.want == nil {
					op, _, err := seedRollback(t, e)
					if err != nil || op.State != store.OpSucceeded {
						t.Fatalf("rollback: %v", err)
					}
					simtest.Must(t, root, simtest.AtSnapshot)
					return
				}
				before, _ := os.ReadFile(filepath.Join(root, "state.json"))
				_, err := e.Plan(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1"})
				if !errors.Is(err, engine.ErrPrecondition) {
					t.Fatalf("plan: err = %v, want a refusal (failed precondition)", err)
				}
				_, _, err = seedRollback(t, e)
				if !errors.Is(err, engine.ErrPrecondition) {
					t.Fatalf("rollback: err = %v, want a refusal (failed precondition)", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("the refusal does not say %s:\n%v", w, err)
					}
				}
				if got := mutating(t, root); len(got) > 0 {
					t.Errorf("refused rollback changed the host: %v", got)
				}
				after, _ := os.ReadFile(filepath.Join(root, "state.json"))
				if string(before) != string(after) {
					t.Error("host state changed")
				}
				if ops, _ := db.ListOperations(0, nil); len(ops) != 0 {
					t.Errorf("a refused request journaled %d operations", len(ops))
				}
			})
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSlowOnlineIsWaitedFor: the kernel onlines an imported LU from a
// service thread (list-lu shows Onlining first, here for 1 s): the import
// step re-reads the LU until it is Online, and the rollback succeeds.
func TestSlowOnlineIsWaitedFor(t *testing.T) { simtest.ForFlavors(t, testSlowOnlineIsWaitedFor) }

func testSlowOnlineIsWaitedFor(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	must(t, sim.SetOnlining(root, time.Second))
	e, _ := newEngine(t, root, engine.Config{})
	op, _, err := seedRollback(t, e)
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	simtest.Must(t, root, simtest.AtSnapshot)
	var seen []string
	for _, st := range op.Steps {
		if st.Name != "import-lu" {
			continue
		}
		for _, c := range st.Commands {
			if len(c.Argv) > 1 && c.Argv[1] == "list-lu" {
				if i := strings.Index(c.Stdout, "Operational Status: "); i >= 0 {
					seen = append(seen, strings.Fields(c.Stdout[i+len("Operational Status: "):])[0])
				}
			}
		}
	}
	if len(seen) < 2 || seen[0] != "Onlining" || seen[len(seen)-1] != "Online" {
		t.Errorf("import-lu read the LU as %v: want Onlining first, Online last", seen)
	}
	if d := op.OutageEnd.Sub(op.OutageStart); d < time.Second {
		t.Errorf("outage window %s: the wait for the online is part of it", d)
	}
}

// TestNewLUsOfflineAreOnlined: on a host whose stmf starts new LUs Offline,
// the imported LU is brought back Online (online-lu), as it was.
func TestNewLUsOfflineAreOnlined(t *testing.T) { simtest.ForFlavors(t, testNewLUsOfflineAreOnlined) }

func testNewLUsOfflineAreOnlined(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	must(t, sim.SetKnob(root, sim.KnobNewLUsOffline, true))
	must(t, sim.SetOnlining(root, 300*time.Millisecond))
	e, _ := newEngine(t, root, engine.Config{})
	op, _, err := seedRollback(t, e)
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	got := mutating(t, root)
	i := slices.Index(got, "stmfadm import-lu /dev/zvol/rdsk/pool/idisk0")
	if i < 0 || i+1 >= len(got) || got[i+1] != "stmfadm online-lu "+sim.SeedGUID0 {
		t.Errorf("want online-lu right after import-lu: %v", got)
	}
	simtest.Must(t, root, simtest.AtSnapshot) // LU Online
}

// TestOfflineLUStaysOffline: an LU that was Offline is taken Offline again
// after import-lu (which brings it up Online), and the plan says so.
func TestOfflineLUStaysOffline(t *testing.T) { simtest.ForFlavors(t, testOfflineLUStaysOffline) }

func testOfflineLUStaysOffline(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	host(t, root, "stmfadm", "offline-lu", sim.SeedGUID1)
	// Written to since @base: otherwise, where written@ proves nothing
	// changed (illumos), there is nothing to roll back.
	if err := sim.WriteData(root, "pool/idisk1", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{})
	opts := store.Options{AcceptSessions: true}
	plan, err := e.Plan(context.Background(), engine.Request{Snapshot: "pool/idisk1@base", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(plan.Warnings, func(w string) bool { return strings.Contains(w, "taken Offline again") }) {
		t.Errorf("the plan does not say the LU ends Offline: %v", plan.Warnings)
	}
	op, _, err := rollback(t, e, "pool/idisk1@base", opts)
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	if !slices.Contains(mutating(t, root), "stmfadm offline-lu "+sim.SeedGUID1) {
		t.Errorf("no offline-lu after the import: %v", mutating(t, root))
	}
	st, _ := sim.Load(root)
	if lu := st.LU(sim.SeedGUID1); lu == nil || lu.State != "Offline" || len(st.Views(sim.SeedGUID1)) != 1 {
		t.Errorf("LU %s after the rollback: %+v, want it registered, Offline, with its view", sim.SeedGUID1, lu)
	}
}

// TestOnlineDeadline: an LU still Onlining at lu_online_timeout fails the
// import step with the LU and the state it was seen in; past the commit
// the saga retries and then leaves the operation needing attention, with
// nothing lost: the data at the snapshot, the LU registered with its
// views. Once it is online, recover finishes.
func TestOnlineDeadline(t *testing.T) { simtest.ForFlavors(t, testOnlineDeadline) }

func testOnlineDeadline(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	must(t, sim.SetOnlining(root, 3*time.Second))
	e, _ := newEngineLU(t, root, engine.Config{Retries: 1}, func(b *solaris.Backend) { b.LUOnlineTimeout = 300 * time.Millisecond })
	start := time.Now()
	op, _, err := seedRollback(t, e)
	if !errors.Is(err, engine.ErrNeedsAttention) || op.State != store.OpNeedsAttention {
		t.Fatalf("rollback: %v (state %v), want needs attention", err, op.State)
	}
	for _, w := range []string{"import-lu", sim.SeedGUID0, "still Onlining", "300ms", "lu_online_timeout"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not say %q: %v", w, err)
		}
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("the deadline did not bound the wait: %s", time.Since(start))
	}
	st, _ := sim.Load(root)
	if string(st.Zvol("pool/idisk0").Data) != simtest.DataAtSnap || st.LU(sim.SeedGUID0) == nil || len(st.Views(sim.SeedGUID0)) != 2 {
		t.Fatal("past the commit: the data must be at the snapshot and the LU registered with its views")
	}
	time.Sleep(time.Until(start.Add(3500 * time.Millisecond)))
	op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{}, func(engine.Event) {})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("recover: %v", err)
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}

// TestStepsRefuseAnLUTheyCannotRead: the LU comes back, but list-lu -v
// cannot read its size: the steps that read it back (resize-lu, verify)
// say so, quoting the line, instead of comparing a zero. Set while the
// import step waits for the online.
func TestStepsRefuseAnLUTheyCannotRead(t *testing.T) {
	simtest.ForFlavors(t, testStepsRefuseAnLUTheyCannotRead)
}

func testStepsRefuseAnLUTheyCannotRead(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	must(t, sim.SetOnlining(root, 1500*time.Millisecond))
	e, _ := newEngineLU(t, root, engine.Config{Retries: 1}, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if slices.Contains(mutating(t, root), "stmfadm import-lu /dev/zvol/rdsk/pool/idisk0") {
				_ = sim.SetLUPropError(root, sim.SeedGUID0, "Size", true)
				return
			}
		}
	}()
	op, _, err := seedRollback(t, e)
	<-done
	if !errors.Is(err, engine.ErrNeedsAttention) {
		t.Fatalf("rollback: %v (state %v), want needs attention", err, op.State)
	}
	if !strings.Contains(err.Error(), `Size: "<error retrieving property>"`) || !strings.Contains(err.Error(), sim.SeedGUID0) {
		t.Errorf("the error does not quote the unreadable size: %v", err)
	}
	must(t, sim.SetLUPropError(root, sim.SeedGUID0, "Size", false))
	op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{}, func(engine.Event) {})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("recover: %v", err)
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}

// TestCreateLUNeverDropsAValue: the LU's alias holds '=', which
// create-lu -p cannot carry (strtok_r). The plan warns that the create-lu
// fallback is not available; when the fallback is needed (the zvol's LU
// metadata is gone), the step refuses with the reason instead of creating
// an LU with another alias, and the operation needs attention.
func TestCreateLUNeverDropsAValue(t *testing.T) { simtest.ForFlavors(t, testCreateLUNeverDropsAValue) }

func testCreateLUNeverDropsAValue(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	if err := sim.Update(root, func(s *sim.State) error {
		s.LU(sim.SeedGUID0).Alias = "db=prod"
		delete(s.Zvol("pool/idisk0").Props, "stmf_sbd_lu") // import-lu: meta file error
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngineLU(t, root, engine.Config{Retries: 1}, nil)
	plan, err := e.Plan(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(plan.Warnings, func(w string) bool {
		return strings.Contains(w, "no create-lu fallback for LU "+sim.SeedGUID0) && strings.Contains(w, `"db=prod" contains '='`)
	}) {
		t.Errorf("the plan does not warn that create-lu cannot carry the alias: %v", plan.Warnings)
	}
	op, _, err := seedRollback(t, e)
	if !errors.Is(err, engine.ErrNeedsAttention) || op.State != store.OpNeedsAttention {
		t.Fatalf("rollback: %v, want needs attention", err)
	}
	if !strings.Contains(err.Error(), `alias "db=prod" contains '='`) {
		t.Errorf("the error does not give the reason: %v", err)
	}
	for _, c := range mutating(t, root) {
		if strings.HasPrefix(c, "stmfadm create-lu") {
			t.Errorf("ran %q: an LU with another alias than the captured one", c)
		}
	}
	// A permanent refusal: import-lu ran once, not once per retry.
	n := 0
	for _, c := range mutating(t, root) {
		if strings.HasPrefix(c, "stmfadm import-lu") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("import-lu ran %d times, want 1 (the refusal is permanent)", n)
	}
	st, _ := sim.Load(root)
	if len(st.Views(sim.SeedGUID0)) != 2 || string(st.Zvol("pool/idisk0").Data) != simtest.DataAtSnap {
		t.Error("the views (kept by delete-lu -k) and the rolled-back data must be there for the admin")
	}
}
