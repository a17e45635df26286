package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestCheckJournal: the journal's directory is checked as the socket's is,
// and the file at its path is not followed (issue 19, item 6: a
// user-owned directory let a symbolic link there make volctld create a
// root-owned file elsewhere).
func TestCheckJournal(t *testing.T) {
	tests := []struct {
		name   string
		asRoot bool
		build  func(tr *tree) string // the journal's path
		want   string                // in the error; "" for none
	}{
		{name: "new journal in a private directory", build: func(tr *tree) string {
			return tr.dir("lib", 0o700) + "/journal.db"
		}},
		{name: "existing journal", build: func(tr *tree) string {
			tr.dir("lib", 0o755)
			return tr.file("lib/journal.db", 0o600)
		}},
		{name: "directory missing, in a good one", build: func(tr *tree) string {
			tr.dir("var", 0o755)
			return tr.p("var/lib/volctl/journal.db")
		}},
		{name: "directory writable by others", build: func(tr *tree) string {
			return tr.dir("lib", 0o777) + "/journal.db"
		}, want: "journal directory DIR: directory DIR is writable by group or others (mode 0777)"},
		{name: "directory writable by group", build: func(tr *tree) string {
			return tr.dir("lib", 0o770) + "/journal.db"
		}, want: "is writable by group or others (mode 0770)"},
		{name: "missing, below a directory writable by others", build: func(tr *tree) string {
			tr.dir("open", 0o777)
			return tr.p("open/volctl/journal.db")
		}, want: "is writable by group or others (mode 0777)"},
		{name: "directory is a file", build: func(tr *tree) string {
			tr.file("lib", 0o600)
			return tr.p("lib/journal.db")
		}, want: "is not a directory"},
		{name: "journal is a symbolic link", build: func(tr *tree) string {
			tr.dir("lib", 0o700)
			tr.file("elsewhere", 0o600)
			return tr.link("lib/journal.db", tr.p("elsewhere"))
		}, want: "is a symbolic link: refusing to follow it"},
		{name: "journal is a dangling symbolic link", build: func(tr *tree) string {
			tr.dir("lib", 0o700)
			return tr.link("lib/journal.db", tr.p("etc/shadow-to-be"))
		}, want: "is a symbolic link: refusing to follow it"},
		{name: "journal is a directory", build: func(tr *tree) string {
			tr.dir("lib/journal.db", 0o700)
			return tr.p("lib/journal.db")
		}, want: "is not a regular file (a directory)"},
		{name: "journal writable by others", build: func(tr *tree) string {
			tr.dir("lib", 0o700)
			return tr.file("lib/journal.db", 0o666)
		}, want: "is writable by group or others (mode 0666)"},
		{name: "directory owned by another user", asRoot: true, build: func(tr *tree) string {
			p := tr.dir("lib", 0o755)
			tr.chown(p, stranger)
			return p + "/journal.db"
		}, want: "is owned by uid 12345, not by root"},
		{name: "another user's directory, with a symbolic link in it", asRoot: true, build: func(tr *tree) string {
			p := tr.dir("lib", 0o755)
			tr.link("lib/journal.db", tr.p("made-by-root"))
			tr.chown(p, stranger)
			tr.chown(tr.p("lib/journal.db"), stranger)
			return tr.p("lib/journal.db")
		}, want: "is owned by uid 12345, not by root"},
		{name: "reached through another user's symbolic link", asRoot: true, build: func(tr *tree) string {
			tr.dir("real", 0o700)
			tr.link("lib", tr.p("real"))
			tr.chown(tr.p("lib"), stranger)
			return tr.p("lib/journal.db")
		}, want: "is owned by uid 12345, not by root"},
		{name: "journal owned by another user", asRoot: true, build: func(tr *tree) string {
			tr.dir("lib", 0o700)
			p := tr.file("lib/journal.db", 0o600)
			tr.chown(p, stranger)
			return p
		}, want: "is owned by uid 12345, not by root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.asRoot && os.Geteuid() != 0 {
				t.Skip("SKIP (loud): needs root to give a file to another uid")
			}
			tr := newTree(t)
			path := tc.build(tr)
			err := CheckJournal(path)
			want := strings.ReplaceAll(tc.want, "DIR", tr.p("lib"))
			if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Fatalf("CheckJournal(%s) = %v, want %q", path, err, want)
			}
			// -check-config reports it too.
			c := Default()
			c.DB, c.Socket = path, tr.p("run/s")
			herr := fmt.Sprint(c.CheckHost())
			if err != nil && !strings.Contains(herr, err.Error()) || err == nil && strings.Contains(herr, "journal") {
				t.Errorf("CheckHost: %v; CheckJournal: %v", herr, err)
			}
		})
	}
}
