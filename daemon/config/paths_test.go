package config

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// tree builds files under a base directory with exact modes (whatever the
// umask).
type tree struct {
	t    *testing.T
	base string
}

func newTree(t *testing.T) *tree {
	t.Helper()
	return &tree{t: t, base: t.TempDir()}
}

func (tr *tree) p(rel string) string { return filepath.Join(tr.base, rel) }

func (tr *tree) dir(rel string, mode os.FileMode) string {
	tr.t.Helper()
	p := tr.p(rel)
	if err := os.MkdirAll(p, 0o700); err != nil {
		tr.t.Fatal(err)
	}
	tr.chmod(p, mode)
	return p
}

func (tr *tree) file(rel string, mode os.FileMode) string {
	tr.t.Helper()
	p := tr.p(rel)
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o600); err != nil {
		tr.t.Fatal(err)
	}
	tr.chmod(p, mode)
	return p
}

func (tr *tree) link(rel, target string) string {
	tr.t.Helper()
	p := tr.p(rel)
	if err := os.Symlink(target, p); err != nil {
		tr.t.Fatal(err)
	}
	return p
}

// chmod sets mode, with the sticky bit when asked (os.Chmod maps
// os.ModeSticky).
func (tr *tree) chmod(p string, mode os.FileMode) {
	tr.t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) chown(p string, uid int) {
	tr.t.Helper()
	if err := os.Lchown(p, uid, -1); err != nil {
		tr.t.Fatal(err)
	}
}

const stranger = 12345

