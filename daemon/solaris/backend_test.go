package solaris_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon/bootcheck/bootchecktest"
	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/daemon/solaris"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
	"github.com/volctl/volctl/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	simtest.Cleanup()
	os.Exit(code)
}

func paths(root string) solaris.Paths {
	return solaris.Paths{Zfs: sim.CommandPath(root, "zfs"), Zpool: sim.CommandPath(root, "zpool"), Stmfadm: sim.CommandPath(root, "stmfadm"),
		Zoneadm: sim.CommandPath(root, "zoneadm"), Zonecfg: sim.CommandPath(root, "zonecfg")}
}

// newBackend is the backend of the seed's host, whose own initiator is
// logged in to its targets (kz1 boots over iSCSI loopback).
func newBackend(root string) *solaris.Backend {
	b := solaris.New(paths(root))
	b.Initiators = []string{sim.SeedInitiator}
	simDisks(root, b)
	return b
}

// simDisks points b's check-boot at the host's disk images, and writes
// one that boots for each volume that has none yet.
func simDisks(root string, b *solaris.Backend) {
	b.ZvolDeviceDir = bootchecktest.SimDir(root)
	if err := bootchecktest.EnsureSimImages(root); err != nil {
		panic(err)
	}
}

// newEngine runs an engine on a fresh journal against the host at root.
func newEngine(t *testing.T, root string, cfg engine.Config) (*engine.Engine, *store.DB) {
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
		cfg.DefaultTimeout = 10 * time.Second
	}
	e := engine.New(ctx, db, newBackend(root), cfg, nil)
	t.Cleanup(func() { cancel(); e.Wait(); db.Close() })
	return e, db
}

