package sim

import (
	"strings"
	"testing"
	"time"
)

func TestFaultActions(t *testing.T) {
	cases := []struct {
		name     string
		fault    Fault
		code     int
		stdout   string
		stderr   string
		imported bool // did the import's state change happen
		hung     bool
	}{
		{"fail", Fault{Command: "stmfadm", Match: "import-lu", Action: ActionFail, Exit: 1, Stderr: "stmfadm: resource busy"},
			1, "", "stmfadm: resource busy\n", false, false},
		{"fail-after", Fault{Command: "stmfadm", Match: "import-lu", Action: ActionFailAfter, Exit: 3, Stderr: "stmfadm: unknown error"},
			3, "", "stmfadm: unknown error\n", true, false},
		{"fail default exit", Fault{Command: "stmfadm", Action: ActionFail},
			1, "", "", false, false},
		{"exit0-noop", Fault{Command: "stmfadm", Match: "import-lu /dev", Action: ActionExit0Noop},
			0, "", "", false, false},
		{"hang", Fault{Command: "stmfadm", Match: "import-lu", Action: ActionHang},
			-1, "", "", false, true},
		{"hang-after", Fault{Command: "stmfadm", Match: "import-lu", Action: ActionHangAfter},
			-1, "Logical unit imported: " + guid0 + "\n", "", true, true},
		{"other command unaffected", Fault{Command: "zfs", Action: ActionFail},
			0, "Logical unit imported: " + guid0 + "\n", "", true, false},
		{"no match unaffected", Fault{Command: "stmfadm", Match: "create-lu", Action: ActionFail},
			0, "Logical unit imported: " + guid0 + "\n", "", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			must(t, root, "stmfadm", "delete-lu", "-k", guid0)
			hung := false
			defer func(h func()) { hang = h }(hang)
			hang = func() {
				hung = true
				// The lock must be free while the command hangs.
				done := make(chan struct{})
				go func() { _, _ = Load(root); close(done) }()
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					t.Error("state lock held while hanging")
				}
			}
			if err := AddFault(root, c.fault); err != nil {
				t.Fatal(err)
			}
			r := run(t, root, "stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0")
			if r.code != c.code || r.stdout != c.stdout || r.stderr != c.stderr {
				t.Errorf("got %v, want exit %d stdout %q stderr %q", r, c.code, c.stdout, c.stderr)
			}
			if hung != c.hung {
				t.Errorf("hung = %v", hung)
			}
			if got := load(t, root).LU(guid0) != nil; got != c.imported {
				t.Errorf("imported = %v, want %v", got, c.imported)
			}
			calls, err := Calls(root)
			if err != nil {
				t.Fatal(err)
			}
			last := calls[len(calls)-1]
			if last.Exit != c.code || last.Argv[1] != "import-lu" || last.End.Before(last.Start) {
				t.Errorf("last call %+v", last)
			}
		})
	}
}

