package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManageUsage: volctl-sim without a subcommand prints the usage, as in
// the golden file, and exits 2.
func TestManageUsage(t *testing.T) {
	var o, e bytes.Buffer
	if code := manage(nil, &o, &e); code != 2 || o.Len() != 0 {
		t.Fatalf("volctl-sim: exit %d, stdout %q; want 2 and nothing", code, o.String())
	}
	checkGolden(t, "manage-usage", e.String())
}

// TestManageArgs: how each kind of subcommand takes its arguments: the
// usage (exit 2) for a wrong count, an unknown name or an on/off that is
// neither; exit 2 without the usage for fault add's flags; exit 1 with
// the error for a bad value; extra arguments ignored where they always
// were.
func TestManageArgs(t *testing.T) {
	root := t.TempDir()
	if code := manage([]string{"init", root, "--flavor", FlavorSolaris}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("init: exit %d", code)
	}
	const usage, none = "usage", ""
	tests := []struct {
		args   []string // after "volctl-sim"; ROOT stands for root
		code   int
		stderr string // usage: the usage; else a substring ("" for none)
		stdout string // a substring
	}{
		{[]string{"state"}, 2, usage, ""},
		{[]string{"bogus", "ROOT"}, 2, usage, ""},
		{[]string{"fault", "ROOT"}, 2, usage, ""},
		{[]string{"fault", "bogus", "ROOT"}, 2, usage, ""},
		{[]string{"session", "add", "ROOT", "t"}, 2, usage, ""},
		{[]string{"zone", "storage", "ROOT", "kz1", "1"}, 2, usage, ""},
		{[]string{"flavor", "ROOT"}, 2, usage, ""},
		{[]string{"knob", "ROOT", "no-list-p", "maybe"}, 2, usage, ""},
		{[]string{"lu-prop-error", "ROOT", "G", "Size", "yes"}, 2, usage, ""},
		{[]string{"strict", "ROOT", "on", "off"}, 2, usage, ""},
		{[]string{"latency", "ROOT"}, 2, usage, ""},
		{[]string{"write", "ROOT", "pool/v"}, 2, usage, ""},
		{[]string{"read", "ROOT"}, 2, usage, ""},
		{[]string{"seed-two-hosts", "ROOT"}, 2, usage, ""},
		{[]string{"onlining", "ROOT"}, 2, usage, ""},
		{[]string{"lu-access", "ROOT", "G"}, 2, usage, ""},
		{[]string{"fault", "add", "ROOT", "--bogus"}, 2, "flag provided but not defined: -bogus", ""},
		{[]string{"fault", "add", "ROOT", "--cmd", "zfs", "--action", "fail", "extra"}, 2, `volctl-sim: unexpected argument "extra"`, ""},
		{[]string{"onlining", "ROOT", "soon"}, 1, `volctl-sim: time: invalid duration "soon"`, ""},
		{[]string{"latency", "ROOT", "soon"}, 1, `volctl-sim: time: invalid duration "soon"`, ""},
		{[]string{"init", "ROOT", "--flavor", "bogus"}, 1, "volctl-sim: ", ""},
		{[]string{"knob", "ROOT", "no-list-p", "on"}, 0, none, ""},
		{[]string{"strict", "ROOT", "off"}, 0, none, ""},
		{[]string{"state", "ROOT", "extra"}, 0, none, `"flavor"`},
		{[]string{"fault", "clear", "ROOT", "extra"}, 0, none, ""},
		{[]string{"calls", "ROOT", "extra"}, 0, none, ""},
		{[]string{"refused", "ROOT", "extra"}, 0, none, ""},
		{[]string{"read", "ROOT", "pool/none"}, 1, "volctl-sim: ", ""},
	}
	for _, tc := range tests {
		args := make([]string, len(tc.args))
		for i, a := range tc.args {
			if a == "ROOT" {
				a = root
			}
			args[i] = a
		}
		var o, e bytes.Buffer
		code := manage(args, &o, &e)
		name := "volctl-sim " + strings.Join(tc.args, " ")
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", name, code, tc.code, e.String())
		}
		switch {
		case tc.stderr == usage:
			if e.String() != manageUsage {
				t.Errorf("%s: stderr %q, want the usage", name, e.String())
			}
		case tc.stderr == none:
			if e.Len() != 0 {
				t.Errorf("%s: stderr %q, want nothing", name, e.String())
			}
		default:
			if !strings.Contains(e.String(), tc.stderr) || strings.Contains(e.String(), "usage:\n  volctl-sim") {
				t.Errorf("%s: stderr %q, want %q and no usage", name, e.String(), tc.stderr)
			}
		}
		if !strings.Contains(o.String(), tc.stdout) {
			t.Errorf("%s: stdout %q, want %q in it", name, o.String(), tc.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "state.json")); err != nil {
		t.Error(err)
	}
}
