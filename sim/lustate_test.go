package sim

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The LU knobs (lustate.go) on every Solaris-family flavor: the texts are
// printExtLuProps' and onlineOfflineLu's (docs/platform/comstar-lu.md).
var luFlavors = []string{FlavorSolaris, FlavorIllumos}

// sim runs a volctl-sim management subcommand, failing the test if it fails.
func simManage(t *testing.T, args ...string) {
	t.Helper()
	var o, e bytes.Buffer
	if code := manage(args, &o, &e); code != 0 {
		t.Fatalf("volctl-sim %s: exit %d: %s", strings.Join(args, " "), code, e.String())
	}
}

// TestListLUStandbyAndErrors: the standby form and a property that cannot
// be read, as golden files, set through the volctl-sim subcommands.
func TestListLUStandbyAndErrors(t *testing.T) {
	for _, flavor := range luFlavors {
		t.Run(flavor, func(t *testing.T) {
			cases := []struct {
				name  string
				knobs [][]string // volctl-sim subcommand after the ROOT
				argv  []string
			}{
				{"list-lu-v-standby", [][]string{{"lu-access", "ROOT", guid0, "Standby"}}, []string{"stmfadm", "list-lu", "-v"}},
				{"list-lu-v-active-to-standby", [][]string{{"lu-access", "ROOT", guid0, "Active->Standby"}}, []string{"stmfadm", "list-lu", "-v", guid0}},
				// The LU with errors is listed first: the last one decides
				// the exit status, 0.
				{"list-lu-v-prop-error", [][]string{{"lu-prop-error", "ROOT", guid0, "Size", "on"}, {"lu-prop-error", "ROOT", guid0, "Access State", "on"}},
					[]string{"stmfadm", "list-lu", "-v"}},
				// Listed last (or alone): the exit status is its failure count.
				{"list-lu-v-prop-error-last", [][]string{{"lu-prop-error", "ROOT", guid1, "Data File", "on"}, {"lu-prop-error", "ROOT", guid1, "Serial Num", "on"}},
					[]string{"stmfadm", "list-lu", "-v"}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					root := seededFlavor(t, flavor)
					for _, k := range c.knobs {
						k = append([]string{k[0], root}, k[2:]...)
						simManage(t, k...)
					}
					got := "$ " + strings.Join(c.argv, " ") + "\n" + run(t, root, c.argv...).String()
					checkGolden(t, c.name, got)
				})
			}
		})
	}
}

// TestStandbyLUReleasesItsZvol: the hazard. A standby LU has closed its
// zvol, so zfs rollback is not refused as busy; import-lu of its data file
// makes it Active again, and then the zvol is held (busy) once more.
func TestStandbyLUReleasesItsZvol(t *testing.T) {
	for _, flavor := range luFlavors {
		t.Run(flavor, func(t *testing.T) {
			root := seededFlavor(t, flavor)
			if r := run(t, root, "zfs", "rollback", "pool/idisk0@snap1"); r.code == 0 || !strings.Contains(r.stderr, "busy") {
				t.Fatalf("Active LU: rollback %v, want busy", r)
			}
			simManage(t, "lu-access", root, guid0, "Standby")
			if r := run(t, root, "zfs", "rollback", "pool/idisk0@snap1"); r.code != 0 {
				t.Fatalf("standby LU: rollback %v, want it to go through (the zvol is closed)", r)
			}
			if lu := load(t, root).LU(guid0); lu == nil || lu.Access != AccessStandby {
				t.Fatalf("the standby LU must stay registered: %+v", lu)
			}
			r := must(t, root, "stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0")
			if r.stdout != "Logical unit imported: "+guid0+"\n" {
				t.Errorf("import-lu of the standby LU's file: %v", r)
			}
			if lu := load(t, root).LU(guid0); lu.Access != "" {
				t.Errorf("access %q after import-lu, want Active", lu.Access)
			}
			if r := run(t, root, "zfs", "rollback", "pool/idisk0@snap1"); r.code == 0 {
				t.Errorf("Active again: rollback %v, want busy", r)
			}
		})
	}
}

// TestOnlining: an imported LU shows Onlining for State.OnliningFor, then
// Online; a host whose new LUs start Offline leaves it Offline until
// online-lu, which waits for the online as stmfadm does.
func TestOnlining(t *testing.T) {
	status := func(t *testing.T, root string) string {
		t.Helper()
		out := must(t, root, "stmfadm", "list-lu", "-v", guid0).stdout
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "    Operational Status: "); ok {
				return v
			}
		}
		t.Fatalf("no status in %q", out)
		return ""
	}
	for _, flavor := range luFlavors {
		t.Run(flavor, func(t *testing.T) {
			root := seededFlavor(t, flavor)
			simManage(t, "onlining", root, "300ms")
			must(t, root, "stmfadm", "delete-lu", "-k", guid0)
			must(t, root, "stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0")
			if got := status(t, root); got != "Onlining" {
				t.Errorf("right after import-lu: %s, want Onlining", got)
			}
			time.Sleep(350 * time.Millisecond)
			if got := status(t, root); got != "Online" {
				t.Errorf("after 350 ms: %s, want Online", got)
			}

			simManage(t, "knob", root, KnobNewLUsOffline, "on")
			must(t, root, "stmfadm", "delete-lu", "-k", guid0)
			must(t, root, "stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0")
			if got := status(t, root); got != "Offline" {
				t.Errorf("new LUs offline: %s after import-lu, want Offline", got)
			}
			start := time.Now()
			r := must(t, root, "stmfadm", "online-lu", guid0)
			if d := time.Since(start); d < 300*time.Millisecond || r.stdout != "" || r.stderr != "" {
				t.Errorf("online-lu took %s (%v): it waits for the online (300 ms) and prints nothing", d, r)
			}
			if got := status(t, root); got != "Online" {
				t.Errorf("after online-lu: %s", got)
			}
			must(t, root, "stmfadm", "offline-lu", guid0)
			if got := status(t, root); got != "Offline" {
				t.Errorf("after offline-lu: %s", got)
			}
			// An stmf restart follows the default LU state too.
			if err := RestartSTMF(root); err != nil {
				t.Fatal(err)
			}
			if got := status(t, root); got != "Offline" {
				t.Errorf("after an stmf restart with new LUs offline: %s", got)
			}
		})
	}
}

func TestLUKnobsRefuseNonsense(t *testing.T) {
	root := seeded(t)
	var o, e bytes.Buffer
	for _, args := range [][]string{
		{"lu-access", root, guid0, "Sleeping"},
		{"lu-access", root, "600144F0000000000000000000000009", "Standby"},
		{"lu-prop-error", root, guid0, "Colour", "on"},
		{"lu-prop-error", root, "xyz", "Size", "on"},
		{"onlining", root, "-1s"},
		{"knob", root, "new-lus-online", "on"},
	} {
		if code := manage(args, &o, &e); code == 0 {
			t.Errorf("volctl-sim %s: exit 0, want a refusal", strings.Join(args, " "))
		}
	}
}