func TestFaultCounting(t *testing.T) {
	cases := []struct {
		name       string
		nth, times int
		want       string // per invocation: F = failed, . = ran
	}{
		{"every", 0, 0, "FFFF"},
		{"first only", 1, 1, "F..."},
		{"second only", 2, 1, ".F.."},
		{"from second, twice", 2, 2, ".FF."},
		{"twice from the start", 0, 2, "FF.."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			if err := AddFault(root, Fault{Command: "zfs", Match: "zfs list", Nth: c.nth, Times: c.times, Action: ActionFail, Exit: 9}); err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for range 4 {
				run(t, root, "zfs", "get", "-H", "type", "pool") // does not match: not counted
				if r := run(t, root, "zfs", "list", "-H", "pool"); r.code == 9 {
					got.WriteByte('F')
				} else {
					got.WriteByte('.')
				}
			}
			if got.String() != c.want {
				t.Errorf("got %s, want %s", got.String(), c.want)
			}
			if f := load(t, root).Faults[0]; f.Seen != 4 {
				t.Errorf("seen = %d", f.Seen)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	root := seeded(t)
	if err := SetLatency(root, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	must(t, root, "zfs", "list")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("command took %v with 30ms latency", d)
	}
	if err := SetLatency(root, 0); err != nil {
		t.Fatal(err)
	}
	if s := load(t, root); s.Latency != "" {
		t.Errorf("latency = %q after reset", s.Latency)
	}
}

func TestFaultValidation(t *testing.T) {
	for _, f := range []Fault{
		{Command: "ls", Action: ActionFail},
		{Command: "zfs", Action: "explode"},
		{Command: "zfs", Action: ActionFail, Nth: -1},
		{Command: "zfs", Match: "delete-lu", Action: ActionFailPartway},
		{Command: "stmfadm", Match: "import-lu", Action: ActionFailPartway},
		{Command: "zfs", Action: ActionFail, Delay: "1s"},   // a delay is a hang's
		{Command: "zfs", Action: ActionHang, Delay: "soon"}, // not a duration
		{Command: "zfs", Action: ActionHang, Delay: "-1s"},  // not positive
	} {
		if err := AddFault(t.TempDir(), f); err == nil {
			t.Errorf("AddFault(%+v) accepted", f)
		}
	}
}

// TestFailPartway: a delete-lu that fails in the kernel after libstmf
// dropped the LU from the SMF provider data (docs/platform/comstar-delete-lu.md):
// the LU stays registered with its views, the store no longer names it,
// and an stmf restart loses it. A plain fail changes nothing.
func TestFailPartway(t *testing.T) {
	for _, c := range []struct {
		action    string
		persisted bool
	}{{ActionFailPartway, false}, {ActionFail, true}} {
		t.Run(c.action, func(t *testing.T) {
			root := seeded(t)
			if err := AddFault(root, Fault{Command: "stmfadm", Match: "delete-lu", Action: c.action, Exit: 1, Stderr: "stmfadm: unknown error"}); err != nil {
				t.Fatal(err)
			}
			r := run(t, root, "stmfadm", "delete-lu", "-k", guid0)
			if r.code != 1 || r.stderr != "stmfadm: unknown error\n" {
				t.Fatalf("got %v", r)
			}
			s := load(t, root)
			if s.LU(guid0) == nil || len(s.Views(guid0)) == 0 {
				t.Fatalf("LU or views gone after a failed delete")
			}
			if _, ok := s.ProviderData[strings.ToLower(guid0)]; ok != c.persisted {
				t.Fatalf("persisted = %v, want %v", ok, c.persisted)
			}
			if err := RestartSTMF(root); err != nil {
				t.Fatal(err)
			}
			if got := load(t, root).LU(guid0) != nil; got != c.persisted {
				t.Errorf("after an stmf restart registered = %v, want %v", got, c.persisted)
			}
		})
	}
}

// TestSlowHang: a hang with a delay is a slow command, not a stuck one.
// A hang does its work only after the delay, on the host as it is then
// (here: the LU someone imported meanwhile is left alone, since import-lu
// refuses a GUID that exists), and exits with its real status; a
// hang-after did its work before. Each logs its hang (exit -1) and then a
// Late line with its real exit status.
func TestSlowHang(t *testing.T) {
	cases := []struct {
		name           string
		action         string
		meanwhile      bool // import the LU during the delay
		code           int
		importedBefore bool // imported when the delay starts
	}{
		{"hang acts after the delay", ActionHang, false, 0, false},
		{"hang acts on the host as it is then", ActionHang, true, 1, false},
		{"hang-after acted before", ActionHangAfter, false, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := seeded(t)
			must(t, root, "stmfadm", "delete-lu", "-k", guid0)
			defer func(s func(time.Duration)) { sleep = s }(sleep)
			var slept time.Duration
			sleep = func(d time.Duration) {
				slept = d
				if got := load(t, root).LU(guid0) != nil; got != c.importedBefore {
					t.Errorf("imported when the delay starts = %v, want %v", got, c.importedBefore)
				}
				if c.meanwhile {
					must(t, root, "stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0")
				}
			}
			if err := AddFault(root, Fault{Command: "stmfadm", Match: "import-lu", Nth: 1, Times: 1, Action: c.action, Delay: "1500ms"}); err != nil {
				t.Fatal(err)
			}
			r := run(t, root, "stmfadm", "import-lu", "/dev/zvol/rdsk/pool/idisk0")
			if r.code != c.code {
				t.Errorf("exit %d, want %d (%v)", r.code, c.code, r)
			}
			if slept != 1500*time.Millisecond {
				t.Errorf("slept %v, want 1.5s", slept)
			}
			if load(t, root).LU(guid0) == nil {
				t.Error("LU not imported")
			}
			calls, err := Calls(root)
			if err != nil {
				t.Fatal(err)
			}
			var hung, late []Call
			for _, cl := range calls {
				if len(cl.Argv) > 1 && cl.Argv[1] == "import-lu" {
					if cl.Late {
						late = append(late, cl)
					} else if cl.Fault == c.action {
						hung = append(hung, cl)
					}
				}
			}
			if len(hung) != 1 || hung[0].Exit != -1 {
				t.Errorf("hang lines %+v, want one with exit -1", hung)
			}
			if len(late) != 1 || late[0].Exit != c.code {
				t.Errorf("late lines %+v, want one with exit %d", late, c.code)
			}
		})
	}
}
