package sim

import (
	"fmt"
	"strings"
	"time"
)

// Fault actions.
const (
	ActionFail      = "fail"       // print Stderr, exit Exit, change nothing
	ActionFailAfter = "fail-after" // do the real change, then print Stderr and exit Exit
	ActionHang      = "hang"       // change nothing, release the lock, sleep until killed (or Delay, then act)
	ActionHangAfter = "hang-after" // do the real change, save, release the lock, sleep (until killed, or Delay)
	ActionExit0Noop = "exit0-noop" // exit 0 silently without doing anything (a lying command)
	// ActionFailPartway does what the real command does before the call
	// that fails, then prints Stderr and exits Exit. Only stmfadm
	// delete-lu has such a point: libstmf drops each registered operand's
	// SMF provider-data entry before the kernel delete, which then fails
	// and leaves the LU registered (docs/platform/comstar-delete-lu.md).
	ActionFailPartway = "fail-partway"
)

// Fault is a rule that makes matching invocations of a command misbehave.
type Fault struct {
	Command string `json:"command"`         // zfs, zpool, stmfadm, zoneadm or zonecfg
	Match   string `json:"match,omitempty"` // substring of "cmd arg1 arg2 ..."; empty = any
	Nth     int    `json:"nth,omitempty"`   // first matching invocation that triggers (1-based); 0 = every
	Times   int    `json:"times,omitempty"` // triggers before the rule is spent; 0 = unlimited
	Action  string `json:"action"`
	Exit    int    `json:"exit,omitempty"` // exit status for fail/fail-after (0 means 1)
	Stderr  string `json:"stderr,omitempty"`
	// Delay makes a hang end (a Go duration; "" = sleep until killed): a
	// slow command rather than a stuck one. After it, a "hang" does its
	// work on the host as it is then, and a "hang-after" exits with the
	// status of the work it did before; either is logged a second time,
	// Late, when it ends. A process killed meanwhile never acts.
	Delay string `json:"delay,omitempty"`

	// Bookkeeping, kept in the state so counting spans processes.
	Seen  int `json:"seen,omitempty"`  // matching invocations since the rule was added
	Fired int `json:"fired,omitempty"` // times it triggered
}

func (f *Fault) validate() error {
	switch f.Command {
	case "zfs", "zpool", "stmfadm", "zoneadm", "zonecfg", "hostid", "zlogin":
	default:
		return fmt.Errorf("fault: unknown command %q", f.Command)
	}
	switch f.Action {
	case ActionFail, ActionFailAfter, ActionHang, ActionHangAfter, ActionExit0Noop:
	case ActionFailPartway:
		if f.Command != "stmfadm" || !strings.Contains(f.Match, "delete-lu") {
			return fmt.Errorf("fault: %s is for stmfadm delete-lu only (its match must name delete-lu)", f.Action)
		}
	default:
		return fmt.Errorf("fault: unknown action %q", f.Action)
	}
	if f.Nth < 0 || f.Times < 0 {
		return fmt.Errorf("fault: nth and times must not be negative")
	}
	if f.Delay != "" {
		d, err := time.ParseDuration(f.Delay)
		if err != nil || d <= 0 {
			return fmt.Errorf("fault: delay %q: want a positive duration such as 2s", f.Delay)
		}
		if f.Action != ActionHang && f.Action != ActionHangAfter {
			return fmt.Errorf("fault: delay is for hang and hang-after, not %s", f.Action)
		}
	}
	return nil
}

// delay is how long a hang lasts; 0 is until killed.
func (f *Fault) delay() time.Duration {
	d, _ := time.ParseDuration(f.Delay) // checked by validate
	return d
}

// exitCode is the status a failing fault exits with.
func (f *Fault) exitCode() int {
	if f.Exit == 0 {
		return 1
	}
	return f.Exit
}

// stderrText is Stderr with a trailing newline, as commands print it.
func (f *Fault) stderrText() string {
	if f.Stderr == "" || strings.HasSuffix(f.Stderr, "\n") {
		return f.Stderr
	}
	return f.Stderr + "\n"
}

// fire counts this invocation against every matching rule and returns the
// first rule that triggers, or nil.
func (s *State) fire(cmd string, args []string) *Fault {
	line := strings.Join(append([]string{cmd}, args...), " ")
	var hit *Fault
	for _, f := range s.Faults {
		if f.Command != cmd || !strings.Contains(line, f.Match) {
			continue
		}
		f.Seen++
		if hit != nil || f.Seen < f.Nth || (f.Times > 0 && f.Fired >= f.Times) {
			continue
		}
		f.Fired++
		hit = f
	}
	return hit
}