func TestCheckCommand(t *testing.T) {
	tests := []struct {
		name     string
		asRoot   bool // needs root to build (chown to another uid)
		build    func(tr *tree) string
		want     string // a substring of the error, "" for none
		wantPath string // a path (relative to the tree) the error names
	}{
		{name: "executable owned by the daemon's user", build: func(tr *tree) string {
			tr.dir("bin", 0o755)
			return tr.file("bin/zfs", 0o755)
		}},
		{name: "read-only executable", build: func(tr *tree) string {
			tr.dir("bin", 0o755)
			return tr.file("bin/zfs", 0o555)
		}},
		{name: "absolute symbolic link to an executable", build: func(tr *tree) string {
			tr.dir("sbin", 0o755)
			tr.dir("real", 0o700)
			return tr.link("sbin/zfs", tr.file("real/zfs", 0o755))
		}},
		{name: "chain of relative links", build: func(tr *tree) string {
			tr.dir("sbin", 0o755)
			tr.dir("lib", 0o755)
			tr.file("lib/zfs2", 0o755)
			tr.link("lib/zfs1", "zfs2")
			return tr.link("sbin/zfs", "../lib/./zfs1")
		}},
		{name: "directory reached through a link (/bin -> usr/bin)", build: func(tr *tree) string {
			tr.dir("usr/bin", 0o755)
			tr.file("usr/bin/zfs", 0o755)
			tr.link("bin", "usr/bin")
			return tr.p("bin/zfs")
		}},
		{name: "sticky directory above (like /tmp)", build: func(tr *tree) string {
			tr.dir("tmp", 0o777|os.ModeSticky)
			tr.dir("tmp/host/sbin", 0o755)
			return tr.file("tmp/host/sbin/zfs", 0o755)
		}},
		{name: "missing", build: func(tr *tree) string { return tr.p("zfs") },
			want: "does not exist", wantPath: "zfs"},
		{name: "missing directory", build: func(tr *tree) string { return tr.p("nope/zfs") },
			want: "does not exist", wantPath: "nope"},
		{name: "dangling link", build: func(tr *tree) string { return tr.link("zfs", tr.p("gone")) },
			want: "does not exist", wantPath: "gone"},
		{name: "a directory", build: func(tr *tree) string { return tr.dir("zfs", 0o755) },
			want: "is not a regular file", wantPath: "zfs"},
		{name: "below a regular file", build: func(tr *tree) string {
			tr.file("f", 0o755)
			return tr.p("f/zfs")
		}, want: "is not a directory", wantPath: "f"},
		{name: "not executable", build: func(tr *tree) string { return tr.file("zfs", 0o644) },
			want: "is not executable (mode 0644)"},
		{name: "writable by others", build: func(tr *tree) string { return tr.file("zfs", 0o757) },
			want: "is writable by group or others (mode 0757)"},
		{name: "writable by group", build: func(tr *tree) string { return tr.file("zfs", 0o775) },
			want: "is writable by group or others (mode 0775)"},
		{name: "in a directory writable by others", build: func(tr *tree) string {
			tr.dir("bin", 0o777)
			return tr.file("bin/zfs", 0o755)
		}, want: "is writable by group or others (mode 0777)", wantPath: "bin"},
		{name: "in a group-writable directory", build: func(tr *tree) string {
			tr.dir("bin", 0o775)
			return tr.file("bin/zfs", 0o755)
		}, want: "is writable by group or others (mode 0775)", wantPath: "bin"},
		{name: "below a directory writable by others", build: func(tr *tree) string {
			tr.dir("open/bin", 0o755)
			tr.chmod(tr.p("open"), 0o777)
			return tr.file("open/bin/zfs", 0o755)
		}, want: "is writable by group or others (mode 0777)", wantPath: "open"},
		{name: "in a sticky directory", build: func(tr *tree) string {
			tr.dir("tmp", 0o777|os.ModeSticky)
			return tr.file("tmp/zfs", 0o755)
		}, want: "(mode 1777); the sticky bit is accepted only above the directory that holds the file", wantPath: "tmp"},
		{name: "link in a sticky directory", build: func(tr *tree) string {
			tr.dir("tmp", 0o777|os.ModeSticky)
			tr.dir("real", 0o755)
			return tr.link("tmp/zfs", tr.file("real/zfs", 0o755))
		}, want: "the sticky bit is accepted only above", wantPath: "tmp"},
		{name: "link to a file in a directory writable by others", build: func(tr *tree) string {
			tr.dir("sbin", 0o755)
			tr.dir("open", 0o777)
			return tr.link("sbin/zfs", tr.file("open/zfs", 0o755))
		}, want: "is writable by group or others (mode 0777)", wantPath: "open"},
		{name: "link to a file in a sticky directory", build: func(tr *tree) string {
			tr.dir("sbin", 0o755)
			tr.dir("tmp", 0o777|os.ModeSticky)
			return tr.link("sbin/zfs", tr.file("tmp/zfs", 0o755))
		}, want: "the sticky bit is accepted only above", wantPath: "tmp"},
		{name: "link loop", build: func(tr *tree) string {
			tr.link("a", "b")
			return tr.link("b", "a")
		}, want: "too many levels of symbolic links"},
		{name: "file owned by another user", asRoot: true, build: func(tr *tree) string {
			p := tr.file("zfs", 0o755)
			tr.chown(p, stranger)
			return p
		}, want: "is owned by uid 12345, not by root", wantPath: "zfs"},
		{name: "directory owned by another user", asRoot: true, build: func(tr *tree) string {
			p := tr.dir("bin", 0o755)
			tr.chown(p, stranger)
			return tr.file("bin/zfs", 0o755)
		}, want: "is owned by uid 12345, not by root", wantPath: "bin"},
		{name: "link owned by another user", asRoot: true, build: func(tr *tree) string {
			tr.dir("tmp", 0o777|os.ModeSticky)
			tr.dir("tmp/sbin", 0o755)
			tr.file("tmp/sbin/zfs", 0o755)
			p := tr.link("tmp/bin", "sbin")
			tr.chown(p, stranger)
			return tr.p("tmp/bin/zfs")
		}, want: "is owned by uid 12345, not by root", wantPath: "tmp/bin"},
		{name: "sticky directory above owned by another user", asRoot: true, build: func(tr *tree) string {
			p := tr.dir("tmp", 0o777|os.ModeSticky)
			tr.chown(p, stranger)
			tr.dir("tmp/sbin", 0o755)
			return tr.file("tmp/sbin/zfs", 0o755)
		}, want: "is owned by uid 12345, not by root", wantPath: "tmp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.asRoot && os.Geteuid() != 0 {
				t.Skip("SKIP (loud): needs root to give a file to another uid")
			}
			tr := newTree(t)
			path := tc.build(tr)
			err := checkCommand(path, os.Geteuid())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("checkCommand(%s) = %v, want nil", path, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkCommand(%s) = %v, want %q", path, err, tc.want)
			}
			if tc.wantPath != "" && !strings.Contains(err.Error(), tr.p(tc.wantPath)+" ") {
				t.Errorf("error does not name %s: %v", tr.p(tc.wantPath), err)
			}
		})
	}
}

