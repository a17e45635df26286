package backendtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Shim wraps a host's commands in small shell scripts that run the real
// command unless a rule says otherwise: a Host's way to Inject faults on a
// host whose commands have no fault switch of their own (the Linux stack),
// or one the host lacks (the simulator prints no garbage on request). The
// backend is given the wrappers' paths.
type Shim struct{ dir string }

// Rule makes every invocation of a wrapped command whose arguments contain
// Match (as a whole word sequence) print Stdout and Stderr and exit with
// Exit, without running the real command.
type Rule struct {
	Match          string
	Exit           int
	Stdout, Stderr string
}

// NewShim makes an empty shim directory for the test.
func NewShim(t testing.TB) *Shim { return &Shim{dir: t.TempDir()} }

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Wrap returns the path of a wrapper for the command at real, named as it
// (so that its argv reads as the real one's: .../zfs rollback ...).
func (s *Shim) Wrap(t testing.TB, real string) string {
	t.Helper()
	name := filepath.Base(real)
	rule := func(ext string) string { return quote(filepath.Join(s.dir, name+"."+ext)) }
	script := "#!/bin/sh\n" +
		"if [ -f " + rule("match") + " ]; then\n" +
		"  m=$(cat " + rule("match") + ")\n" +
		"  case \" $* \" in\n" +
		"  *\" $m \"*)\n" +
		"    cat " + rule("stdout") + "\n" +
		"    cat " + rule("stderr") + " >&2\n" +
		"    exit $(cat " + rule("exit") + ")\n" +
		"    ;;\n" +
		"  esac\n" +
		"fi\n" +
		"exec " + quote(real) + " \"$@\"\n"
	path := filepath.Join(s.dir, name)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// Set puts r in force for the wrapped command name (its base name).
func (s *Shim) Set(t testing.TB, name string, r Rule) {
	t.Helper()
	// The match file last: a command running meanwhile sees the whole rule
	// or none.
	for _, f := range []struct{ ext, text string }{
		{"stdout", r.Stdout}, {"stderr", r.Stderr}, {"exit", strconv.Itoa(r.Exit)}, {"match", r.Match},
	} {
		if err := os.WriteFile(filepath.Join(s.dir, name+"."+f.ext), []byte(f.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
