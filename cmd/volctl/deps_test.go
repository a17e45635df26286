package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// daemonTree is the import path prefix of volctld's code. The CLI talks to
// the daemon only through client/ and the generated API: linking daemon
// code (its process runner, its backends) into volctl would make every CLI
// build carry, and depend on, what only the daemon needs.
const daemonTree = "github.com/volctl/volctl/daemon/"

// TestNoDaemonDeps fails when the volctl binary links a package of the
// daemon, on each platform it is built for (build-tagged files differ).
func TestNoDaemonDeps(t *testing.T) {
	gotool := goTool(t)
	for _, tc := range []struct{ name, goos string }{
		{"host", ""},
		{"solaris", "solaris"},
		{"illumos", "illumos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(gotool, "list", "-deps", ".")
			cmd.Env = os.Environ()
			if tc.goos != "" {
				cmd.Env = append(cmd.Env, "GOOS="+tc.goos)
			}
			out, err := cmd.Output()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
				}
				t.Fatalf("go list -deps: %v", err)
			}
			for _, pkg := range strings.Fields(string(out)) {
				if strings.HasPrefix(pkg, daemonTree) {
					t.Errorf("volctl links daemon package %s (the CLI must depend on client/ and internal/ only)", pkg)
				}
			}
		})
	}
}

// goTool finds the go command: go test puts GOROOT/bin first on PATH; a
// test binary run by hand may still have GOROOT in its environment.
func goTool(t *testing.T) string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("cannot check volctl's dependencies: no go command on PATH or in $GOROOT/bin")
	return ""
}
