package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// The journal's directory and file are checked like the socket's
// (paths.go): volctld creates and rewrites the journal as root, so whoever
// could change its directory could point it elsewhere (a symbolic link at
// the journal's path would have volctld create a root-owned file wherever
// it leads, or write its journal into a file someone else reads).

// CheckJournalDir checks the directory that holds the journal as
// CheckSocketDir checks the socket's: owned by root (or the daemon's
// euid), writable by its owner only, reached through components only root
// (or the daemon's euid) can change. When dir does not exist yet it checks
// the nearest directory above it that does and reports exists false (the
// daemon creates it, 0700).
func CheckJournalDir(dir string) (exists bool, err error) {
	return checkDir("journal directory", dir, os.Geteuid())
}

// CheckJournalPath checks what is at the journal's path without following
// it: nothing (a new journal), or a regular file owned by root (or the
// daemon's euid) that group and others cannot write. A symbolic link,
// dangling or not, is refused.
func CheckJournalPath(path string) error { return checkJournalPath(path, os.Geteuid()) }

func checkJournalPath(path string, euid int) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal %s: %w", path, err)
	}
	switch t := fi.Mode().Type(); {
	case t == fs.ModeSymlink:
		return fmt.Errorf("journal %s is a symbolic link: refusing to follow it (give db the file's own path)", path)
	case t != 0:
		return fmt.Errorf("journal %s is not a regular file (%s)", path, fileType(t))
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("journal %s: no owner and mode on this system", path)
	}
	if uid := int(st.Uid); uid != 0 && uid != euid {
		return fmt.Errorf("journal %s is owned by uid %d, not by root or the daemon's uid %d", path, uid, euid)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Errorf("journal %s is writable by group or others (mode %04o)", path, st.Mode&0o7777)
	}
	return nil
}

// CheckJournal is CheckJournalDir and, when the directory exists,
// CheckJournalPath, for path (absolute).
func CheckJournal(path string) error {
	exists, err := CheckJournalDir(filepath.Dir(path))
	if err != nil || !exists {
		return err
	}
	return CheckJournalPath(path)
}
