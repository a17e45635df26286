package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWrite: the pages follow the commands: volctl.1 and one page per
// subcommand, with its flags, dated by SOURCE_DATE_EPOCH.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir, "1796184000"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ page, want string }{
		{"volctl.1", `volctl-rollback(1)`},
		{"volctl.1", `--scripted`},
		{"volctl.1", `"Dec 2026"`},
		{"volctl-rollback.1", `--dry-run`},
		{"volctl-rollback.1", `volctl rollback POOL/VOL@SNAP`},
		{"volctl-op-show.1", `every step and every command`},
		{"volctl-version.1", `journal schema`},
		{"volctl-completion-bash.1", `bash`},
	} {
		b, err := os.ReadFile(filepath.Join(dir, tc.page))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.want) {
			t.Errorf("%s does not mention %s:\n%s", tc.page, tc.want, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "volctl-__complete.1")); err == nil {
		t.Errorf("a page for the hidden __complete command")
	}
}

func TestWriteBadEpoch(t *testing.T) {
	if err := write(t.TempDir(), "yesterday"); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("write with a bad SOURCE_DATE_EPOCH: %v", err)
	}
}
