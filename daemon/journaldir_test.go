package daemon_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/sim/simtest"
)

// TestJournalDirectoryChecked: volctld refuses to start when its journal's
// path could be pointed elsewhere by someone else: a symbolic link at the
// path, or a directory another user owns (who could put one there). It
// used to follow the link and create a root-owned journal wherever it led
// (issue 19, item 6). Nothing is created at the link's target.
func TestJournalDirectoryChecked(t *testing.T) {
	root := simtest.Host(t)
	bin := simtest.Build(t)
	for _, tc := range []struct {
		name   string
		asRoot bool
		build  func(dir, target string) string // the journal's path
		want   string
	}{
		{name: "a symbolic link at the journal's path", build: func(dir, target string) string {
			lib := filepath.Join(dir, "lib")
			must(t, os.Mkdir(lib, 0o700))
			must(t, os.Symlink(target, filepath.Join(lib, "journal.db")))
			return filepath.Join(lib, "journal.db")
		}, want: "is a symbolic link: refusing to follow it"},
		{name: "another user's directory with a symbolic link in it", asRoot: true, build: func(dir, target string) string {
			lib := filepath.Join(dir, "lib")
			must(t, os.Mkdir(lib, 0o755))
			must(t, os.Symlink(target, filepath.Join(lib, "journal.db")))
			must(t, os.Lchown(filepath.Join(lib, "journal.db"), 12345, 12345))
			must(t, os.Chown(lib, 12345, 12345))
			return filepath.Join(lib, "journal.db")
		}, want: "journal directory " + "LIB" + ": LIB is owned by uid 12345, not by root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.asRoot && os.Geteuid() != 0 {
				t.Skip("SKIP (loud): needs root to give a directory to another uid")
			}
			dir := t.TempDir()
			target := filepath.Join(dir, "made-by-volctld")
			db := tc.build(dir, target)
			cfg, _ := writeConfigWith(t, root, "", "")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, filepath.Join(bin, "volctld"), "-config", cfg, "-db", db).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || ctx.Err() != nil {
				t.Errorf("volctld with journal %s: %v (it started), want it refused\n%s", db, err, out)
			}
			want := strings.ReplaceAll(tc.want, "LIB", filepath.Dir(db))
			if !strings.Contains(string(out), want) {
				t.Errorf("volctld said\n%s\nwant %q", out, want)
			}
			if _, err := os.Lstat(target); err == nil {
				t.Errorf("volctld created %s through the link", target)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
