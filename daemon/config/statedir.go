package config

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// CommandsDir is where volctld records the commands it runs while they
// run (the registry of running commands, next to the journal: one per
// journal, so it is owned by the daemon that holds the journal's lock).
func (c Config) CommandsDir() string { return c.DB + ".commands" }

// CheckStateDir checks a directory volctld keeps state in that decides
// what it kills (the registry of running commands): an existing directory,
// not a symbolic link, owned by root (or the daemon's euid) and writable by
// its owner only, in a directory writable by its owner only, reached
// through components only root (or the daemon's euid) can change (the rule
// at the top of paths.go). Nobody else can then plant or remove a record.
func CheckStateDir(dir string) error { return checkStateDir(dir, os.Geteuid()) }

func checkStateDir(dir string, euid int) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("state directory %s is not an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	st, err := lstat(dir)
	if err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return fmt.Errorf("state directory %s is not a directory (a symbolic link or a file)", dir)
	}
	_, st, holders, err := resolveTrusted(dir, euid)
	if err != nil {
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	for _, h := range holders {
		if err := checkHolder(h); err != nil {
			return fmt.Errorf("state directory %s: %w", dir, err)
		}
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("state directory %s is writable by group or others (mode %04o)", dir, st.Mode&0o7777)
	}
	return nil
}
