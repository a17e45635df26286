// Package simtest gives tests a seeded simulated host (Oracle Solaris 11.4
// by default, or another sim flavor) whose commands run as real processes
// (the volctl-sim binary behind ROOT/usr/sbin symlinks), and checks a host
// against the seed's identity after a rollback.
package simtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/volctl/volctl/sim"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	stubErr   error // why there is no volctl-sim-stub in buildDir
)

// Build compiles volctl-sim, volctld and volctl once per test process and
// returns the directory that holds them.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "volctl-bin-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", buildDir + "/"}
		for _, c := range []string{"volctl-sim", "volctld", "volctl"} {
			args = append(args, "github.com/volctl/volctl/cmd/"+c)
		}
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		// The resident simulator's stub (Serve); without a C compiler
		// the hosts run their commands as processes of their own.
		stubErr = sim.BuildStub(buildDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// Cleanup removes the binaries; call it from TestMain after m.Run.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Host seeds a simulated host in a temp dir and returns its root. Its
// flavor is $VOLCTL_SIM_FLAVOR, else sim.FlavorSolaris (so a whole suite
// can be run against another platform).
func Host(t testing.TB) string {
	t.Helper()
	f, err := sim.DefaultFlavor()
	if err != nil {
		t.Fatal(err)
	}
	return HostFlavor(t, f)
}

// HostFlavor is Host for a given flavor (sim.FlavorSolaris,
// sim.FlavorIllumos, sim.FlavorOpenZFS).
func HostFlavor(t testing.TB, flavor string) string {
	t.Helper()
	bin := Build(t)
	root := filepath.Join(t.TempDir(), "host")
	if err := sim.SeedFlavor(root, flavor); err != nil {
		t.Fatal(err)
	}
	if err := sim.InstallCommands(root, filepath.Join(bin, "volctl-sim")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { KillHung(root) })
	if serveHosts(t) {
		Serve(t, root)
	}
	return root
}

// TwoHosts seeds the two-host scenario (sim.SeedTwoHosts: a storage host
// with the seed's LUs and no zone, a zone host running kz1 from it over the
// simulated iSCSI fabric) in a temp dir, installs the commands in both
// roots, and returns the storage host's root and the zone host's.
func TwoHosts(t testing.TB) (storage, zone string) {
	t.Helper()
	bin := Build(t)
	dir := t.TempDir()
	storage, zone = filepath.Join(dir, "storage"), filepath.Join(dir, "zone")
	if err := sim.SeedTwoHosts(storage, zone); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{storage, zone} {
		if err := sim.InstallCommands(root, filepath.Join(bin, "volctl-sim")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { KillHung(root) })
		if serveHosts(t) {
			Serve(t, root)
		}
	}
	return storage, zone
}

// Flavors are the platforms every engine, fault, crash and CLI suite runs
// against: the Solaris family, default first (docs/platform/README.md §5: a
// test that passes only on the flavor with the richest tools proves nothing
// about the others). sim.FlavorOpenZFS is the Linux backend's and is left to
// its own tests.
func Flavors() []string { return []string{sim.FlavorSolaris, sim.FlavorIllumos} }

// ForFlavors runs fn as one subtest per flavor of Flavors, named by the
// flavor.
func ForFlavors(t *testing.T, fn func(t *testing.T, flavor string)) {
	t.Helper()
	for _, f := range Flavors() {
		t.Run(f, func(t *testing.T) { fn(t, f) })
	}
}

// KernelZones reports whether a flavor has kernel zones (brand solaris-kz,
// zoneadm list -s): Oracle Solaris 11.4 only (docs/platform/zones.md §1), so
// only its seed has kz1.
func KernelZones(flavor string) bool { return flavor == "" || flavor == sim.FlavorSolaris }

// KillHung kills every simulated command still running for root (those a
// "hang" fault left sleeping): they run in their own process groups, so
// nothing else would.
func KillHung(root string) {
	prefix := []byte(filepath.Join(root, "usr", "sbin") + "/")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.HasPrefix(cmdline, prefix) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// Seed identity, as the seed builds it.
var (
	SeedViews     = []string{"All|tg-b|7", "hg-kz|tg-a|0"}
	DataAtSnap    = "kz1 disk at snap1"
	DataAfterSnap = "kz1 disk after snap1"
)

// Outcome is which side of the rollback the volume ended on.
type Outcome int

// Outcomes.
const (
	Untouched Outcome = iota
	AtSnapshot
)

func (o Outcome) String() string {
	if o == AtSnapshot {
		return "at snapshot"
	}
	return "untouched"
}

// Check verifies the seed's pool/idisk0 export after a rollback that ended
// with outcome: the LU with GUID, properties and both views exactly as
// seeded, the data entirely on one side, snap1 still there, and kz1 attached
// (installed) with host data its key can read. On a flavor without kernel
// zones (the seed has no kz1 there) the zone is not checked. It returns
// every problem found (none: consistent).
func Check(root string, want Outcome) []string { return CheckZone(root, want, sim.ZoneInstalled) }

// CheckZone is Check with kz1 expected in zoneState (running when it ran
// before the rollback); zoneState "" checks no zone.
func CheckZone(root string, want Outcome, zoneState string) []string {
	st, err := sim.Load(root)
	if err != nil {
		return []string{err.Error()}
	}
	var bad []string
	lu := st.LU(sim.SeedGUID0)
	switch {
	case lu == nil:
		bad = append(bad, "LU "+sim.SeedGUID0+" is not registered")
	default:
		if lu.State != "Online" {
			bad = append(bad, "LU state "+lu.State)
		}
		if lu.DataFile != "/dev/zvol/rdsk/pool/idisk0" || lu.Alias != "/dev/zvol/rdsk/pool/idisk0" ||
			lu.Size != 1073741824 || lu.Blk != 512 || lu.VID != "SUN     " || lu.PID != "COMSTAR         " || lu.WP || lu.WCD {
			bad = append(bad, fmt.Sprintf("LU properties changed: %+v", *lu))
		}
	}
	var views []string
	for _, v := range st.Views(sim.SeedGUID0) {
		hg, tg := v.HostGroup, v.TargetGroup
		if hg == "" {
			hg = "All"
		}
		if tg == "" {
			tg = "All"
		}
		views = append(views, fmt.Sprintf("%s|%s|%d", hg, tg, v.LUN))
	}
	slices.Sort(views)
	if !slices.Equal(views, SeedViews) {
		bad = append(bad, fmt.Sprintf("views %v, want %v", views, SeedViews))
	}
	vol := st.Zvol("pool/idisk0")
	if vol == nil {
		return append(bad, "zvol pool/idisk0 is gone")
	}
	wantData := DataAfterSnap
	if want == AtSnapshot {
		wantData = DataAtSnap
	}
	if string(vol.Data) != wantData {
		bad = append(bad, fmt.Sprintf("data %q, want %q (%s)", vol.Data, wantData, want))
	}
	if vol.Snapshot("snap1") == nil {
		bad = append(bad, "snapshot pool/idisk0@snap1 is gone")
	}
	if zoneState != "" {
		bad = append(bad, checkKZ1(st, vol, "", zoneState)...)
	}
	// The other volume must never be touched.
	if lu1 := st.LU(sim.SeedGUID1); lu1 == nil || lu1.State != "Online" {
		bad = append(bad, "LU "+sim.SeedGUID1+" of pool/idisk1 was disturbed")
	}
	return bad
}

// checkKZ1 checks kz1 on the host whose state is zst: in zoneState, with a
// key that reads the host data on vol (the storage host's zvol).
func checkKZ1(zst *sim.State, vol *sim.Dataset, where, zoneState string) []string {
	z := zst.Zone(sim.SeedZone)
	switch {
	case zst.Flavor != "" && zst.Flavor != sim.FlavorSolaris && z == nil:
		// illumos / OpenZFS: no kernel zone in the seed.
	case z == nil:
		return []string{"zone kz1 is gone" + where}
	case z.State != zoneState:
		return []string{"zone kz1" + where + " is " + z.State + ", want " + zoneState}
	case vol.HostData == nil || vol.HostData.KeyID != z.Key:
		return []string{fmt.Sprintf("zone kz1%s key %q cannot read the disk's host data (%+v)", where, z.Key, vol.HostData)}
	}
	return nil
}

// CheckTwoHosts is CheckZone for the two-host seed (sim.SeedTwoHosts): the
// export on the storage host as CheckZone checks it, and kz1 on the zone
// host in zoneState with a key that reads the host data on the storage
// host's pool/idisk0, claimed by the zone host unless kz1 is detached.
func CheckTwoHosts(storage, zone string, want Outcome, zoneState string) []string {
	bad := CheckZone(storage, want, "")
	st, err := sim.Load(storage)
	if err != nil {
		return append(bad, err.Error())
	}
	zst, err := sim.Load(zone)
	if err != nil {
		return append(bad, err.Error())
	}
	if st.Zone(sim.SeedZone) != nil {
		bad = append(bad, "the storage host has a zone kz1")
	}
	if vol := st.Zvol("pool/idisk0"); vol != nil {
		bad = append(bad, checkKZ1(zst, vol, " on the zone host", zoneState)...)
		if zoneState != sim.ZoneConfigured && vol.HostData != nil && vol.HostData.Owner != sim.ZoneHostID {
			bad = append(bad, fmt.Sprintf("the disk's host data names hostid %s, not the zone host's %s", vol.HostData.Owner, sim.ZoneHostID))
		}
	}
	return bad
}

// Persisted reports whether STMF's persistent store (the SMF provider
// data) names the LU with that GUID with its file, so that it comes back
// after an stmf restart or a reboot.
func Persisted(root, guid, file string) (bool, error) {
	st, err := sim.Load(root)
	if err != nil {
		return false, err
	}
	return st.ProviderData[strings.ToLower(guid)] == file, nil
}

// CheckRestart restarts STMF on the host (sim.RestartSTMF: only persisted
// LUs come back, views and zones stay) and then runs CheckZone: an LU that
// is online but not persisted shows up as missing. The problems found are
// prefixed "after an stmf restart".
func CheckRestart(root string, want Outcome, zoneState string) []string {
	if err := sim.RestartSTMF(root); err != nil {
		return []string{"stmf restart: " + err.Error()}
	}
	bad := CheckZone(root, want, zoneState)
	for i := range bad {
		bad[i] = "after an stmf restart: " + bad[i]
	}
	return bad
}

// Must fails the test with every problem Check found.
func Must(t testing.TB, root string, want Outcome) {
	t.Helper()
	MustZone(t, root, want, sim.ZoneInstalled)
}

// MustZone is Must with kz1 expected in zoneState.
func MustZone(t testing.TB, root string, want Outcome, zoneState string) {
	t.Helper()
	if bad := CheckZone(root, want, zoneState); len(bad) > 0 {
		t.Fatalf("host not consistent (%s):\n  %s", want, strings.Join(bad, "\n  "))
	}
}

// Summary prints "<kind>: N injected, M consistent" on stdout and appends it
// to the file named by $VOLCTL_SUMMARY (make test prints that file, since go
// test hides a passing package's output).
func Summary(kind string, injected, consistent int) {
	summary(fmt.Sprintf("%s: %d injected, %d consistent", kind, injected, consistent))
}

func summary(line string) {
	fmt.Println(line)
	if p := os.Getenv("VOLCTL_SUMMARY"); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
}

// GroupAfter is what GroupHost writes to each volume after @g1.
const GroupAfter = " after g1"

// GroupHost is the group scenario (issue 12): the seed's Solaris host with
// kz1 booting from a mirrored root pool over two LUs (pool/idisk0 and
// pool/idisk1, both with a bootpri), both snapshotted at @g1 while kz1
// was installed (one zfs snapshot each: Solaris takes one per command,
// docs/platform/zfs-snapshot.md), written to since, and kz1 running.
func GroupHost(t testing.TB) string {
	t.Helper()
	root := HostFlavor(t, sim.FlavorSolaris)
	if err := sim.Update(root, func(s *sim.State) error {
		one := 1
		s.Zone(sim.SeedZone).Devices = append(s.Zone(sim.SeedZone).Devices,
			&sim.ZoneDevice{ID: 1, BootPri: &one, Storage: "iscsi://127.0.0.1:3260/luname.naa." + strings.ToLower(sim.SeedGUID1)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{{"zfs", "snapshot", "pool/idisk0@g1"}, {"zfs", "snapshot", "pool/idisk1@g1"}} {
		if out, err := exec.Command(sim.CommandPath(root, argv[0]), argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", argv, err, out)
		}
	}
	for _, v := range []string{"pool/idisk0", "pool/idisk1"} {
		if err := sim.WriteData(root, v, []byte(v+GroupAfter)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(sim.CommandPath(root, "zoneadm"), "-z", sim.SeedZone, "boot").CombinedOutput(); err != nil {
		t.Fatalf("boot kz1: %v %s", err, out)
	}
	return root
}

// CheckGroup lists what is inconsistent about the group after an
// operation that ended at want.
func CheckGroup(root string, want Outcome) []string {
	st, err := sim.Load(root)
	if err != nil {
		return []string{err.Error()}
	}
	var bad []string
	for _, v := range []struct{ vol, guid string }{{"pool/idisk0", sim.SeedGUID0}, {"pool/idisk1", sim.SeedGUID1}} {
		d := st.Zvol(v.vol)
		if d == nil {
			bad = append(bad, v.vol+" is gone")
			continue
		}
		after := string(d.Data) == v.vol+GroupAfter
		if after != (want == Untouched) {
			bad = append(bad, fmt.Sprintf("%s holds %q, want it %s", v.vol, d.Data, want))
		}
		if d.Snapshot("g1") == nil {
			bad = append(bad, v.vol+"@g1 is gone")
		}
		lu := st.LU(v.guid)
		if lu == nil || lu.State != "Online" {
			bad = append(bad, "LU "+v.guid+" is not online")
		}
		if persisted, _ := Persisted(root, v.guid, "/dev/zvol/rdsk/"+v.vol); !persisted {
			bad = append(bad, "LU "+v.guid+" is not persisted")
		}
	}
	if n := len(st.Views(sim.SeedGUID0)); n != 2 {
		bad = append(bad, fmt.Sprintf("LU %s has %d views, want 2", sim.SeedGUID0, n))
	}
	if n := len(st.Views(sim.SeedGUID1)); n != 1 {
		bad = append(bad, fmt.Sprintf("LU %s has %d views, want 1", sim.SeedGUID1, n))
	}
	z := st.Zone("kz1")
	if d := st.Zvol("pool/idisk0"); z == nil || z.State != sim.ZoneRunning || d == nil || d.HostData == nil || d.HostData.KeyID != z.Key {
		bad = append(bad, "kz1 is not running from a disk its key reads")
	}
	return bad
}

// Sample picks the cases a fault or crash suite runs. All of them, unless
// VOLCTL_FAULT_SAMPLE is a number N > 1: then the 1st, the N+1st, the
// 2N+1st... of the cases in the order the suite builds them, so every
// run of `make test` (which sets it for the keep, undo and rescue suites,
// to stay within its time) runs the same ones, spread over every step.
// `make faults` leaves it unset and runs every case. A suite's tally says
// when it was sampled (Note).
type Sample struct{ every, seen, taken int }

// NewSample reads VOLCTL_FAULT_SAMPLE; a value that is not a number
// above 1 means every case.
func NewSample() *Sample {
	n, err := strconv.Atoi(os.Getenv("VOLCTL_FAULT_SAMPLE"))
	if err != nil || n < 1 {
		n = 1
	}
	return &Sample{every: n}
}

// Take says whether the next case runs.
func (s *Sample) Take() bool {
	s.seen++
	if (s.seen-1)%s.every != 0 {
		return false
	}
	s.taken++
	return true
}

// Note is what a sampled suite's tally adds: "" when it ran every case.
func (s *Sample) Note() string {
	if s.every == 1 {
		return ""
	}
	return fmt.Sprintf(" (sampled, 1 in %d of %d cases: make faults runs them all)", s.every, s.seen)
}

// SampledSummary is Summary with the sample's note at the end of the line.
func SampledSummary(kind string, injected, consistent int, s *Sample) {
	summary(fmt.Sprintf("%s: %d injected, %d consistent%s", kind, injected, consistent, s.Note()))
}
