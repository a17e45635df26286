package config

import (
	"os"
	"strings"
	"testing"
)

func TestCheckStateDir(t *testing.T) {
	tests := []struct {
		name   string
		asRoot bool
		build  func(tr *tree) string
		want   string
	}{
		{name: "private directory", build: func(tr *tree) string {
			tr.dir("lib", 0o700)
			return tr.dir("lib/journal.db.commands", 0o700)
		}},
		{name: "under a sticky directory (like /tmp), one level down", build: func(tr *tree) string {
			tr.dir("tmp", 0o777|os.ModeSticky)
			tr.dir("tmp/lib", 0o700)
			return tr.dir("tmp/lib/c", 0o700)
		}},
		{name: "missing", build: func(tr *tree) string { return tr.p("nothing") }, want: "does not exist"},
		{name: "writable by group", build: func(tr *tree) string { return tr.dir("c", 0o770) },
			want: "is writable by group or others (mode 0770)"},
		{name: "a symbolic link to a good directory", build: func(tr *tree) string {
			tr.dir("real", 0o700)
			return tr.link("c", tr.p("real"))
		}, want: "is not a directory (a symbolic link or a file)"},
		{name: "a regular file", build: func(tr *tree) string { return tr.file("c", 0o600) },
			want: "is not a directory"},
		{name: "in a directory writable by others", build: func(tr *tree) string {
			tr.dir("open/c", 0o700)
			tr.chmod(tr.p("open"), 0o777)
			return tr.p("open/c")
		}, want: "is writable by group or others (mode 0777)"},
		{name: "right in a sticky directory", build: func(tr *tree) string {
			tr.dir("tmp/c", 0o700)
			tr.chmod(tr.p("tmp"), 0o777|os.ModeSticky)
			return tr.p("tmp/c")
		}, want: "the sticky bit is accepted only above the directory that holds the file"},
		{name: "owned by another user", asRoot: true, build: func(tr *tree) string {
			p := tr.dir("c", 0o700)
			tr.chown(p, stranger)
			return p
		}, want: "is owned by uid 12345, not by root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.asRoot && os.Geteuid() != 0 {
				t.Skip("SKIP (loud): needs root to give a directory to another uid")
			}
			dir := tc.build(newTree(t))
			err := CheckStateDir(dir)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("CheckStateDir(%s) = %v, want %q", dir, err, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "state directory ") {
				t.Errorf("error does not start with what it is about: %v", err)
			}
		})
	}
}
