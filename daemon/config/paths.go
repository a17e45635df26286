package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// This file checks the paths volctld trusts as root: the platform commands
// it runs and the directory of the socket it creates. The rule, for a path
// resolved component by component as the kernel resolves it (every symbolic
// link followed, at most maxLinks):
//
//   - every component met (directory, symbolic link, the final file) is owned
//     by root or by the daemon's own euid. Production runs as root, so this
//     is "owned by root"; the daemon's euid is accepted too so that tests
//     (and anyone running volctld unprivileged) can run it against files
//     they own. Nobody else can then chmod, replace or re-point a component;
//   - no directory is writable by group or others, except that a directory
//     with the sticky bit (like /tmp) is accepted above the directory that
//     holds the final file: in a sticky directory others cannot rename or
//     remove entries they do not own, and the entry below it is checked to
//     be owned by root or the daemon's euid. The directory that holds the
//     command (the one holding the configured path, and the one holding the
//     file a symbolic link ends at) or the socket must be writable by its
//     owner only, sticky or not. The simulated hosts of the tests live under
//     t.TempDir() in /tmp, which this rule accepts without an escape hatch.

// maxLinks bounds the symbolic links followed while resolving a path, like
// the kernel's MAXSYMLINKS.
const maxLinks = 40

// holder is a directory that directly holds the path's last component, or
// the last component of a symbolic link the path ends in.
type holder struct {
	path string
	st   *syscall.Stat_t
}

// resolveTrusted resolves p (absolute) and checks every component against
// the rule above, except the stricter rule for holders, which it returns
// for the caller. It returns the resolved path and its stat.
func resolveTrusted(p string, euid int) (string, *syscall.Stat_t, []holder, error) {
	if !filepath.IsAbs(p) {
		return "", nil, nil, fmt.Errorf("%s is not an absolute path", p)
	}
	type comp struct {
		name string
		last bool // the last component of p or of a link p ends in
	}
	split := func(s string, last bool) []comp {
		var cs []comp
		for _, n := range strings.Split(s, "/") {
			if n != "" && n != "." {
				cs = append(cs, comp{name: n})
			}
		}
		if len(cs) > 0 {
			cs[len(cs)-1].last = last
		}
		return cs
	}
	seen := map[string]*syscall.Stat_t{}
	cur := "/"
	st, err := lstat(cur)
	if err != nil {
		return "", nil, nil, err
	}
	if err := checkComponent(cur, st, euid); err != nil {
		return "", nil, nil, err
	}
	seen[cur] = st
	var holders []holder
	todo := split(p, true)
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		if c.name == ".." {
			// cur is a resolved path reached from /, so its parent has
			// been seen and checked already.
			cur = filepath.Dir(cur)
			st = seen[cur]
			if c.last {
				holders = append(holders, holder{filepath.Dir(cur), seen[filepath.Dir(cur)]})
			}
			continue
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			return "", nil, nil, fmt.Errorf("%s is not a directory", cur)
		}
		if c.last {
			holders = append(holders, holder{cur, st})
		}
		next := filepath.Join(cur, c.name)
		nst, err := lstat(next)
		if err != nil {
			return "", nil, nil, err
		}
		if err := checkComponent(next, nst, euid); err != nil {
			return "", nil, nil, err
		}
		if nst.Mode&syscall.S_IFMT == syscall.S_IFLNK {
			if links++; links > maxLinks {
				return "", nil, nil, fmt.Errorf("%s: too many levels of symbolic links", p)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", nil, nil, err
			}
			if filepath.IsAbs(target) {
				cur, st = "/", seen["/"]
			}
			todo = append(split(target, c.last), todo...)
			continue
		}
		cur, st = next, nst
		seen[cur] = st
	}
	return cur, st, holders, nil
}

// checkComponent checks one component's owner, and a directory's mode
// (sticky directories pass here; holders are checked by the caller).
func checkComponent(path string, st *syscall.Stat_t, euid int) error {
	if uid := int(st.Uid); uid != 0 && uid != euid {
		if euid == 0 {
			return fmt.Errorf("%s is owned by uid %d, not by root", path, uid)
		}
		return fmt.Errorf("%s is owned by uid %d, not by root or uid %d (the daemon's)", path, uid, euid)
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR && st.Mode&0o022 != 0 && st.Mode&syscall.S_ISVTX == 0 {
		return fmt.Errorf("directory %s is writable by group or others (mode %04o)", path, st.Mode&0o7777)
	}
	return nil
}

// checkHolder is the stricter rule for the directory holding the file.
func checkHolder(h holder) error {
	if h.st.Mode&0o022 != 0 {
		return fmt.Errorf("directory %s is writable by group or others (mode %04o); the sticky bit is accepted only above the directory that holds the file",
			h.path, h.st.Mode&0o7777)
	}
	return nil
}

func lstat(path string) (*syscall.Stat_t, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", path)
	}
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s: no owner and mode on this system", path)
	}
	return st, nil
}

// checkCommand checks that path is a command volctld may run as root.
func checkCommand(path string, euid int) error {
	final, st, holders, err := resolveTrusted(path, euid)
	if err != nil {
		return err
	}
	for _, h := range holders {
		if err := checkHolder(h); err != nil {
			return err
		}
	}
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		return fmt.Errorf("%s is not a regular file", final)
	case st.Mode&0o111 == 0:
		return fmt.Errorf("%s is not executable (mode %04o)", final, st.Mode&0o7777)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("%s is writable by group or others (mode %04o)", final, st.Mode&0o7777)
	}
	return nil
}

// command is one platform command: its [commands] key and path.
type command struct{ name, path string }

