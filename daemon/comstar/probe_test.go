package comstar

import (
	"context"
	"testing"

	"github.com/volctl/volctl/daemon/execx"
)

// fakeRun answers every argv with one result, as execx.Runner would.
func fakeRun(exit int, stdout, stderr string) execx.RunFunc {
	return func(_ context.Context, argv []string) (*execx.Result, error) {
		r := &execx.Result{Argv: argv, Exit: exit, Stdout: []byte(stdout), Stderr: []byte(stderr)}
		if exit != 0 {
			return r, &execx.Error{R: r}
		}
		return r, nil
	}
}

// The answers are cmdparse's (stmfadm.c + cmdparse.c,
// docs/platform/comstar.md §1.1, §3.5): options are parsed before operands,
// so a known -k leads to "requires an operand", on stdout with exit 1.
func TestProbeDeleteKeep(t *testing.T) {
	for _, tc := range []struct {
		name           string
		exit           int
		stdout, stderr string
		want, wantErr  bool
	}{
		{"11.4 and illumos", 1, "stmfadm: delete-lu requires an operand\nUsage:\tstmfadm delete-lu [-k, --keep-views] <LU-name> [<LU-name>...]\n", "", true, false},
		{"no -k: subcommand takes no options", 1, "stmfadm: no options permitted\nUsage:\tstmfadm delete-lu <LU-name> [<LU-name>...]\n", "", false, false},
		{"no -k: getopt does not know it", 1, "Usage:\tstmfadm delete-lu <LU-name>\n", "stmfadm: illegal option -- k\n", false, false},
		{"an answer nobody documented", 1, "stmfadm: unknown error\n", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, detail, err := Cmd{Path: "/usr/sbin/stmfadm", Run: fakeRun(tc.exit, tc.stdout, tc.stderr)}.ProbeDeleteKeep(context.Background())
			if (err != nil) != tc.wantErr || got != tc.want || detail == "" {
				t.Errorf("got %v %q %v, want %v", got, detail, err, tc.want)
			}
		})
	}
	// stmfadm not runnable at all is an error, not "no -k".
	run := func(_ context.Context, argv []string) (*execx.Result, error) {
		r := &execx.Result{Argv: argv, Exit: -1, Err: context.DeadlineExceeded}
		return r, &execx.Error{R: r}
	}
	if _, _, err := (Cmd{Path: "/x", Run: run}).ProbeDeleteKeep(context.Background()); err == nil {
		t.Error("a stmfadm that did not run was taken for an answer")
	}
}
