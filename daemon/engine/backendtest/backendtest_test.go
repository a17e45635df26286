package backendtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/engine"
	"github.com/volctl/volctl/store"
)

func TestShim(t *testing.T) {
	if _, err := exec.LookPath("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	s := NewShim(t)
	echo := s.Wrap(t, "/bin/echo")
	run := func(args ...string) (string, int) {
		out, err := exec.Command(echo, args...).Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := run("list", "-v", "it's"); out != "list -v it's\n" || code != 0 {
		t.Errorf("without a rule: %q exit %d, want the real command's answer", out, code)
	}
	s.Set(t, "echo", Rule{Match: "list -v", Exit: 3, Stdout: "garbage\n"})
	if out, code := run("list", "-v", "x"); out != "garbage\n" || code != 3 {
		t.Errorf("matching: %q exit %d, want the rule's", out, code)
	}
	// Whole words only: "list -vx" is not "list -v".
	for _, args := range [][]string{{"list", "-vx"}, {"get", "list"}, {"xlist", "-v"}} {
		if out, code := run(args...); out != strings.Join(args, " ")+"\n" || code != 0 {
			t.Errorf("%q matched the rule: %q exit %d", args, out, code)
		}
	}
}

// fakeHost classifies argvs for comparePlan: "read ..." reads, "maybe ..."
// is conditional.
type fakeHost struct{ Host }

func (fakeHost) Reads(argv []string) bool       { return argv[0] == "read" }
func (fakeHost) Conditional(argv []string) bool { return argv[0] == "maybe" }

func TestComparePlan(t *testing.T) {
	argvs := func(lines ...string) (out [][]string) {
		for _, l := range lines {
			out = append(out, strings.Fields(l))
		}
		return out
	}
	cmds := func(lines ...string) (out []store.Command) {
		for _, a := range argvs(lines...) {
			out = append(out, store.Command{Argv: a})
		}
		return out
	}
	for _, tc := range []struct {
		name               string
		planned            [][]string
		ran                []store.Command
		unplanned, skipped []string
	}{
		{name: "exact", planned: argvs("read a", "do a", "do b"), ran: cmds("read a", "do a", "read b", "do b")},
		{name: "conditional left out", planned: argvs("do a", "maybe b", "do c"), ran: cmds("do a", "do c")},
		{name: "conditional run", planned: argvs("do a", "maybe b"), ran: cmds("do a", "maybe b")},
		{name: "planned not run", planned: argvs("do a", "do b"), ran: cmds("do a"), skipped: []string{"do b"}},
		{name: "run not planned", planned: argvs("do a"), ran: cmds("do a", "do x"), unplanned: []string{"do x"}},
		{name: "out of order", planned: argvs("do a", "do b"), ran: cmds("do b", "do a"), unplanned: []string{"do a"}, skipped: []string{"do a"}},
		{name: "a peer's", planned: [][]string{engine.OnHost("zh", []string{"do", "z"})}, ran: []store.Command{{Host: "zh", Argv: []string{"do", "z"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unplanned, skipped := comparePlan(fakeHost{}, tc.planned, tc.ran)
			if !slices.Equal(unplanned, tc.unplanned) || !slices.Equal(skipped, tc.skipped) {
				t.Errorf("unplanned %q skipped %q, want %q %q", unplanned, skipped, tc.unplanned, tc.skipped)
			}
		})
	}
}
