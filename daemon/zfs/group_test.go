package zfs

import (
	"context"
	"strings"
	"testing"

	"github.com/volctl/volctl/daemon/execx"
)

// answer is a runner that gives every command the same output.
func answer(exit int, stdout, stderr string) execx.RunFunc {
	return func(_ context.Context, argv []string) (*execx.Result, error) {
		r := &execx.Result{Argv: argv, Exit: exit, Stdout: []byte(stdout), Stderr: []byte(stderr)}
		if exit != 0 {
			return r, &execx.Error{R: r}
		}
		return r, nil
	}
}

func TestDescendants(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      string // joined by " "; "error" for an error
	}{
		{"two volumes", "pool/kz\npool/kz/d0\npool/kz/d1\n", "pool/kz/d0 pool/kz/d1"},
		{"nothing below", "pool/kz\n", ""},
		{"a filesystem and its volume", "pool/kz\npool/kz/fs\npool/kz/fs/d0\n", "pool/kz/fs pool/kz/fs/d0"},
		{"without itself", "pool/kz/d0\n", "error"},
		{"a line not below it", "pool/kz\npool/other\n", "error"},
		{"a prefix that is not a child", "pool/kz\npool/kz2/d0\n", "error"},
		{"a name volctl would not pass on", "pool/kz\npool/kz/d 0\n", "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Cmd{Path: "zfs", Run: answer(0, tc.out, "")}.Descendants(context.Background(), "pool/kz")
			if tc.want == "error" {
				if err == nil {
					t.Fatalf("accepted %q: %v", tc.out, got)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != tc.want {
				t.Errorf("got %v %v, want %q", got, err, tc.want)
			}
		})
	}
	if a := strings.Join(Cmd{Path: "zfs"}.DescendantsArgv("pool/kz"), " "); a != "zfs list -H -o name -r -t filesystem,volume pool/kz" {
		t.Errorf("argv %s", a)
	}
}

func TestExisting(t *testing.T) {
	names := []string{"pool/a@s", "pool/b@s"}
	for _, tc := range []struct {
		name           string
		exit           int
		stdout, stderr string
		want           string // the existing ones joined; "error" for an error
	}{
		{"both", 0, "pool/a@s\npool/b@s\n", "", "pool/a@s pool/b@s"},
		{"one", 1, "pool/a@s\n", "cannot open 'pool/b@s': dataset does not exist\n", "pool/a@s"},
		{"none", 1, "", "cannot open 'pool/a@s': dataset does not exist\ncannot open 'pool/b@s': dataset does not exist\n", ""},
		{"one not accounted for", 0, "pool/a@s\n", "", "error"},
		{"another error", 1, "pool/a@s\n", "cannot open 'pool/b@s': permission denied\n", "error"},
		{"a name not asked for", 0, "pool/a@s\npool/b@s\npool/c@s\n", "", "error"},
		{"missing but exit 0", 0, "pool/a@s\n", "cannot open 'pool/b@s': dataset does not exist\n", "error"},
		{"all listed but exit 1", 1, "pool/a@s\npool/b@s\n", "", "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Cmd{Path: "zfs", Run: answer(tc.exit, tc.stdout, tc.stderr)}.Existing(context.Background(), names...)
			if tc.want == "error" {
				if err == nil {
					t.Fatalf("accepted: %v", got)
				}
				return
			}
			var have []string
			for _, n := range names {
				if got[n] {
					have = append(have, n)
				}
			}
			if err != nil || strings.Join(have, " ") != tc.want {
				t.Errorf("got %v %v, want %q", got, err, tc.want)
			}
		})
	}
}