// TestCheckCommandsOfThePlatform: only the platform's commands, each
// problem on its own line naming the key and the path.
func TestCheckCommandsOfThePlatform(t *testing.T) {
	tr := newTree(t)
	tr.dir("sbin", 0o755)
	c := Default()
	for _, n := range []string{"zfs", "zpool", "stmfadm", "zoneadm", "zonecfg", "tgtadm"} {
		tr.file("sbin/"+n, 0o755)
	}
	c.Commands = Commands{Zfs: tr.p("sbin/zfs"), Zpool: tr.p("sbin/zpool"), Stmfadm: tr.p("sbin/stmfadm"),
		Zoneadm: tr.p("sbin/zoneadm"), Zonecfg: tr.p("sbin/zonecfg"), Tgtadm: tr.p("missing/tgtadm")}
	if err := c.CheckCommands(); err != nil {
		t.Fatalf("solaris, tgtadm missing: %v", err)
	}
	c.Platform = "linux-tgt"
	c.Commands.Zpool = tr.p("missing/zpool")
	tr.chmod(tr.p("sbin/zfs"), 0o777)
	err := c.CheckCommands()
	want := []string{
		"commands.zfs " + tr.p("sbin/zfs") + ": " + tr.p("sbin/zfs") + " is writable by group or others (mode 0777)",
		"commands.tgtadm " + tr.p("missing/tgtadm") + ": " + tr.p("missing") + " does not exist",
	}
	if got := lines(err, ""); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("linux-tgt:\n got %q\nwant %q", got, want)
	}
}

func TestCheckSocketDir(t *testing.T) {
	tests := []struct {
		name       string
		asRoot     bool
		build      func(tr *tree) string
		wantExists bool
		want       string
	}{
		{name: "private directory", build: func(tr *tree) string { return tr.dir("run", 0o700) }, wantExists: true},
		{name: "0755 directory", build: func(tr *tree) string { return tr.dir("run", 0o755) }, wantExists: true},
		{name: "in a sticky directory (like /tmp)", build: func(tr *tree) string {
			tr.dir("tmp", 0o777|os.ModeSticky)
			return tr.dir("tmp/vc", 0o700)
		}, wantExists: true},
		{name: "reached through a link (/var/run -> /run)", build: func(tr *tree) string {
			tr.dir("run/volctld", 0o755)
			tr.dir("var", 0o755)
			tr.link("var/run", "../run")
			return tr.p("var/run/volctld")
		}, wantExists: true},
		{name: "missing, in a good directory", build: func(tr *tree) string {
			tr.dir("run", 0o755)
			return tr.p("run/volctld/sub")
		}},
		{name: "missing, in a sticky directory", build: func(tr *tree) string {
			tr.dir("tmp", 0o777|os.ModeSticky)
			return tr.p("tmp/volctld")
		}},
		{name: "missing, in a directory writable by others", build: func(tr *tree) string {
			tr.dir("open", 0o777)
			return tr.p("open/volctld")
		}, want: "is writable by group or others (mode 0777)"},
		{name: "writable by others", build: func(tr *tree) string { return tr.dir("run", 0o757) },
			wantExists: true, want: "is writable by group or others (mode 0757)"},
		{name: "writable by group", build: func(tr *tree) string { return tr.dir("run", 0o770) },
			wantExists: true, want: "is writable by group or others (mode 0770)"},
		{name: "sticky and writable by others", build: func(tr *tree) string { return tr.dir("tmp", 0o777|os.ModeSticky) },
			wantExists: true, want: "is writable by group or others (mode 1777): only its owner may create or replace files in it"},
		{name: "below a directory writable by others", build: func(tr *tree) string {
			tr.dir("open/run", 0o755)
			tr.chmod(tr.p("open"), 0o777)
			return tr.p("open/run")
		}, want: "is writable by group or others (mode 0777)"},
		{name: "link to a directory writable by others", build: func(tr *tree) string {
			tr.dir("open", 0o777)
			return tr.link("run", tr.p("open"))
		}, wantExists: true, want: "is writable by group or others (mode 0777)"},
		{name: "a regular file", build: func(tr *tree) string { return tr.file("run", 0o644) },
			wantExists: true, want: "is not a directory"},
		{name: "owned by another user", asRoot: true, build: func(tr *tree) string {
			p := tr.dir("run", 0o755)
			tr.chown(p, stranger)
			return p
		}, wantExists: true, want: "is owned by uid 12345, not by root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.asRoot && os.Geteuid() != 0 {
				t.Skip("SKIP (loud): needs root to give a directory to another uid")
			}
			tr := newTree(t)
			dir := tc.build(tr)
			exists, err := CheckSocketDir(dir)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("CheckSocketDir(%s) = %v, want %q", dir, err, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "socket directory "+dir+": ") {
				t.Errorf("error does not start with the directory: %v", err)
			}
			if err == nil && exists != tc.wantExists {
				t.Errorf("exists %v, want %v", exists, tc.wantExists)
			}
		})
	}
}

