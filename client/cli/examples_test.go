package cli

import (
	"io"
	"strings"
	"testing"
)

// TestExamplesParse: every volctl command line in the examples names a
// command that exists and flags it has, with valid values.
func TestExamplesParse(t *testing.T) {
	root := NewCommand(io.Discard, io.Discard)
	n := 0
	for path, ex := range examples {
		if c, _, err := root.Find(strings.Fields(path)); err != nil || c.CommandPath() != "volctl "+path {
			t.Errorf("examples has %q, which is not a command", path)
			continue
		}
		for _, line := range strings.Split(ex, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "volctl ") {
				continue
			}
			for _, stop := range []string{" |", " >", "  #"} {
				line, _, _ = strings.Cut(line, stop)
			}
			args := shellWords(line)[1:]
			c, rest, err := root.Find(args)
			if err != nil {
				t.Errorf("%s: %v", line, err)
				continue
			}
			if err := c.ParseFlags(rest); err != nil {
				t.Errorf("%s: %v", line, err)
				continue
			}
			if err := c.ValidateArgs(c.Flags().Args()); err != nil {
				t.Errorf("%s: %v", line, err)
			}
			n++
		}
	}
	if n < len(examples) {
		t.Errorf("checked %d command lines for %d commands", n, len(examples))
	}
}

// shellWords splits a command line at blanks, keeping "quoted words".
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, in := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
			}
			in = false
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}
