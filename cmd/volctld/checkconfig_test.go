package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volctl/volctl/daemon"
	"github.com/volctl/volctl/sim"
	"github.com/volctl/volctl/sim/simtest"
)

// host is a directory of fake platform commands (executables the test
// user owns, under t.TempDir() in /tmp, like the simulated hosts).
type host struct {
	dir  string // holds sbin/ and the journal
	sock string // the socket, in a short private directory
}

func newHost(t *testing.T) *host {
	t.Helper()
	h := &host{dir: t.TempDir()}
	sbin := filepath.Join(h.dir, "sbin")
	if err := os.Mkdir(sbin, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(sbin, 0o755)
	for _, c := range []string{"zfs", "zpool", "stmfadm", "zoneadm", "zonecfg", "tgtadm"} {
		p := filepath.Join(sbin, c)
		if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, 0o755)
	}
	h.sock = filepath.Join(shortDir(t, 0o755), "s")
	return h
}

// config is a valid configuration for h with extra top-level keys and
// tables; {SBIN} and {SOCKDIR} in them are h's.
func (h *host) config(t *testing.T, top, tables string) string {
	t.Helper()
	sbin := filepath.Join(h.dir, "sbin")
	body := fmt.Sprintf(`platform = "solaris"
socket = %q
db = %q
%s
[commands]
zfs = "{SBIN}/zfs"
zpool = "{SBIN}/zpool"
stmfadm = "{SBIN}/stmfadm"
zoneadm = "{SBIN}/zoneadm"
zonecfg = "{SBIN}/zonecfg"
%s`, h.sock, filepath.Join(h.dir, "journal.db"), top, tables)
	body = strings.NewReplacer("{SBIN}", sbin, "{SOCKDIR}", filepath.Dir(h.sock)).Replace(body)
	p := filepath.Join(h.dir, "volctld.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name   string
		top    string
		tables string
		edit   func(t *testing.T, h *host)
		want   []string // problems, one a line, after "config FILE: "; nil for ok. {SBIN}, {SOCKDIR} are the host's.
	}{
		{name: "valid", tables: "[roles]\noperator_uids = [0]\n[timeouts.command]\nzoneadm = \"1m\"\n"},
		{name: "simulated host layout (symlinks to one binary)", edit: func(t *testing.T, h *host) {
			bin := filepath.Join(t.TempDir(), "volctl-sim")
			if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			os.Chmod(bin, 0o755)
			os.RemoveAll(filepath.Join(h.dir, "sbin"))
			if err := sim.InstallCommands(h.dir, bin); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(sim.CommandPath(h.dir, ""), filepath.Join(h.dir, "sbin")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "upper-case key", top: `SOCKET_MODE = "0666"`,
			want: []string{"key SOCKET_MODE: keys are case-sensitive; did you mean socket_mode?"}},
		{name: "table in another case", tables: "[Roles]\nOperator_UIDs = [1000]\n",
			want: []string{"key Roles: keys are case-sensitive; did you mean roles?"}},
		{name: "mode with junk", top: `socket_mode = "0660 junk"`,
			want: []string{`socket_mode "0660 junk" is not an octal mode like 0600`}},
		{name: "mode with a digit that is not octal", top: `socket_mode = "0668"`,
			want: []string{`socket_mode "0668" is not an octal mode like 0600`}},
		{name: "empty command path", edit: func(t *testing.T, h *host) {
			p := filepath.Join(h.dir, "volctld.toml")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), `zpool = "`+filepath.Join(h.dir, "sbin", "zpool")+`"`, `zpool = ""`, 1)), 0o644)
		}, want: []string{"commands.zpool is empty: platform solaris runs it"}},
		{name: "missing command", edit: func(t *testing.T, h *host) { os.Remove(filepath.Join(h.dir, "sbin", "zonecfg")) },
			want: []string{"commands.zonecfg {SBIN}/zonecfg: {SBIN}/zonecfg does not exist"}},
		{name: "command writable by others", edit: func(t *testing.T, h *host) { os.Chmod(filepath.Join(h.dir, "sbin", "zfs"), 0o777) },
			want: []string{"commands.zfs {SBIN}/zfs: {SBIN}/zfs is writable by group or others (mode 0777)"}},
		{name: "command not executable", edit: func(t *testing.T, h *host) { os.Chmod(filepath.Join(h.dir, "sbin", "zpool"), 0o644) },
			want: []string{"commands.zpool {SBIN}/zpool: {SBIN}/zpool is not executable (mode 0644)"}},
		{name: "commands in a directory writable by others", edit: func(t *testing.T, h *host) { os.Chmod(filepath.Join(h.dir, "sbin"), 0o777) },
			want: []string{
				"commands.zfs {SBIN}/zfs: directory {SBIN} is writable by group or others (mode 0777)",
				"commands.zpool {SBIN}/zpool: directory {SBIN} is writable by group or others (mode 0777)",
				"commands.stmfadm {SBIN}/stmfadm: directory {SBIN} is writable by group or others (mode 0777)",
				"commands.zoneadm {SBIN}/zoneadm: directory {SBIN} is writable by group or others (mode 0777)",
				"commands.zonecfg {SBIN}/zonecfg: directory {SBIN} is writable by group or others (mode 0777)",
			}},
		{name: "negative duration", tables: "[timeouts]\ndefault = \"-2m\"\n",
			want: []string{"timeouts.default -2m0s is negative"}},
		{name: "unknown command timeout", tables: "[timeouts.command]\nzoneadmin = \"5m\"\n",
			want: []string{"timeouts.command.zoneadmin: no command in [commands] has that base name (want one of stmfadm, tgtadm, zfs, zoneadm, zonecfg, zpool)"}},
		{name: "socket directory writable by others", edit: func(t *testing.T, h *host) { os.Chmod(filepath.Dir(h.sock), 0o777) },
			want: []string{"socket directory {SOCKDIR}: directory {SOCKDIR} is writable by group or others (mode 0777)"}},
		{name: "symbolic link at the socket path", edit: func(t *testing.T, h *host) { os.Symlink("/etc/passwd", h.sock) },
			want: []string{"socket {SOCKDIR}/s is a symbolic link: refusing to follow or remove it"}},
		{name: "unparseable", top: "socket_mode = 0660 junk",
			want: []string{"toml: line 4 (last key \"socket_mode\"): Invalid integer \"0660\": cannot have leading zeroes"}},
		{name: "every problem on its own line", top: "socket_mode = \"0668\"\nretries = -1", tables: "tgtadm = \"\"\n[timeouts.command]\nZfs = \"1s\"\n",
			edit: func(t *testing.T, h *host) { os.Chmod(filepath.Join(h.dir, "sbin", "stmfadm"), 0o775) },
			want: []string{
				`socket_mode "0668" is not an octal mode like 0600`,
				"retries -1 is negative",
				"timeouts.command.Zfs: no command in [commands] has that base name (want one of stmfadm, zfs, zoneadm, zonecfg, zpool)",
				"commands.stmfadm {SBIN}/stmfadm: {SBIN}/stmfadm is writable by group or others (mode 0775)",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			cfg := h.config(t, tc.top, tc.tables)
			if tc.edit != nil {
				tc.edit(t, h)
			}
			var stdout, stderr bytes.Buffer
			code := daemon.Main([]string{"-config", cfg, "-check-config"}, &stdout, &stderr)
			r := strings.NewReplacer("{SBIN}", filepath.Join(h.dir, "sbin"), "{SOCKDIR}", filepath.Dir(h.sock))
			if tc.want == nil {
				if code != 0 || stdout.String() != "configuration ok\n" || stderr.Len() != 0 {
					t.Errorf("exit %d, stdout %q, stderr %q; want 0 and \"configuration ok\"", code, stdout.String(), stderr.String())
				}
			} else {
				var want []string
				for _, w := range tc.want {
					want = append(want, "config "+cfg+": "+r.Replace(w))
				}
				if got := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n"); code != 1 || stdout.Len() != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("exit %d, stdout %q; stderr:\n%s\nwant exit 1 and:\n%s", code, stdout.String(), stderr.String(), strings.Join(want, "\n"))
				}
			}
			// It checks; it opens no journal and listens on nothing.
			if _, err := os.Lstat(filepath.Join(h.dir, "journal.db")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("-check-config created the journal: %v", err)
			}
			if fi, err := os.Lstat(h.sock); err == nil && fi.Mode().Type() == os.ModeSocket {
				t.Error("-check-config created the socket")
			}
		})
	}
}

// TestStartRefusesWhatCheckConfigReports: the real volctld runs the same
// checks at start and stops before opening the journal or listening.
func TestStartRefusesWhatCheckConfigReports(t *testing.T) {
	bin := simtest.Build(t)
	h := newHost(t)
	cfg := h.config(t, `socket_mode = "0668"`, "")
	os.Chmod(filepath.Join(h.dir, "sbin"), 0o777)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "volctld"), "-config", cfg).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("volctld with a bad configuration: %v, want exit 2\n%s", err, out)
	}
	for _, want := range []string{"bad configuration", `socket_mode \"0668\" is not an octal mode like 0600`,
		"commands.zfs " + filepath.Join(h.dir, "sbin", "zfs") + ": directory " + filepath.Join(h.dir, "sbin") + " is writable by group or others (mode 0777)"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Lstat(filepath.Join(h.dir, "journal.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal was opened: %v", err)
	}
	if _, err := os.Lstat(h.sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something is at the socket path: %v", err)
	}
}