// platformCommands are the commands the configured platform runs.
func (c Config) platformCommands() []command {
	switch c.Platform {
	case "solaris":
		cmds := []command{{"zfs", c.Commands.Zfs}, {"zpool", c.Commands.Zpool}, {"stmfadm", c.Commands.Stmfadm},
			{"zoneadm", c.Commands.Zoneadm}, {"zonecfg", c.Commands.Zonecfg}}
		if c.Commands.Hostid != "" { // optional
			cmds = append(cmds, command{"hostid", c.Commands.Hostid})
		}
		if c.Commands.Zlogin != "" { // optional (volctl rescue)
			cmds = append(cmds, command{"zlogin", c.Commands.Zlogin})
		}
		return cmds
	case "linux-tgt":
		return []command{{"zfs", c.Commands.Zfs}, {"tgtadm", c.Commands.Tgtadm}}
	}
	return nil
}

// allCommands are every [commands] path, whatever the platform.
func (c Config) allCommands() []command {
	return []command{{"zfs", c.Commands.Zfs}, {"zpool", c.Commands.Zpool}, {"stmfadm", c.Commands.Stmfadm},
		{"zoneadm", c.Commands.Zoneadm}, {"zonecfg", c.Commands.Zonecfg}, {"hostid", c.Commands.Hostid}, {"zlogin", c.Commands.Zlogin}, {"tgtadm", c.Commands.Tgtadm}}
}

// commandBaseNames are the names [timeouts.command] may use: the base names
// of the configured command paths (the engine looks timeouts up by the base
// name of argv[0]).
func (c Config) commandBaseNames() []string {
	set := map[string]bool{}
	for _, cmd := range c.allCommands() {
		if cmd.path != "" {
			set[filepath.Base(cmd.path)] = true
		}
	}
	var names []string
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CheckCommands checks every command the platform runs: an absolute path to
// an existing executable regular file, owned by root (or the daemon's euid)
// and not writable by group or others, reached through directories and
// symbolic links that only root (or the daemon's euid) can change. Paths
// that Validate rejects are left to it. One error per command.
func (c Config) CheckCommands() error {
	euid := os.Geteuid()
	var errs []error
	for _, cmd := range c.platformCommands() {
		if cmd.path == "" || !filepath.IsAbs(cmd.path) {
			continue
		}
		if err := checkCommand(cmd.path, euid); err != nil {
			errs = append(errs, fmt.Errorf("commands.%s %s: %w", cmd.name, cmd.path, err))
		}
	}
	return errors.Join(errs...)
}

// CheckSocketDir checks the directory that holds the unix socket: owned by
// root (or the daemon's euid), writable by its owner only, reached through
// components only root (or the daemon's euid) can change. When dir does not
// exist yet it checks the nearest directory above it that does (where the
// daemon would create it) and reports exists false.
func CheckSocketDir(dir string) (exists bool, err error) {
	return checkSocketDir(dir, os.Geteuid())
}

func checkSocketDir(dir string, euid int) (bool, error) {
	return checkDir("socket directory", dir, euid)
}

// checkDir is CheckSocketDir for the directory of a file volctld creates
// (what: "socket directory", "journal directory").
func checkDir(what, dir string, euid int) (bool, error) {
	if !filepath.IsAbs(dir) {
		return false, fmt.Errorf("%s %s is not an absolute path", what, dir)
	}
	dir = filepath.Clean(dir)
	existing := dir
	for {
		if _, err := os.Lstat(existing); err == nil || !errors.Is(err, fs.ErrNotExist) || existing == "/" {
			break
		}
		existing = filepath.Dir(existing)
	}
	final, st, _, err := resolveTrusted(existing, euid)
	if err != nil {
		return false, fmt.Errorf("%s %s: %w", what, dir, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return false, fmt.Errorf("%s %s: %s is not a directory", what, dir, final)
	}
	if existing != dir {
		return false, nil
	}
	if st.Mode&0o022 != 0 {
		return true, fmt.Errorf("%s %s: %s is writable by group or others (mode %04o): only its owner may create or replace files in it",
			what, dir, final, st.Mode&0o7777)
	}
	return true, nil
}

// CheckSocketPath checks what is at the socket path without following it:
// nothing (exists false), a socket (exists true: the caller decides whether
// it is stale), or anything else, which volctld refuses to remove.
func CheckSocketPath(path string) (exists bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("socket %s: %w", path, err)
	}
	switch t := fi.Mode().Type(); {
	case t == fs.ModeSocket:
		return true, nil
	case t == fs.ModeSymlink:
		return true, fmt.Errorf("socket %s is a symbolic link: refusing to follow or remove it", path)
	default:
		return true, fmt.Errorf("socket %s exists and is not a socket (%s): refusing to remove it", path, fileType(t))
	}
}

func fileType(t fs.FileMode) string {
	switch {
	case t == 0:
		return "a regular file"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + t.String()
}

// CheckHost runs every check of the configuration against this host that
// changes nothing: the platform's commands, the socket's directory and
// path, and the journal's (journal.go). volctld runs it at start and
// -check-config runs it alone.
func (c Config) CheckHost() error {
	errs := []error{c.CheckCommands()}
	if filepath.IsAbs(c.Socket) {
		exists, err := CheckSocketDir(filepath.Dir(c.Socket))
		errs = append(errs, err)
		if exists && err == nil {
			_, err := CheckSocketPath(c.Socket)
			errs = append(errs, err)
		}
	}
	if filepath.IsAbs(c.DB) {
		errs = append(errs, CheckJournal(c.DB))
	}
	return errors.Join(errs...)
}