// host runs a platform command on the simulated host directly (as an admin
// would), failing the test if it fails.
func host(t *testing.T, root string, argv ...string) string {
	t.Helper()
	out, err := exec.Command(sim.CommandPath(root, argv[0]), argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// isRead reports an argv that only reads the host.
func isRead(argv []string) bool {
	verb := argv[1]
	if len(argv) > 3 && argv[1] == "-z" {
		verb = argv[3]
	}
	switch verb {
	case "list", "get", "list-lu", "list-view", "info", "list-hg", "list-tg", "list-target", "list-state", "history":
		return true
	}
	// The capability probes: delete-lu -k with no operand deletes nothing;
	// zfs snapshot in a pool that is not there takes nothing.
	return verb == "delete-lu" && len(argv) == 3 ||
		verb == "snapshot" && len(argv) == 4 && strings.HasPrefix(argv[2], "volctl-probe-nopool/") && strings.HasPrefix(argv[3], "volctl-probe-nopool/")
}

// mutating lists the calls that could have changed the host.
func mutating(t *testing.T, root string) []string {
	t.Helper()
	calls, err := sim.Calls(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range calls {
		if len(c.Argv) < 2 {
			continue
		}
		if isRead(c.Argv) {
			continue
		}
		out = append(out, strings.Join(append([]string{filepath.Base(c.Argv[0])}, c.Argv[1:]...), " "))
	}
	return out
}

func rollback(t *testing.T, e *engine.Engine, snap string, opts store.Options) (*store.Operation, []engine.Event, error) {
	t.Helper()
	var events []engine.Event
	op, err := e.Rollback(context.Background(), engine.Request{Snapshot: snap, Options: opts}, func(ev engine.Event) {
		events = append(events, ev)
	})
	return op, events, err
}

// zoneSteps wraps a rollback's changes (or steps) in the kernel zone's
// detach and attach where the flavor has kernel zones: only the Solaris
// seed has kz1 (docs/platform/zones.md §1).
func zoneSteps(flavor string, before, middle, after []string) []string {
	if !simtest.KernelZones(flavor) {
		return middle
	}
	return slices.Concat(before, middle, after)
}

// seedZones is how many zones the seed has on pool/idisk0: kz1 where the
// flavor has kernel zones, none elsewhere.
func seedZones(flavor string) int {
	if simtest.KernelZones(flavor) {
		return 1
	}
	return 0
}

func TestRollbackSeed(t *testing.T) { simtest.ForFlavors(t, testRollbackSeed) }

func testRollbackSeed(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	e, db := newEngine(t, root, engine.Config{})
	op, events, err := rollback(t, e, "pool/idisk0@snap1", store.Options{})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if op.State != store.OpSucceeded {
		t.Fatalf("state %s: %s", op.State, op.Error)
	}
	simtest.Must(t, root, simtest.AtSnapshot)

	st, _ := sim.Load(root)
	if z := st.Zone("kz1"); z != nil && z.Key == sim.SeedZoneKey {
		t.Errorf("kz1 still has key %s: host data was not re-initialised", z.Key)
	}
	wantSeq := zoneSteps(flavor, []string{"zoneadm -z kz1 detach"}, []string{
		"stmfadm delete-lu -k " + sim.SeedGUID0,
		"zfs rollback pool/idisk0@snap1",
		"stmfadm import-lu /dev/zvol/rdsk/pool/idisk0",
	}, []string{"zoneadm -z kz1 attach -x initialize-hostdata"})
	if got := mutating(t, root); !slices.Equal(got, wantSeq) {
		t.Errorf("changes made:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantSeq, "\n  "))
	}
	// The journal has every step done and every command with its result.
	stored, err := db.GetOperation(op.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range stored.Steps {
		names = append(names, s.Name)
		if s.State != store.StepDone {
			t.Errorf("step %s is %s", s.Name, s.State)
		}
		if len(s.Commands) == 0 {
			t.Errorf("step %s journaled no command", s.Name)
		}
		for _, c := range s.Commands {
			if !filepath.IsAbs(c.Argv[0]) || c.Started.IsZero() || c.Duration <= 0 {
				t.Errorf("step %s: command not fully recorded: %+v", s.Name, c)
			}
		}
	}
	// resize-lu: Solaris and illumos print "-" for a snapshot's volsize,
	// so the LU's size is checked against the volume after the rollback.
	wantSteps := slices.Concat([]string{"capture"}, zoneSteps(flavor, []string{"detach-zones"},
		[]string{"delete-lu", "rollback", "import-lu", "restore-views", "resize-lu", "verify"}, []string{"attach-zones"}))
	if !slices.Equal(names, wantSteps) {
		t.Errorf("steps %v, want %v", names, wantSteps)
	}
	if len(stored.Identity.LUs) != 1 || len(stored.Identity.LUs[0].Views) != 2 || len(stored.Identity.Zones) != seedZones(flavor) {
		t.Errorf("captured identity incomplete: %+v", stored.Identity)
	}
	if d := stored.OutageEnd.Sub(stored.OutageStart); d <= 0 {
		t.Errorf("outage window %s", d)
	}
	// The operation's id first (step 0, the capture, starting), then the
	// plan (issue 21 item 2).
	if len(events) < 3 || events[0].Step != "capture" || events[0].Op != stored.ID || events[1].Plan == nil || events[len(events)-1].Final == nil {
		t.Errorf("stream must start with the capture's start (the operation's id), then the plan, and end with the operation")
	}
}

func TestRollbackRefusedChangesNothing(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		snap  string
		opts  store.Options
		want  error
		msg   string
		kz    bool // about a kernel zone: Solaris only (docs/platform/zones.md §1)
	}{
		{name: "missing snapshot", snap: "pool/idisk0@nope", want: engine.ErrNotFound, msg: "does not exist"},
		{name: "unknown volume", snap: "pool/nosuch@snap1", want: engine.ErrNotFound, msg: "does not exist"},
		{name: "shell metacharacters", snap: "pool/idisk0@snap1;rm -rf /", want: engine.ErrInvalid},
		{name: "empty", snap: "", want: engine.ErrInvalid},
		{name: "too long", snap: "pool/" + strings.Repeat("x", 260) + "@s", want: engine.ErrInvalid, msg: "too long"},
		{name: "no snapshot part", snap: "pool/idisk0@", want: engine.ErrInvalid},
		{name: "command substitution", snap: "pool/$(reboot)@snap1", want: engine.ErrInvalid},
		{name: "newline", snap: "pool/idisk0@snap1\nrollback", want: engine.ErrInvalid},
		{name: "reads as an option", snap: "-rf@snap1", want: engine.ErrInvalid},
		{name: "path traversal", snap: "../../etc/passwd@x", want: engine.ErrInvalid},
		{name: "non-ASCII", snap: "pöol/idisk0@snap1", want: engine.ErrInvalid},
		{name: "space", snap: "pool/idisk0@snap 1", want: engine.ErrInvalid},
		{name: "filesystem", snap: "pool/data@x", want: engine.ErrInvalid, msg: "not a volume",
			setup: func(t *testing.T, root string) { host(t, root, "zfs", "snapshot", "pool/data@x") }},
		{name: "newer snapshot without consent", snap: "pool/idisk0@snap1", want: engine.ErrPrecondition, msg: "pool/idisk0@snap2",
			setup: func(t *testing.T, root string) { host(t, root, "zfs", "snapshot", "pool/idisk0@snap2") }},
		{name: "running zone without consent", snap: "pool/idisk0@snap1", want: engine.ErrPrecondition, msg: "needs consent halt_zones", kz: true,
			setup: func(t *testing.T, root string) { host(t, root, "zoneadm", "-z", "kz1", "boot") }},
	}
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		for _, tc := range tests {
			if tc.kz && !simtest.KernelZones(flavor) {
				continue
			}
			t.Run(tc.name, func(t *testing.T) {
				root := simtest.HostFlavor(t, flavor)
				if tc.setup != nil {
					tc.setup(t, root)
				}
				before, _ := os.ReadFile(filepath.Join(root, "state.json"))
				callsBefore := len(mutating(t, root))
				e, db := newEngine(t, root, engine.Config{})
				_, _, err := rollback(t, e, tc.snap, tc.opts)
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q does not say %q", err, tc.msg)
				}
				if got := mutating(t, root)[callsBefore:]; len(got) > 0 {
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

// kzHost seeds a Solaris 11.4 host. The tests that use it are about kernel
// zones (host data and its key, --halt-zones, a guest that will not shut
// down, suspended zones, zoneadm list -s), which exist only on Oracle
// Solaris 11.4 (docs/platform/zones.md §1: illumos has no solaris-kz brand and
// its seed has no kz1), so they run on that flavor alone.
func kzHost(t *testing.T) string { return simtest.HostFlavor(t, sim.FlavorSolaris) }

// TestKeepHostdataFailsClearlyOnKeyError: Solaris only (kernel zones).
func TestKeepHostdataFailsClearlyOnKeyError(t *testing.T) {
	root := kzHost(t)
	e, _ := newEngine(t, root, engine.Config{Retries: 2})
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{KeepHostdata: true})
	if !errors.Is(err, engine.ErrNeedsAttention) {
		t.Fatalf("err = %v, want needs attention", err)
	}
	if op.State != store.OpNeedsAttention {
		t.Fatalf("state %s", op.State)
	}
	for _, want := range []string{"Encryption key is incorrect", "initialize-hostdata", "attach-zones"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	// A permanent error is not retried: one plain attach only.
	n := 0
	for _, c := range mutating(t, root) {
		if c == "zoneadm -z kz1 attach" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("plain attach ran %d times, want 1", n)
	}
	st, _ := sim.Load(root)
	if string(st.Zvol("pool/idisk0").Data) != simtest.DataAtSnap || st.LU(sim.SeedGUID0) == nil || len(st.Views(sim.SeedGUID0)) != 2 {
		t.Error("the rollback itself and the LU identity must be complete before the zone step")
	}
	// The admin follows the advice and recovers: the zone comes back.
	host(t, root, "zoneadm", "-z", "kz1", "attach", "-x", "initialize-hostdata")
	op, err = e.Recover(context.Background(), op.ID, engine.RecoverOptions{}, func(engine.Event) {})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("recover: %v, state %v", err, op.State)
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}

// TestHaltZonesBootsThemAgain: Solaris only (kernel zones).
func TestHaltZonesBootsThemAgain(t *testing.T) {
	root := kzHost(t)
	host(t, root, "zoneadm", "-z", "kz1", "boot")
	e, _ := newEngine(t, root, engine.Config{})
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	st, _ := sim.Load(root)
	if z := st.Zone("kz1"); z.State != sim.ZoneRunning {
		t.Errorf("kz1 is %s, want running again", z.State)
	}
	got := mutating(t, root)
	if !slices.Contains(got, "zoneadm -z kz1 shutdown") || slices.Contains(got, "zoneadm -z kz1 halt") || got[len(got)-1] != "zoneadm -z kz1 boot" {
		t.Errorf("want a clean shutdown (no halt) before and boot last: %v", got)
	}
}

// TestZoneThatWillNotShutDownIsHalted: a guest that hangs in shutdown is
// halted after the shutdown deadline. Solaris only (kernel zones).
func TestZoneThatWillNotShutDownIsHalted(t *testing.T) {
	root := kzHost(t)
	host(t, root, "zoneadm", "-z", "kz1", "boot")
	if err := sim.AddFault(root, sim.Fault{Command: "zoneadm", Match: "-z kz1 shutdown", Action: sim.ActionHang}); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "j.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := newBackend(root)
	b.ShutdownTimeout = 300 * time.Millisecond
	e := engine.New(ctx, db, b, engine.Config{DefaultTimeout: 10 * time.Second}, nil)
	defer e.Wait()
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{HaltZones: true})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	got := mutating(t, root)
	if !slices.Contains(got, "zoneadm -z kz1 halt") {
		t.Errorf("hung shutdown not followed by halt: %v", got)
	}
	simtest.KillHung(root)
	simtest.MustZone(t, root, simtest.AtSnapshot, sim.ZoneRunning)
}

func TestDestroyNewer(t *testing.T) { simtest.ForFlavors(t, testDestroyNewer) }

func testDestroyNewer(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	host(t, root, "zfs", "snapshot", "pool/idisk0@snap2")
	e, _ := newEngine(t, root, engine.Config{})
	plan, err := e.Plan(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1", Options: store.Options{DestroyNewer: true}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Identity.NewerSnapshots, []string{"pool/idisk0@snap2"}) {
		t.Errorf("plan names newer snapshots %v", plan.Identity.NewerSnapshots)
	}
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{DestroyNewer: true})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	if !slices.Contains(mutating(t, root), "zfs rollback -r pool/idisk0@snap1") {
		t.Error("rollback without -r")
	}
	st, _ := sim.Load(root)
	if st.Zvol("pool/idisk0").Snapshot("snap2") != nil {
		t.Error("snap2 survived")
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}

// TestPlanShowsEveryCommand: every command a successful rollback runs was
// in its step's plan (issue 13: restore-views and the zone state reads were
// not), so --dry-run is the rollback's commands, not a summary of them.
func TestPlanShowsEveryCommand(t *testing.T) { simtest.ForFlavors(t, testPlanShowsEveryCommand) }

func testPlanShowsEveryCommand(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	e, _ := newEngine(t, root, engine.Config{})
	plan, err := e.Plan(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1"})
	if err != nil {
		t.Fatal(err)
	}
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range op.Steps[1:] {
		planned := map[string]bool{}
		for _, argv := range plan.Steps[i+1].Planned {
			planned[strings.Join(argv, " ")] = true
		}
		for _, c := range st.Commands {
			if line := strings.Join(c.Argv, " "); !planned[line] {
				t.Errorf("step %s ran %q, which its plan does not show", st.Name, line)
			}
		}
	}
}

func TestPlanIsADryRun(t *testing.T) { simtest.ForFlavors(t, testPlanIsADryRun) }

func testPlanIsADryRun(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	before, _ := os.ReadFile(filepath.Join(root, "state.json"))
	e, db := newEngine(t, root, engine.Config{})
	op, err := e.Plan(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1"})
	if err != nil {
		t.Fatal(err)
	}
	var planned, reads []string
	for _, s := range op.Steps {
		for _, argv := range s.Planned {
			line := filepath.Base(argv[0]) + " " + strings.Join(argv[1:], " ")
			if isRead(argv) {
				reads = append(reads, s.Name+": "+line)
				continue
			}
			planned = append(planned, line)
		}
	}
	// Solaris and illumos do not say what size the volume had at the
	// snapshot, so the resize is planned with the size read after the
	// rollback. online-lu runs only where the host brings new LUs up
	// Offline (the step's description says so); the plan shows it, since
	// the plan cannot know.
	want := zoneSteps(flavor, []string{"zoneadm -z kz1 detach"}, []string{"stmfadm delete-lu -k " + sim.SeedGUID0, "zfs rollback pool/idisk0@snap1",
		"stmfadm import-lu /dev/zvol/rdsk/pool/idisk0", "stmfadm online-lu " + sim.SeedGUID0,
		"stmfadm modify-lu -s <volsize after the rollback, if smaller than 1073741824> " + sim.SeedGUID0},
		[]string{"zoneadm -z kz1 attach -x initialize-hostdata"})
	for _, r := range []string{"resize-lu: zfs get -H -p -o name,property,value,source volsize pool/idisk0",
		"import-lu: stmfadm list-lu -v " + sim.SeedGUID0,
		"verify: stmfadm list-lu -v " + sim.SeedGUID0, "verify: stmfadm list-view -l " + sim.SeedGUID0} {
		if !slices.Contains(reads, r) {
			t.Errorf("the plan does not show %q; it shows %q", r, reads)
		}
	}
	if !slices.Equal(planned, want) {
		t.Errorf("planned:\n  %s\nwant:\n  %s", strings.Join(planned, "\n  "), strings.Join(want, "\n  "))
	}
	after, _ := os.ReadFile(filepath.Join(root, "state.json"))
	if string(before) != string(after) || len(mutating(t, root)) != 0 {
		t.Error("plan changed the host")
	}
	if ops, _ := db.ListOperations(0, nil); len(ops) != 0 {
		t.Error("plan journaled an operation")
	}
}

func TestMissingMetadataRecreatesLUWithCapturedGUID(t *testing.T) {
	simtest.ForFlavors(t, testMissingMetadataRecreatesLUWithCapturedGUID)
}

func testMissingMetadataRecreatesLUWithCapturedGUID(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	// The zvol's stmf_sbd_lu is gone (e.g. the zvol was recreated from a
	// send stream): import-lu says "meta file error".
	if err := sim.Update(root, func(s *sim.State) error {
		delete(s.Zvol("pool/idisk0").Props, "stmf_sbd_lu")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{})
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	var created bool
	for _, c := range mutating(t, root) {
		created = created || strings.HasPrefix(c, "stmfadm create-lu -p guid="+sim.SeedGUID0)
	}
	if !created {
		t.Error("LU not re-created with the captured GUID")
	}
	simtest.Must(t, root, simtest.AtSnapshot)
}

// TestHostileNamesFromThePlatform: names the platform reports go into later
// argvs, so they are validated like the caller's input.
func TestHostileNamesFromThePlatform(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *sim.State)
		want string
		kz   bool // edits kz1: Solaris only
	}{
		{"host group that reads as an option", func(s *sim.State) {
			s.HostGroups[0].Name = "-a"
			s.ViewTable[sim.SeedGUID0][0].HostGroup = "-a"
		}, `group "-a"`, false},
		{"host group with shell text", func(s *sim.State) {
			s.HostGroups[0].Name = "hg;reboot"
			s.ViewTable[sim.SeedGUID0][0].HostGroup = "hg;reboot"
		}, `group "hg;reboot"`, false},
		{"zone name with shell text", func(s *sim.State) { s.Zones[0].Name = "kz1$(reboot)" }, `zone name "kz1$(reboot)"`, true},
	}
	simtest.ForFlavors(t, func(t *testing.T, flavor string) {
		for _, tc := range tests {
			if tc.kz && !simtest.KernelZones(flavor) {
				continue
			}
			t.Run(tc.name, func(t *testing.T) {
				root := simtest.HostFlavor(t, flavor)
				if err := sim.Update(root, func(s *sim.State) error { tc.edit(s); return nil }); err != nil {
					t.Fatal(err)
				}
				e, _ := newEngine(t, root, engine.Config{})
				_, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{})
				if !errors.Is(err, engine.ErrPrecondition) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want a refusal naming %s", err, tc.want)
				}
				if got := mutating(t, root); len(got) > 0 {
					t.Errorf("changed the host: %v", got)
				}
			})
		}
	})
}

// TestListVolumesReadsTheHostOnce: listing many volumes reads the LUs and
// the zones once, not once per volume.
func TestListVolumesReadsTheHostOnce(t *testing.T) {
	simtest.ForFlavors(t, testListVolumesReadsTheHostOnce)
}

func testListVolumesReadsTheHostOnce(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	if _, err := sim.AddVolumes(root, 5); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{})
	vols, err := e.ListVolumes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 7 {
		t.Fatalf("%d volumes, want 7", len(vols))
	}
	var idisk0 engine.Volume
	for _, v := range vols {
		if v.Name == "pool/idisk0" {
			idisk0 = v
		}
	}
	zones := seedZones(flavor)
	if len(idisk0.LUs) != 1 || len(idisk0.LUs[0].Views) != 2 || len(idisk0.Zones) != zones || len(idisk0.Snapshots) != 1 {
		t.Errorf("pool/idisk0 listed as %+v", idisk0)
	}
	calls, _ := sim.Calls(root)
	count := map[string]int{}
	for _, c := range calls {
		count[strings.Join(c.Argv[1:], " ")]++
	}
	if count["list-lu -v"] != 1 || count["list -cp"] != 1 || count["-z kz1 info"] != zones {
		t.Errorf("host read more than once: list-lu -v %d, zoneadm list -cp %d, zonecfg info %d",
			count["list-lu -v"], count["list -cp"], count["-z kz1 info"])
	}
}

// TestLUShrinksWithTheVolume: the zvol and its LU grew after the snapshot;
// the rollback takes the zvol back to its old size, import-lu brings the LU
// back at the new size (its metadata is not rolled back), so the LU is
// resized to the volume instead of ending past it.
func TestLUShrinksWithTheVolume(t *testing.T) { simtest.ForFlavors(t, testLUShrinksWithTheVolume) }

func testLUShrinksWithTheVolume(t *testing.T, flavor string) {
	root := simtest.HostFlavor(t, flavor)
	if err := sim.Update(root, func(s *sim.State) error {
		s.Zvol("pool/idisk0").Volsize = 2 << 30
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	host(t, root, "stmfadm", "modify-lu", "-s", "2g", sim.SeedGUID0)
	e, _ := newEngine(t, root, engine.Config{})
	plan, err := e.Plan(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1"})
	if err != nil {
		t.Fatal(err)
	}
	// Solaris and illumos print "-" for a snapshot's volsize: the plan
	// cannot name the size, only say that it may change.
	if !slices.ContainsFunc(plan.Warnings, func(w string) bool { return strings.Contains(w, "size may change") }) {
		t.Errorf("plan does not warn about the resize: %v", plan.Warnings)
	}
	op, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{})
	if err != nil || op.State != store.OpSucceeded {
		t.Fatalf("rollback: %v", err)
	}
	if !slices.Contains(mutating(t, root), "stmfadm modify-lu -s 1073741824 "+sim.SeedGUID0) {
		t.Errorf("LU not resized: %v", mutating(t, root))
	}
	simtest.Must(t, root, simtest.AtSnapshot) // LU size 1 GiB again
}

// TestSuspendedZone: a suspended kernel zone would resume its memory image
// against the rolled-back disk, and a migrating one would lose its guest:
// refused, not warned (docs/platform/zones.md §7), with or without
// --keep-hostdata, before anything changes. Solaris only: suspend images
// and migration are a kernel zone's.
func TestSuspendedZone(t *testing.T) {
	for _, aux := range []string{"suspended", "migrating-out", "migrating-in"} {
		for _, keep := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/keep-hostdata=%v", aux, keep), func(t *testing.T) {
				root := kzHost(t)
				if err := sim.Update(root, func(s *sim.State) error { s.Zone("kz1").Aux = aux; return nil }); err != nil {
					t.Fatal(err)
				}
				e, _ := newEngine(t, root, engine.Config{})
				_, _, err := rollback(t, e, "pool/idisk0@snap1", store.Options{KeepHostdata: keep, HaltZones: true})
				if !errors.Is(err, engine.ErrPrecondition) || errors.Is(err, engine.ErrNeedsConsent) || !strings.Contains(err.Error(), aux) {
					t.Fatalf("err = %v, want a refusal (not a consent) naming %s", err, aux)
				}
				simtest.Must(t, root, simtest.Untouched)
			})
		}
	}
}

// TestNoListSWithAKernelZone: a zoneadm without list -s (probed) cannot
// say whether a kernel zone is suspended: with one on the host the plan
// stops. Solaris only: the illumos flavor has no list -s and no kernel
// zone, and there the whole rollback runs (every per-flavor test).
func TestNoListSWithAKernelZone(t *testing.T) {
	root := kzHost(t)
	if err := sim.AddFault(root, sim.Fault{Command: "zoneadm", Match: "list -s", Action: sim.ActionFail, Exit: 2,
		Stderr: "usage:\tlist [-cipv]"}); err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, root, engine.Config{})
	_, err := e.Plan(context.Background(), engine.Request{Snapshot: "pool/idisk0@snap1"})
	if err == nil || !strings.Contains(err.Error(), "no list -s") {
		t.Fatalf("with a kernel zone and no zoneadm list -s: %v, want a refusal", err)
	}
	if caps := e.Capabilities(); caps.Has(store.CapZoneadmListS) || len(caps) == 0 {
		t.Errorf("capabilities %+v: want zoneadm list -s probed as missing", caps)
	}
}