func TestCheckSocketPath(t *testing.T) {
	tests := []struct {
		name       string
		build      func(tr *tree) string
		wantExists bool
		want       string // the whole error, with PATH for the path
	}{
		{name: "nothing", build: func(tr *tree) string { return tr.p("s") }},
		{name: "a socket", build: func(tr *tree) string {
			l, err := net.Listen("unix", tr.p("s"))
			if err != nil {
				tr.t.Fatal(err)
			}
			tr.t.Cleanup(func() { l.Close() })
			return tr.p("s")
		}, wantExists: true},
		{name: "link to a root-only file", build: func(tr *tree) string {
			return tr.link("s", tr.file("secret", 0o600))
		}, wantExists: true, want: "socket PATH is a symbolic link: refusing to follow or remove it"},
		{name: "dangling link", build: func(tr *tree) string { return tr.link("s", tr.p("gone")) },
			wantExists: true, want: "socket PATH is a symbolic link: refusing to follow or remove it"},
		{name: "a regular file (the journal)", build: func(tr *tree) string { return tr.file("s", 0o600) },
			wantExists: true, want: "socket PATH exists and is not a socket (a regular file): refusing to remove it"},
		{name: "a directory", build: func(tr *tree) string { return tr.dir("s", 0o755) },
			wantExists: true, want: "socket PATH exists and is not a socket (a directory): refusing to remove it"},
		{name: "a named pipe", build: func(tr *tree) string {
			if err := unix.Mkfifo(tr.p("s"), 0o600); err != nil {
				tr.t.Fatal(err)
			}
			return tr.p("s")
		}, wantExists: true, want: "socket PATH exists and is not a socket (a named pipe): refusing to remove it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			// Unix socket paths are short: bind in a short temp dir.
			if tc.name == "a socket" {
				d, err := os.MkdirTemp("", "vc")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(d) })
				tr.base = d
			}
			path := tc.build(tr)
			exists, err := CheckSocketPath(path)
			want := strings.ReplaceAll(tc.want, "PATH", path)
			if (err == nil) != (want == "") || err != nil && err.Error() != want {
				t.Fatalf("CheckSocketPath = %v, want %q", err, want)
			}
			if exists != tc.wantExists {
				t.Errorf("exists %v, want %v", exists, tc.wantExists)
			}
		})
	}
}
